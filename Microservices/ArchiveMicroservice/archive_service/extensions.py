"""The archive API's extensions, bound to an app in create_app."""

from monty_common.auth import BearerAuth
from monty_common.database import Database

database = Database()
bearer = BearerAuth()
