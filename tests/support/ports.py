"""Loopback ports for servers started on demand."""

import random
import socket

# Below Linux's ephemeral range (32768-60999 by default), so that no client connection of the
# machine takes the port as its own source port while a server is stopped and restarted on it.
PORTS = range(20000, 32768)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range."""
    for port in random.sample(PORTS, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")
