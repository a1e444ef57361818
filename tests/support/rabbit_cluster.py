"""A RabbitMQ cluster of a test session's own: three nodes on this machine, joined, torn down after.

Each node is a RabbitNode (own node name, AMQP and distribution ports, data and log directories). The
server scripts run every node as the rabbitmq user, so the nodes and rabbitmqctl share that user's
Erlang cookie. Nodes are started standalone, then the second and third join the first.
"""

import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from support.polling import wait_until
from support.rabbit_node import RabbitNode

# Seconds a node (or the cluster) gets to come up; boots are slow while two others boot beside it.
START_SECONDS = 120.0


class RabbitCluster:
    """Three RabbitMQ nodes joined into one cluster; nodes are stopped, killed and started by index."""

    def __init__(self, size: int = 3) -> None:
        """Choose the nodes' names, ports and directories; nothing starts yet."""
        tag = uuid.uuid4().hex[:8]
        self.nodes = [RabbitNode(name=f"monty-c-{tag}-{index + 1}@localhost") for index in range(size)]
        self._down: set[int] = set()

    @property
    def urls(self) -> list[str]:
        """Every node's AMQP URL, in node order."""
        return [node.amqp_url for node in self.nodes]

    def service_settings(self) -> dict[str, str]:
        """The settings of a service on this cluster: every node's URL, and replicated queues."""
        return {"MONTY_AMQP_URLS": ",".join(self.urls), "MONTY_QUEUE_TYPE": "quorum"}

    def start(self) -> None:
        """Start every node, join them into one cluster and wait until all run in it."""
        _all_at_once([node.start for node in self.nodes])
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("reset")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")
        self.wait_healthy()

    def stop_node(self, index: int) -> None:
        """Stop node `index` gracefully (it hands over what it leads first)."""
        self._down.add(index)
        self.nodes[index].stop()

    def kill_node(self, index: int) -> None:
        """SIGKILL node `index`'s Erlang VM only: a crash."""
        self._down.add(index)
        self.nodes[index].kill()

    def start_node(self, index: int) -> None:
        """Start node `index` again (it rejoins the cluster) and wait until the cluster is whole."""
        self.nodes[index].start(START_SECONDS)
        self._down.discard(index)
        self.wait_healthy()

    def heal(self) -> None:
        """Start every node a test stopped or killed, and wait until the cluster is whole."""
        for index in sorted(self._down):
            self.start_node(index)
        self.wait_healthy()

    @property
    def running(self) -> list[int]:
        """Indexes of the nodes not stopped or killed by a test."""
        return [index for index in range(len(self.nodes)) if index not in self._down]

    def close_all_connections(self, reason: str = "closed by a test") -> None:
        """`rabbitmqctl close_all_connections`: the broker closes every client connection of the cluster."""
        self.ctl("close_all_connections", reason)

    def ctl(self, *args: str) -> str:
        """Run rabbitmqctl against a running node (cluster-wide commands answer for every node)."""
        return self.nodes[self.running[0]].ctl(*args)

    def connections(self) -> list[dict[str, Any]]:
        """Every client connection of the cluster: its server port (which names the node), its peer's
        port and its client properties."""
        output = self.ctl("list_connections", "port", "peer_port", "client_properties", "--formatter", "json")
        rows: list[dict[str, Any]] = json.loads(output)
        return rows

    def nodes_serving(self, pids: Collection[int]) -> Counter[int]:
        """How many connections of processes `pids` each node holds (the services name their
        connections "<label> pid <pid>")."""
        held: Counter[int] = Counter()
        for connection in self.connections():
            properties = {key: value for key, _, value in connection["client_properties"]}
            name = str(properties.get("connection_name", ""))
            pid = re.search(r" pid (\d+)$", name)
            if pid is not None and int(pid.group(1)) in pids:
                held[self.node_of_port(int(connection["port"]))] += 1
        return held

    def node_of_port(self, port: int) -> int:
        """Index of the node whose AMQP listener is `port`."""
        return next(index for index, node in enumerate(self.nodes) if node.port == port)

    def queue_leader(self, queue: str) -> int:
        """Index of the node that leads `queue` (a quorum queue's leader, a classic queue's home)."""
        output = self.ctl("list_queues", "name", "leader", "--formatter", "json")
        leader = next(row["leader"] for row in json.loads(output) if row["name"] == queue)
        for index in self.running:
            node = self.nodes[index]
            if leader == node.name or (not leader and queue in _queue_names(node, "--local")):
                return index
        raise AssertionError(f"no running node leads {queue}")

    def move_leader(self, queue: str, index: int) -> None:
        """Make node `index` lead quorum queue `queue` (of the default virtual host); wait until it does."""
        node = self.nodes[index].name
        self.ctl(
            "eval",
            f'{{ok, Q}} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"{queue}">>)), '
            f"rabbit_quorum_queue:transfer_leadership(Q, '{node}').",
        )
        wait_until(lambda: self.queue_leader(queue) == index, 30, f"{node} to lead {queue}", 0.5)

    def wait_healthy(self, timeout: float = START_SECONDS) -> None:
        """Wait until every node the tests did not take down runs in the cluster and takes connections."""
        expected = {self.nodes[index].name for index in self.running}

        def whole() -> bool:
            try:
                status = json.loads(self.ctl("cluster_status", "--formatter", "json"))
            except Exception:
                return False
            return expected <= set(status.get("running_nodes", []))

        wait_until(whole, timeout, "the cluster's nodes to run together", 0.5)
        for index in self.running:
            wait_until(self.nodes[index].accepts_connections, timeout, f"{self.nodes[index].name}", 0.5)

    def remove(self) -> None:
        """Stop every node and delete its data (a node that does not stop is killed)."""
        for node in self.nodes:
            try:
                node.remove()
            except Exception:
                node.kill_quietly()
                node.remove()


def _queue_names(node: RabbitNode, *options: str) -> list[str]:
    """Names of the queues `node` lists with `options`."""
    rows = json.loads(node.ctl("list_queues", *options, "name", "--formatter", "json"))
    return [row["name"] for row in rows]


def _all_at_once(steps: list[Callable[[], None]]) -> None:
    """Run `steps` in threads of their own and wait for all; the first error is raised."""
    errors: list[BaseException] = []

    def run(step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
