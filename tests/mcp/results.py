"""Reading MCP tool results, for both transports' tests."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful tool call."""
    assert not result.is_error, text_of(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def failure(result: CallToolResult) -> str:
    """The text of a tool error."""
    assert result.is_error, result
    return text_of(result)
