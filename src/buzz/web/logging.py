"""Logs as one JSON object per line, carrying the id of the request being served."""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "install_request_id_factory", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Record attributes that are not ours to repeat; `color_message` is uvicorn's ANSI-coloured copy.
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def install_request_id_factory() -> None:
    """Stamp every log record with the current request id when it is created (once per process),
    so a record formatted later, elsewhere, still carries it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_buzz_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory._buzz_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON; extra fields given to the logger are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # `buzz serve --workers N` runs N processes
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if (
                key not in _RESERVED
                and key != "request_id"
                and not key.startswith("_")
                and value is not None
            ):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> dict[str, Any]:
    """Send every log (ours and uvicorn's) to stderr as JSON; returns uvicorn's `log_config`.

    The config names its stream and formatter instead of holding them, so it pickles: uvicorn
    hands it to each process of `--workers N`.
    """
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{JsonFormatter.__module__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # Our own middleware writes one access line per request, with its request id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # The delivery log records every attempt; a line per POST would drown the rest.
            "httpx": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},
        },
    }
    logging.config.dictConfig(config)
    return config
