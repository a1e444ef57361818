"""Consuming with leases over real HTTP: receive, ack, nack and extend on one gateway instance as one user."""

from dataclasses import dataclass
from typing import Any

import requests

# Long enough for a receive that waits its longest (20 s) on a busy machine.
HTTP_TIMEOUT = 40.0


@dataclass(frozen=True)
class LeaseClient:
    """One user's calls to one gateway instance's queue routes.

    Every call opens a connection of its own (no session): a gateway hands each connection to one
    of its worker processes, so calls spread over the workers as separate clients' calls do.
    """

    base_url: str
    queue: str
    headers: dict[str, str]

    def _post(self, route: str, **kwargs: Any) -> requests.Response:
        """POST /Queues/{queue}/<route>."""
        return requests.post(
            f"{self.base_url}/Queues/{self.queue}/{route}",
            headers=self.headers,
            timeout=HTTP_TIMEOUT,
            **kwargs,
        )

    def receive_answer(self, limit: int = 1, visibility: int = 30, wait: int = 0) -> requests.Response:
        """POST /receive: lease up to `limit` messages (the route's max)."""
        return self._post("receive", params={"max": limit, "visibility": visibility, "wait": wait})

    def receive(self, limit: int = 1, visibility: int = 30, wait: int = 0) -> list[dict[str, Any]]:
        """Lease up to `limit` messages; the messages (200 required)."""
        answer = self.receive_answer(limit, visibility, wait)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert body["count"] == len(body["messages"]), body
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    def settle(self, verb: str, receipts: list[str], **fields: Any) -> requests.Response:
        """POST ack, nack or extend for `receipts` with the other `fields` of its body."""
        return self._post(verb, json={"receipts": receipts, **fields})

    def ack(self, receipts: list[str]) -> requests.Response:
        """POST /ack."""
        return self.settle("ack", receipts)

    def nack(self, receipts: list[str], delay: int = 0, error: str | None = None) -> requests.Response:
        """POST /nack (with `error` when given)."""
        fields: dict[str, Any] = {"delay": delay}
        if error is not None:
            fields["error"] = error
        return self.settle("nack", receipts, **fields)

    def extend(self, receipts: list[str], visibility: int) -> requests.Response:
        """POST /extend."""
        return self.settle("extend", receipts, visibility=visibility)

    def publish(self, bodies: list[Any]) -> list[str]:
        """POST /Messages with `bodies`; their message_ids, in order, once the broker confirmed all."""
        answer = requests.post(
            f"{self.base_url}/Messages", json=bodies, headers=self.headers, timeout=HTTP_TIMEOUT
        )
        assert answer.status_code == 200, answer.text[:1000]
        return [result["message_id"] for result in answer.json()["results"]]


def receive_all(
    client: LeaseClient, count: int, visibility: int, wait: int = 2, rounds: int = 200
) -> list[dict[str, Any]]:
    """Lease messages until `count` are held (or `rounds` receives came back short); those held."""
    held: list[dict[str, Any]] = []
    for _ in range(rounds):
        if len(held) >= count:
            break
        held += client.receive(min(count - len(held), 100), visibility, wait)
    return held


def results_of(answer: requests.Response) -> list[dict[str, Any]]:
    """The per-receipt results of an ack, nack or extend answer (200 or 207), in request order."""
    assert answer.status_code in (200, 207), answer.text
    body: dict[str, Any] = answer.json()
    results: list[dict[str, Any]] = body["results"]
    assert body["succeeded"] == sum(result["status"] == 200 for result in results), body
    assert body["failed"] == len(results) - body["succeeded"], body
    return results


def assert_all_settled(answer: requests.Response) -> list[dict[str, Any]]:
    """200, and every receipt's result 200; the results."""
    assert answer.status_code == 200, answer.text
    results = results_of(answer)
    assert all(result["status"] == 200 for result in results), results
    return results


def assert_each_refused(answer: requests.Response, status: int, slug: str) -> list[dict[str, Any]]:
    """207, and every receipt's result `status` with problem type `slug`; the results."""
    assert answer.status_code == 207, answer.text
    results = results_of(answer)
    for result in results:
        assert result["status"] == status, result
        assert result["type"] == f"urn:monty:problem:{slug}", result
        assert result["title"], result
        assert result["detail"], result
    return results


def ids_and_bodies(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """message_id → body of each message."""
    return {message["message_id"]: message["body"] for message in messages}
