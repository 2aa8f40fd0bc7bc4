"""`buzzchat-mcp`: the BuzzChat MCP server on stdio, as the seed's MCP configuration runs it.

    buzzchat-mcp --api-key KEY [--base-url URL]

Also read from `BUZZCHAT_API_KEY` and `BUZZCHAT_BASE_URL` (default `http://127.0.0.1:8000`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import anyio
import httpx

from buzz.mcp.tools import RestApi, build_server

__all__ = ["main"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="buzzchat-mcp", description="The BuzzChat MCP server (stdio)."
    )
    parser.add_argument("--api-key", default=os.environ.get("BUZZCHAT_API_KEY"))
    parser.add_argument(
        "--base-url", default=os.environ.get("BUZZCHAT_BASE_URL") or DEFAULT_BASE_URL
    )
    return parser.parse_args(argv)


async def _serve(api_key: str, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=30) as client:
        await build_server(RestApi(client, api_key=api_key)).run_stdio_async()


def main(argv: list[str] | None = None) -> None:
    """Entry point of `buzzchat-mcp`."""
    args = _arguments(argv)
    if not args.api_key:
        print(
            "buzzchat-mcp: an API key is required: --api-key or BUZZCHAT_API_KEY", file=sys.stderr
        )
        sys.exit(2)
    # stdout carries the protocol: warnings and errors go to stderr.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="buzzchat-mcp: %(message)s"
    )
    anyio.run(_serve, args.api_key, args.base_url)


if __name__ == "__main__":
    main()
