"""Dead letters as JSON: each one as GET /Consume/batch shows a message, with a dead_letter member."""

import json

from exchange_service.dead_letters import DeadLetter, DeadLetterPage
from exchange_service.messaging import iso_time
from exchange_service.rendering import delivery_json
from monty_common.producer_stamp import ProducerStamp


def dead_letter_json(letter: DeadLetter, stamp: ProducerStamp, max_depth: int) -> str:
    """A dead letter as a JSON object: the message as a batch consume shows it, and why it is here."""
    info = letter.info
    described = json.dumps(
        {
            "reason": info.reason,
            "last_error": info.last_error,
            "delivery_count": info.delivery_count,
            "dead_lettered_at": iso_time(info.dead_lettered_at),
            "source_queue": info.source_queue,
        }
    )
    message = delivery_json(letter.delivery, stamp, max_depth)
    return f'{message[:-1]}, "dead_letter": {described}}}'


def dead_letter_page_json(page: DeadLetterPage, stamp: ProducerStamp, max_depth: int) -> str:
    """A page of dead letters as {"messages": [...], "count": n, "total": t, "byte_limited": ...}."""
    messages = ", ".join(dead_letter_json(letter, stamp, max_depth) for letter in page.dead_letters)
    return (
        f'{{"messages": [{messages}], "count": {len(page.dead_letters)}, "total": {page.total}, '
        f'"byte_limited": {json.dumps(page.byte_limited)}}}'
    )
