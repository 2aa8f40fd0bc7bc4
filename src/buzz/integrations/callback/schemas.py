"""The body an integration posts through its callback."""

from __future__ import annotations

from pydantic import Field, model_validator

from buzz.wire import NullMeansAbsent

__all__ = ["BotMessage", "BotText"]


class BotText(NullMeansAbsent):
    text: str = Field(min_length=1, max_length=10_000)


class BotMessage(NullMeansAbsent):
    """Domo's SDK sends `{"content": {"text": …}}`; `{"text": …}` is accepted too."""

    content: BotText | None = None
    text: str | None = Field(default=None, min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _one_text(self) -> BotMessage:
        if self.content is None and self.text is None:
            raise ValueError('Send the message as {"content": {"text": "..."}}')
        return self

    @property
    def message_text(self) -> str:
        return self.content.text if self.content is not None else str(self.text)
