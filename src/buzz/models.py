"""Imports every domain's models so the metadata is complete (for Alembic and `create_all`)."""

from __future__ import annotations

__all__ = ["load_all_models"]


def load_all_models() -> None:
    """Register every table on `Base.metadata`."""
    from buzz.buzzchat import models as _buzzchat  # noqa: F401
    from buzz.delivery import models as _delivery  # noqa: F401
    from buzz.integrations import models as _integrations  # noqa: F401
    from buzz.platform import models as _platform  # noqa: F401
