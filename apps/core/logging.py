"""Structured logging: structlog over the standard library, one JSON object per line.

Every record carries the request context bound by ``RequestContextMiddleware`` (request id,
agency, user id) through structlog's context variables. Never log a password, token, one-time
code or personal data: log identifiers (UUIDs) and event names instead. Exception texts, which
may quote values (a database error's DETAIL, a validation error's echo), are scrubbed before
any line is written (``apps.core.logscrub``), for structlog events and standard-library records
alike; SQL statements and their parameters are never logged (``django.db.backends`` stays at
INFO whatever ``LOG_LEVEL`` says).
"""

from __future__ import annotations

import sys
from typing import Any

import structlog

from apps.core.logscrub import scrub_event

FOREIGN_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def build_logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """Return a ``LOGGING`` dict and configure structlog to render through it."""
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            *FOREIGN_PRE_CHAIN,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    scrub_event,  # before format_exc_info: it reads exc_info itself
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": FOREIGN_PRE_CHAIN,
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"level": "CRITICAL"},
            "django.db.backends": {"level": "INFO"},  # DEBUG would log SQL with its values
            "django.server": {"level": "WARNING"},
            "celery": {"level": "INFO"},
        },
    }


def log_uncaught_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver: log an exception no view handled, once, with the
    request id bound — raised by a view outside DRF or by a middleware, with DEBUG on or off
    (``django.request`` itself is silenced to avoid duplicates)."""
    from apps.core import outages

    exc_type, exc, _traceback = sys.exc_info()
    if exc is not None and outages.outage_for(exc) is not None:
        return  # not a defect: handler500 logs it as dependency_outage and answers 503
    structlog.get_logger("guichet.request").exception(
        "unhandled_exception", exc_type=getattr(exc_type, "__name__", "")
    )
