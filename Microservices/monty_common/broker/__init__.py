"""Long-lived RabbitMQ links: one I/O thread and one connection each, safe to call from many threads."""

from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.getter import Delivery, MessageGetter
from monty_common.broker.publisher import ConfirmedPublisher
from monty_common.broker.topology import Topology

__all__ = [
    "BrokerUnavailable",
    "ConfirmedPublisher",
    "Delivery",
    "MessageGetter",
    "OutcomeUnknown",
    "PublishRejected",
    "Topology",
]
