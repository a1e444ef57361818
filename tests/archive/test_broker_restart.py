"""The archive worker outlives what the broker does to it: a restart, a channel closed under it."""

from pathlib import Path

import pytest

from support.archive import (
    ArchiveNames,
    DirectPublisher,
    archived_bodies,
    archived_rows,
    rename_table,
    start_archive_worker,
)
from support.broker_admin import delete_topology
from support.names import Names
from support.polling import wait_until
from support.rabbit_node import RabbitNode


def _publish(amqp_url: str, archive: ArchiveNames, count: int, tag: str) -> dict[str, bytes]:
    """Publish `count` messages on a connection of their own."""
    publisher = DirectPublisher(amqp_url, archive.exchange, archive.routing_key)
    try:
        return publisher.publish_many(count, tag)
    finally:
        publisher.close()


@pytest.mark.own_broker
def test_the_worker_reconnects_after_the_broker_restarts(
    rabbit_node: RabbitNode, node_names: Names, tmp_path: Path
) -> None:
    """Messages before and after a restart of the broker are all archived by the same worker process."""
    archive = ArchiveNames.around(node_names)
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    env = {
        "MONTY_AMQP_URL": rabbit_node.amqp_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_ARCHIVE_DATABASE_URL": database_url,
        **archive.env(),
    }
    worker = start_archive_worker(env, rabbit_node.amqp_url, archive.queue, tmp_path / "worker.log")
    try:
        sent = _publish(rabbit_node.amqp_url, archive, 20, "before")
        wait_until(lambda: len(archived_rows(database_url)) == 20, 20, "the first messages")
        rabbit_node.stop()
        rabbit_node.start()
        sent.update(_publish(rabbit_node.amqp_url, archive, 20, "after"))
        wait_until(lambda: len(archived_rows(database_url)) == 40, 30, "the messages after the restart")
        assert {key: value.encode() for key, value in archived_bodies(database_url).items()} == sent
        assert worker.running
    finally:
        code = worker.stop()
        delete_topology(
            rabbit_node.amqp_url, archive.dead_letter_exchange, [archive.queue, archive.dead_letter_queue]
        )
    assert code == 0, worker.output()
    assert "reconnecting" in worker.output()


@pytest.mark.own_broker
def test_the_worker_outlives_the_consumer_timeout_of_a_long_database_outage(
    rabbit_node: RabbitNode, node_names: Names, tmp_path: Path
) -> None:
    """Messages held unacked past the broker's consumer timeout (the database was away) get the
    channel closed; the worker reconnects and stores them once the database is back."""
    archive = ArchiveNames.around(node_names)
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    env = {
        "MONTY_AMQP_URL": rabbit_node.amqp_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_ARCHIVE_DATABASE_URL": database_url,
        **archive.env(),
    }
    # A consumer timeout of one second, checked every 200 ms on channels opened from now on.
    rabbit_node.ctl("eval", "application:set_env(rabbit, consumer_timeout, 1000).")
    rabbit_node.ctl("eval", "application:set_env(rabbit, channel_tick_interval, 200).")
    worker = start_archive_worker(env, rabbit_node.amqp_url, archive.queue, tmp_path / "worker.log")
    try:
        sent = _publish(rabbit_node.amqp_url, archive, 5, "before")
        wait_until(lambda: len(archived_rows(database_url)) == 5, 20, "the first messages")
        rename_table(database_url, "archived_messages", "archived_messages_away")
        sent.update(_publish(rabbit_node.amqp_url, archive, 5, "during"))
        wait_until(lambda: "broker closed the channel" in worker.output(), 20, "the consumer timeout")
        rename_table(database_url, "archived_messages_away", "archived_messages")
        wait_until(lambda: len(archived_rows(database_url)) == 10, 30, "the messages held in the outage")
        assert {key: value.encode() for key, value in archived_bodies(database_url).items()} == sent
        assert worker.running
    finally:
        code = worker.stop()
        rabbit_node.ctl("eval", "application:set_env(rabbit, consumer_timeout, 1800000).")
        rabbit_node.ctl("eval", "application:set_env(rabbit, channel_tick_interval, 60000).")
        delete_topology(
            rabbit_node.amqp_url, archive.dead_letter_exchange, [archive.queue, archive.dead_letter_queue]
        )
    assert code == 0, worker.output()
