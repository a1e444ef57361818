"""The RabbitMQ node under test: its OS process and its version."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pika

LISTEN = "0A"  # the TCP state /proc/net/tcp gives a listening socket


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port`, on any address, IPv4 or IPv6."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == LISTEN:
                inodes.add(fields[9])
    return inodes


def listener_pid(port: int) -> int | None:
    """The process listening on `port`, or None when it cannot be told (another user's process).

    Tests may run RabbitMQ nodes of their own beside the machine's, so "the broker" is whichever
    beam.smp holds the AMQP port the harness publishes to, not the first one found.
    """
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            return int(entry.name)
    return None


def amqp_port(amqp_url: str) -> int:
    """The port of an AMQP URL (5672 or 5671 by default)."""
    parts = urlsplit(amqp_url)
    return parts.port or (5671 if parts.scheme == "amqps" else 5672)


def broker_pid(amqp_url: str) -> int | None:
    """The Erlang VM (beam.smp) serving the AMQP URL's port on this machine, or None.

    None too when something else holds the port, such as the proxy of a broker in a container.
    """
    pid = listener_pid(amqp_port(amqp_url))
    if pid is None:
        return None
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if name.startswith("beam") else None


def broker_version(amqp_url: str) -> str:
    """The product and version the broker announces when a connection opens."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        properties = connection._impl.server_properties  # pika keeps them only there
        return f"{properties.get('product', '?')} {properties.get('version', '?')}"
    finally:
        connection.close()
