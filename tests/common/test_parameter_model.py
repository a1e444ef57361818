"""Parameter models build their JSON schema once: flask-openapi3 asks for it on every request."""

from pydantic import BaseModel, Field

from monty_common.query_model import ParameterModel


class Page(ParameterModel):
    """A query of two parameters."""

    limit: int = Field(10, ge=1)
    tags: list[str] = Field(default_factory=list)


class PlainPage(BaseModel):
    """The same parameters on pydantic's own base."""

    limit: int = Field(10, ge=1)
    tags: list[str] = Field(default_factory=list)


def test_the_schema_is_built_once_and_is_pydantics() -> None:
    """Asked twice, the same object comes back, equal to what pydantic builds."""
    first = Page.model_json_schema()
    assert Page.model_json_schema() is first
    expected = PlainPage.model_json_schema()
    expected["title"] = "Page"
    expected["description"] = Page.__doc__
    assert first == expected


def test_each_set_of_arguments_has_its_own_schema() -> None:
    """The serialization schema is not the validation schema's cached copy."""
    template = "#/components/schemas/{model}"
    assert Page.model_json_schema(ref_template=template) is Page.model_json_schema(ref_template=template)
    assert Page.model_json_schema(mode="serialization") is not Page.model_json_schema()
