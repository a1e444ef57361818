"""The user service's extensions, bound to an app in create_app."""

from monty_common.auth import BearerAuth
from monty_common.database import Database
from user_service.guards import ServiceSecret

database = Database()
bearer = BearerAuth()
service_secret = ServiceSecret()
