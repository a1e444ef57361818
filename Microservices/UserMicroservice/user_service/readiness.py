"""Whether the user database answers."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from user_service.extensions import database


def database_readiness() -> dict[str, str]:
    """ "ok" when the database answers SELECT 1, or why it does not."""
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # The class name says enough; the message may carry the database URL.
        return {"database": f"unavailable ({type(error).__name__})"}
    return {"database": "ok"}
