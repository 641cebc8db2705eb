"""A citizen's answers as labelled rows, using the titles of the service's JSON Schema.

Civil servants read "Date de naissance : 2001-04-12", not ``{"birth": {"date": ...}}``. Used by
the staff API (``answers``) and the admin console's application page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

SEPARATOR = " › "
MAX_DEPTH = 6


@dataclass(frozen=True)
class AnswerRow:
    """One answer: its path in the data, its label from the schema, its display value."""

    path: str
    label: str
    value: str


def _choice_title(schema: dict[str, Any], value: Any) -> str | None:
    """The title of an ``enum``-like value declared as ``oneOf``/``anyOf`` of ``const``."""
    for keyword in ("oneOf", "anyOf"):
        for option in schema.get(keyword) or []:
            if isinstance(option, dict) and option.get("const") == value and option.get("title"):
                return str(option["title"])
    return None


def _display(schema: dict[str, Any], value: Any) -> str:
    if value is None or value == "":
        return "—"
    title = _choice_title(schema, value)
    if title is not None:
        return title
    if isinstance(value, bool):
        return str(_("Yes")) if value else str(_("No"))
    if isinstance(value, list):
        return ", ".join(_display(schema.get("items") or {}, item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_display({}, item)}" for key, item in value.items())
    return str(value)


def _rows(
    schema: dict[str, Any], data: Any, *, path: str, label: str, depth: int
) -> list[AnswerRow]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(data, dict) and not isinstance(properties, dict):
        properties = {}  # no titles known: one row per key all the same
    if depth < MAX_DEPTH and isinstance(properties, dict) and isinstance(data, dict | type(None)):
        rows: list[AnswerRow] = []
        values = data or {}
        for key, child in properties.items():
            child_schema = child if isinstance(child, dict) else {}
            child_label = str(child_schema.get("title") or key)
            rows += _rows(
                child_schema,
                values.get(key),
                path=f"{path}.{key}" if path else key,
                label=f"{label}{SEPARATOR}{child_label}" if label else child_label,
                depth=depth + 1,
            )
        for key in values:
            if key not in properties:  # answers the form no longer asks for are still shown
                rows += _rows(
                    {},
                    values[key],
                    path=f"{path}.{key}" if path else key,
                    label=f"{label}{SEPARATOR}{key}" if label else key,
                    depth=depth + 1,
                )
        return rows
    items = schema.get("items") if isinstance(schema, dict) else None
    if (
        depth < MAX_DEPTH
        and isinstance(items, dict)
        and isinstance(items.get("properties"), dict)
        and isinstance(data, list)
    ):
        rows = []
        for index, item in enumerate(data, start=1):
            rows += _rows(
                items,
                item,
                path=f"{path}.{index - 1}",
                label=f"{label} {index}",
                depth=depth + 1,
            )
        return rows
    return [AnswerRow(path=path, label=label, value=_display(schema, data))]


def answer_rows(form_schema: dict[str, Any], form_data: dict[str, Any]) -> list[AnswerRow]:
    """Every field of the form, in the form's order, with its title and the citizen's answer."""
    return _rows(form_schema or {}, form_data or {}, path="", label="", depth=0)
