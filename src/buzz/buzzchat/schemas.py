"""Wire formats of BuzzChat v1: `{"success": true, "data": ...}` around camelCase objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from buzz.wire import CamelModel, refuses_nulls_schema

__all__ = [
    "AccountOut",
    "Done",
    "Ok",
    "Strict",
]

T = TypeVar("T")


class Ok(BaseModel, Generic[T]):
    """A success: `{"success": true, "data": ...}`."""

    success: Literal[True] = True
    data: T


class OkMessage(Ok[T], Generic[T]):
    """A success that says what it did and returns the result: `{"success": true, "message",
    "data"}`; fits the published contract's `SuccessMessage` and clients that read `data`."""

    message: str


class Done(BaseModel):
    """A success with nothing to return but a sentence."""

    success: Literal[True] = True
    message: str


class Strict(CamelModel):
    """A request body: unknown fields and explicit nulls are refused, as Stripe does."""

    # Only the camelCase names: `bot_active` in a body is an unknown field, not an alias.
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=False,
        validate_by_name=False,
        validate_by_alias=True,
        json_schema_extra=refuses_nulls_schema,  # the document says what _no_nulls does
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_nulls(cls, value: Any, info: ValidationInfo) -> Any:
        # Per field, so the error names the field (`until: cannot be null`), not the body.
        if value is None:
            field = cls.model_fields[info.field_name] if info.field_name else None
            name = (field.alias if field else None) or info.field_name
            raise ValueError(f"{name} cannot be null")
        return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class AccountOut(CamelModel):
    id: str
    name: str
    is_active: bool


class AccountList(CamelModel):
    accounts: list[AccountOut]


class AccountCreate(Strict):
    name: Name


class AccountSwitch(Strict):
    account_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class KeyOut(CamelModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key itself: shown this once, store it now.")


class KeyList(CamelModel):
    keys: list[KeyOut]


class KeyCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        "API key"
    )
