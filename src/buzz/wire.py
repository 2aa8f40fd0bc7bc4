"""The base of both APIs' wire schemas: camelCase JSON names over snake_case fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    model_validator,
)
from pydantic.alias_generators import to_camel

__all__ = ["CamelModel", "IsoDateTime", "NullMeansAbsent", "refuses_nulls_schema"]

_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(value: Any) -> Any:
    # Pydantic also reads numbers, and strings of them, as Unix times: `?since=0.5` would be
    # 1970. Both APIs document ISO 8601, so that is all they take.
    if isinstance(value, str) and _ISO_DATE_TIME.match(value):
        return value
    if isinstance(value, str | int | float):
        raise ValueError(
            "must be an ISO 8601 date and time with its offset, e.g. 2026-12-01T09:30:00Z"
        )
    return value


def _in_utc(value: datetime) -> datetime:
    # `9999-12-31T23:59:59-23:59` is a valid ISO 8601 moment that no datetime holds in UTC.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a moment between the years 1 and 9999 in UTC") from None


# A moment given by a client: ISO 8601 with a UTC offset (`2026-12-01T09:30:00Z`), nothing else;
# read as the same moment in UTC.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_in_utc)]


class CamelModel(BaseModel):
    """A schema whose JSON names are camelCase (`channelIds`), as both APIs write them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# Keywords that describe a property rather than constrain its value: they stay outside the
# `anyOf` that makes it nullable.
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated"})


def _nullable_optionals(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Declare every optional property nullable in the JSON schema, as the model accepts it."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        prop = properties.get(field.alias or name)
        if field.is_required() or prop is None:
            continue
        options = prop.get("anyOf", [prop])
        if any(option.get("type") == "null" for option in options):
            continue
        core = {k: v for k, v in prop.items() if k not in _ANNOTATIONS}
        outer = {k: v for k, v in prop.items() if k in _ANNOTATIONS}
        properties[field.alias or name] = {"anyOf": [core, {"type": "null"}], **outer}


def refuses_nulls_schema(schema: dict[str, Any], _model: type[BaseModel]) -> None:
    """`json_schema_extra` of bodies that refuse every null (BuzzChat's `Strict`): no property
    is nullable in their JSON schema (an `X | None = None` field there only means the field
    may be left out)."""
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if not options or not any(option.get("type") == "null" for option in options):
            continue
        rest = [option for option in options if option.get("type") != "null"]
        outer = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        schema["properties"][name] = (
            {**rest[0], **outer}
            if len(rest) == 1
            else {
                "anyOf": rest,
                **outer,
            }
        )


class NullMeansAbsent(CamelModel):
    """A request body in which `null`, given for an optional field, means the field is absent
    (SPEC §2.3: Domo's SDK sends every unset field as null). A required field still refuses
    null, and the JSON schema declares each optional field nullable, as it is accepted."""

    model_config = ConfigDict(json_schema_extra=_nullable_optionals)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        optional = {
            key
            for name, field in cls.model_fields.items()
            if not field.is_required()
            for key in (field.alias or name, name)
        }
        return {k: v for k, v in data.items() if not (v is None and k in optional)}
