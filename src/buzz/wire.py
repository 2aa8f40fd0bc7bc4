"""The base of both APIs' wire schemas: camelCase JSON names over snake_case fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["CamelModel"]


class CamelModel(BaseModel):
    """A schema whose JSON names are camelCase (`channelIds`), as both APIs write them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
