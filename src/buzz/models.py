"""Every domain's models, so the metadata is complete (for Alembic and `create_all`).

Importing this module registers every table on `Base.metadata`; it sits with the app at the
top of the layers, since it names every domain.
"""

from __future__ import annotations

from buzz.buzzchat import models as buzzchat_models
from buzz.delivery import models as delivery_models
from buzz.integrations import models as integrations_models
from buzz.platform import models as platform_models
from buzz.portal import models as portal_models

__all__ = ["load_all_models"]

_DOMAINS = (buzzchat_models, delivery_models, integrations_models, platform_models, portal_models)


def load_all_models() -> None:
    """Make sure every table is registered: importing this module did it (see `_DOMAINS`)."""
