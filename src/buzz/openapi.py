"""The service's OpenAPI document, as committed under `openapi/`."""

from __future__ import annotations

import json

from buzz.app import create_app
from buzz.settings import Settings

__all__ = ["render_openapi"]


def render_openapi() -> str:
    """The OpenAPI document as stable, pretty-printed JSON (no database is touched)."""
    app = create_app(Settings(database_url="sqlite://", embedded_worker=False, _env_file=None))
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
