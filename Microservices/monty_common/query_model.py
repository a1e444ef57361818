"""A base for request-parameter models whose JSON schema is built once per model, not per request."""

from functools import cache
from typing import Any

from pydantic import BaseModel


@cache
def _json_schema(model: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """`model`'s JSON schema for these arguments, built by pydantic the first time only."""
    return BaseModel.model_json_schema.__func__(model, *args, **kwargs)  # type: ignore[attr-defined,no-any-return]


class ParameterModel(BaseModel):
    """Query, header or form parameters of a route.

    flask-openapi3 reads the model's JSON schema on every request it validates, and pydantic builds
    that schema anew each time: a large share of a small request's cost. The schema of a class never
    changes, so it is built once.
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The model's JSON schema, built once per class and arguments (callers must not change it)."""
        return _json_schema(cls, *args, **kwargs)
