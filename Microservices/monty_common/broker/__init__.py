"""Long-lived RabbitMQ links: one I/O thread and one connection each, safe to call from many threads."""

from monty_common.broker.errors import Abandoned, BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.getter import MessageGetter
from monty_common.broker.link import AmqpLink
from monty_common.broker.publisher import ConfirmedPublisher, Route
from monty_common.broker.takes import Delivery
from monty_common.broker.topology import Topology, dead_letter_queue_of

__all__ = [
    "Abandoned",
    "AmqpLink",
    "BrokerUnavailable",
    "ConfirmedPublisher",
    "Delivery",
    "MessageGetter",
    "OutcomeUnknown",
    "PublishRejected",
    "Route",
    "Topology",
    "dead_letter_queue_of",
]
