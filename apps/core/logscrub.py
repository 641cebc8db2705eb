"""Exception texts in logs, without the values they carry.

Exception messages are not written for logs: PostgreSQL's carry the offending value
(``DETAIL: Key (email)=(…) already exists``, ``invalid input syntax for type integer: "…"``,
``CONTEXT: JSON data, line 1: {"nom": …``), validation errors echo the input, other libraries
quote what they were given. Every exception that reaches a log line — a structlog event's
``exc_info``, a standard-library record's ``exc_info``, and the message of a standard-library
record (Celery and Django format exceptions into it) — goes through here:

* database errors (Django's and psycopg's) become their class, SQLSTATE and the names of the
  constraint, table, column and data type PostgreSQL reports, never the message;
* validation errors (Django, DRF, jsonschema) become their class and codes;
* the messages of errors the interpreter writes about the program (``AttributeError``,
  ``TypeError``, ``ImportError``…), of operating-system errors and of the project's own
  exceptions (``apps.*``, whose messages follow the no-personal-data rule) are kept with their
  values redacted: quoted literals (except identifiers with an underscore or a dot, such as
  constraint names), e-mail addresses, phone-like numbers and everything after PostgreSQL's
  ``DETAIL`` / ``CONTEXT`` / ``LINE`` / ``HINT`` markers, at most ``MAX_MESSAGE`` characters;
* any other message (``ValueError``, ``KeyError``, a library's own error…) may quote its input
  without quotes, so only its length is logged.

The traceback's frames (file, line, code) are kept: they are the program, not the data.
Nothing here imports Django or psycopg: the settings import this module.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any

MAX_MESSAGE = 300
_SECTIONS = re.compile(r"\s*\b(?:DETAIL|CONTEXT|LINE \d+|HINT|QUERY|WHERE):.*", re.DOTALL)
_UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|«[^»]*»")
_IDENTIFIER = re.compile(r"^[\"']?[A-Za-z_][A-Za-z0-9_]*(?:[._][A-Za-z0-9_]+)+[\"']?$")
_EMAIL = re.compile(r"[^\s@'\"(),;:<>]+@[^\s@'\"(),;:<>]+")
_NUMBER = re.compile(r"\+?\d[\d .\-]{4,}\d")
_DB_MODULES = ("django.db", "psycopg")
# Their messages describe the program or the system, not the data it was given.
PROGRAM_ERRORS = (
    AttributeError,
    TypeError,
    NameError,
    ImportError,
    AssertionError,
    NotImplementedError,
    RecursionError,
    ArithmeticError,
    IndexError,
    OSError,
    RuntimeError,
)
_VALIDATION = {
    ("django.core.exceptions", "ValidationError"),
    ("rest_framework.exceptions", "ValidationError"),
    ("jsonschema.exceptions", "ValidationError"),
}


def scrub_text(text: str) -> str:
    """``text`` with the values it may quote redacted (see the module)."""
    text = _SECTIONS.sub("", str(text))
    uuids: list[str] = []

    def keep_uuid(match: re.Match[str]) -> str:
        uuids.append(match.group(0))
        return f"\x00{len(uuids) - 1}\x00"

    text = _UUID.sub(keep_uuid, text)
    text = _QUOTED.sub(lambda m: m.group(0) if _IDENTIFIER.match(m.group(0)) else "'…'", text)
    text = _EMAIL.sub("[email]", text)
    text = _NUMBER.sub("[number]", text)
    text = re.sub("\x00(\\d+)\x00", lambda m: uuids[int(m.group(1))], text)
    return text[:MAX_MESSAGE]


def exception_summary(exc: BaseException) -> str:
    """What a log line may say about ``exc``: its class and a message without values."""
    module = type(exc).__module__
    if module.startswith(_DB_MODULES):
        return _database_summary(exc)
    if (module, type(exc).__name__) in _VALIDATION:
        return _validation_summary(exc)
    if isinstance(exc, PROGRAM_ERRORS) or module.startswith("apps."):
        return scrub_text(str(exc))
    return f"(message withheld: {len(str(exc))} characters)"


def _database_summary(exc: BaseException) -> str:
    source: Any = exc.__cause__ if exc.__cause__ is not None else exc
    parts = []
    sqlstate = getattr(source, "sqlstate", None) or getattr(exc, "sqlstate", None)
    if sqlstate:
        parts.append(f"sqlstate={sqlstate}")
    diag = getattr(source, "diag", None)
    for name in ("schema_name", "table_name", "column_name", "constraint_name", "datatype_name"):
        value = getattr(diag, name, None) if diag is not None else None
        if value:
            parts.append(f"{name.removesuffix('_name')}={value}")
    return " ".join(parts) or "database error"


def _validation_summary(exc: BaseException) -> str:
    codes: Any = None
    if hasattr(exc, "get_codes"):
        codes = exc.get_codes()
    elif hasattr(exc, "error_list"):
        codes = sorted({str(getattr(e, "code", None)) for e in exc.error_list})
    elif hasattr(exc, "validator"):
        codes = getattr(exc, "validator", None)
    return f"codes={codes!r}" if codes else "validation error"


def format_exception(exc: BaseException) -> str:
    """A traceback like Python's, each message replaced by ``exception_summary``."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "direct cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "context"
        else:
            current = None
    parts: list[str] = []
    for index, (item, _link) in enumerate(reversed(chain)):
        if index:
            following = list(reversed(chain))[index - 1][1]
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if following == "direct cause"
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if item.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(item.__traceback__))
        name = f"{type(item).__module__}.{type(item).__qualname__}".removeprefix("builtins.")
        parts.append(f"{name}: {exception_summary(item)}\n")
    return "".join(parts).rstrip("\n")


def scrub_event(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor (before ``format_exc_info``): exceptions and foreign messages."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        exc = _exception_of(exc_info)
        if exc is not None:
            event_dict["exception"] = format_exception(exc)
    for key, value in list(event_dict.items()):
        if isinstance(value, BaseException):
            event_dict[key] = f"{type(value).__name__}: {exception_summary(value)}"
    if event_dict.get("_from_structlog") is False and isinstance(event_dict.get("event"), str):
        event_dict["event"] = scrub_text(event_dict["event"])  # a library's formatted message
    return event_dict


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    if exc_info is True:
        return sys.exc_info()[1]
    return None
