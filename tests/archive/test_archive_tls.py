"""The archive worker and API over amqps, against a node of the tests' own with a TLS listener."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask_openapi3.openapi import OpenAPI

from support.archive import ArchiveNames, DirectPublisher, archived_bodies, start_archive_worker
from support.broker_admin import delete_topology
from support.names import Names
from support.polling import wait_until
from support.rabbit_node import RabbitNode
from support.tls import unrelated_ca


@pytest.fixture
def tls_archive_names(tls_rabbit_node: RabbitNode, tls_node_names: Names) -> Iterator[ArchiveNames]:
    """Archive queues on the TLS node beside the test's exchange, deleted after the test."""
    created = ArchiveNames.around(tls_node_names)
    yield created
    delete_topology(
        tls_rabbit_node.amqp_url, created.dead_letter_exchange, [created.queue, created.dead_letter_queue]
    )


def test_the_worker_archives_over_amqps(
    tls_rabbit_node: RabbitNode, tls_archive_names: ArchiveNames, tmp_path: Path
) -> None:
    """A worker connected over TLS (trusting the node's CA) stores what is published."""
    assert tls_rabbit_node.tls is not None
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    env = {
        "MONTY_AMQP_URL": tls_rabbit_node.amqps_url,
        "MONTY_AMQP_CA_FILE": str(tls_rabbit_node.tls.ca_file),
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_ARCHIVE_DATABASE_URL": database_url,
        **tls_archive_names.env(),
    }
    # The test itself checks and publishes over the node's plain listener.
    worker = start_archive_worker(
        env, tls_rabbit_node.amqp_url, tls_archive_names.queue, tmp_path / "worker.log"
    )
    publisher = DirectPublisher(
        tls_rabbit_node.amqp_url, tls_archive_names.exchange, tls_archive_names.routing_key
    )
    try:
        message_id = publisher.publish(b'{"over": "tls"}')
        wait_until(lambda: message_id in archived_bodies(database_url), 20, "the message to be archived")
    finally:
        publisher.close()
        worker.kill()
    assert archived_bodies(database_url)[message_id] == '{"over": "tls"}'
    assert "Traceback" not in worker.output()


def test_readiness_over_amqps_names_no_broker_address(
    make_app: Callable[..., OpenAPI], tls_rabbit_node: RabbitNode, tmp_path: Path
) -> None:
    """The API's broker check connects over TLS; refused certificates are reported without the host."""
    assert tls_rabbit_node.tls is not None
    trusted = make_app(amqp_url=tls_rabbit_node.amqps_url, amqp_ca_file=tls_rabbit_node.tls.ca_file)
    assert trusted.test_client().get("/readyz").get_json()["checks"]["broker"] == "ok"
    untrusted = make_app(amqp_url=tls_rabbit_node.amqps_url, amqp_ca_file=unrelated_ca(tmp_path))
    refused = untrusted.test_client().get("/readyz")
    assert refused.status_code == 503
    assert "the broker's certificate was refused" in refused.get_json()["checks"]["broker"]
    other_name = tls_rabbit_node.amqps_url.replace("localhost", "127.0.0.1")
    mismatch = make_app(amqp_url=other_name, amqp_ca_file=tls_rabbit_node.tls.ca_file)
    reason = mismatch.test_client().get("/readyz").get_json()["checks"]["broker"]
    assert "mismatch" in reason
    assert "127.0.0.1" not in reason
