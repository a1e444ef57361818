"""The seed's design, kept only as the benchmark's baseline: a new broker connection per request."""

import os

import pika
from flask import Flask, request

EXCHANGE = os.environ.get("MONTY_EXCHANGE", "monty.exchange")
QUEUE = os.environ.get("MONTY_QUEUE", "monty-queue")
ROUTING_KEY = os.environ.get("MONTY_ROUTING_KEY", "message")
AMQP_URL = os.environ.get("MONTY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

app = Flask(__name__)


def _channel() -> tuple[pika.BlockingConnection, object]:
    """Open a connection, declare, bind: what the seed did on every request."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange=EXCHANGE, exchange_type="direct", durable=True)
    channel.queue_declare(queue=QUEUE, durable=True)
    channel.queue_bind(queue=QUEUE, exchange=EXCHANGE, routing_key=ROUTING_KEY)
    return connection, channel


@app.post("/Message")
def message() -> tuple[str, int]:
    """Publish and close."""
    connection, channel = _channel()
    channel.basic_publish(EXCHANGE, ROUTING_KEY, request.get_data())  # type: ignore[attr-defined]
    connection.close()
    return "Message published", 200


@app.get("/Consume")
def consume() -> tuple[str | bytes, int]:
    """Get one message and close."""
    connection, channel = _channel()
    method, _properties, body = channel.basic_get(QUEUE, auto_ack=True)  # type: ignore[attr-defined]
    connection.close()
    if method is None:
        return "There are no Available Messages to Consume.", 200
    return body, 200
