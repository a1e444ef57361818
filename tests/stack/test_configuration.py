""".env.example documents every MONTY_ variable each service reads, with its default."""

import json
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from archive_service.settings import ArchiveSettings
from auth_service.settings import AuthSettings
from exchange_service.settings import ExchangeSettings
from support.paths import REPO_ROOT
from user_service.settings import UserSettings

EXAMPLE = REPO_ROOT / ".env.example"


def _documented() -> tuple[set[str], dict[str, str]]:
    """Every variable named in the file, and the values of those set there."""
    named: set[str] = set()
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        text = line.lstrip("# ").strip()
        if text.startswith("MONTY_") and "=" in text:
            name, value = text.split("=", 1)
            named.add(name)
            if not line.startswith("#"):
                values[name] = value
    return named, values


@pytest.mark.parametrize(
    "settings", [ExchangeSettings, UserSettings, AuthSettings, ArchiveSettings], ids=lambda s: s.__name__
)
def test_every_setting_is_documented_with_its_default(settings: type[BaseSettings]) -> None:
    """A variable a service reads is in .env.example; where a value is given, it is the default."""
    named, values = _documented()
    for field_name, field in settings.model_fields.items():
        variable = f"MONTY_{field_name.upper()}"
        assert variable in named, variable
        if variable in values:
            default = field.get_default(call_default_factory=True)
            given = values[variable]
            if isinstance(default, list):
                assert json.loads(given) == default, variable
            elif isinstance(default, Path):
                assert Path(given) == default, variable
            else:
                assert type(default)(given) == default, variable
