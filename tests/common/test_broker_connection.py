"""How the services' broker connections are described: to clients without the broker's address."""

import pika

from monty_common.broker.connection import without_address


def test_reasons_for_clients_leave_out_the_host_and_user() -> None:
    """The host and user name are replaced wherever they appear whole; the rest of the reason stays."""
    parameters = pika.URLParameters("amqps://monty:pw@rabbit.internal:5671/")
    reason = (
        "SSLCertVerificationError: certificate verify failed: Hostname mismatch, certificate is not valid "
        "for 'rabbit.internal'. (monty at rabbit.internal.example, montyexchange)"
    )
    assert without_address(reason, parameters) == (
        "SSLCertVerificationError: certificate verify failed: Hostname mismatch, certificate is not valid "
        "for '<broker>'. (<user> at rabbit.internal.example, montyexchange)"
    )


def test_a_short_user_name_is_hidden_only_where_it_stands_alone() -> None:
    """A one-letter user name leaves the words that contain it alone."""
    parameters = pika.URLParameters("amqp://a:pw@10.0.0.7:5672/")
    assert without_address("ACCESS_REFUSED for a at 10.0.0.7:5672 (mechanism PLAIN)", parameters) == (
        "ACCESS_REFUSED for <user> at <broker>:5672 (mechanism PLAIN)"
    )
