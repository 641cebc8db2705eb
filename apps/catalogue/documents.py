"""What a service's certificate says: its document definition (structured, validated).

An agency admin never writes template code: a definition is JSON data, checked against the
service's form before it is saved, and versioned (``DocumentDefinition``): a certificate
points at the version it was issued under and always renders with it.

Shape (every key but ``blocks`` optional; without ``holder`` the requester's account is the
person concerned)::

    {
      "title_fr": "Copie intégrale d'acte de naissance", "title_en": "...",
      "holder": ["prenoms", "nom"],            # answers naming the person concerned
      "requester_relation": {"field": "lien_demandeur", "self": ["titulaire"]},
      "blocks": [                              # in order, at most 40
        {"text_fr": "...", "text_en": "..."},  # a fixed paragraph
        {"field": "date_naissance", "label_fr": "Né(e) le", "label_en": "Born on",
         "format": "date"}                     # an answer: text | date | upper
      ]
    }

Field paths are dotted paths into the application's answers (``filiation.mere``) and must
name a property of the service's form. ``requester_relation``: when that answer is one of
``self`` (or absent) the requester is the person concerned; otherwise the requester is printed
separately.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext as _

MAX_BLOCKS = 40
MAX_TEXT_CHARS = 1200
MAX_LABEL_CHARS = 120
MAX_TITLE_CHARS = 200
FORMATS = ("text", "date", "upper")
TOP_KEYS = {"title_fr", "title_en", "holder", "requester_relation", "blocks"}
FIELD_KEYS = {"field", "label_fr", "label_en", "format"}
TEXT_KEYS = {"text_fr", "text_en"}
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def schema_property(form_schema: Any, path: str) -> dict[str, Any] | None:
    """The JSON Schema of the answer at dotted ``path`` in the form, or None."""
    node: Any = form_schema
    for part in path.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or not isinstance(properties.get(part), dict):
            return None
        node = properties[part]
    return node if isinstance(node, dict) else None


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def definition_errors(definition: Any, form_schema: Any) -> list[str]:
    """What is wrong with ``definition`` for a service whose form is ``form_schema``."""
    if not isinstance(definition, dict):
        return [_("The document definition must be a JSON object.")]
    errors: list[str] = []
    unknown = sorted(set(definition) - TOP_KEYS)
    if unknown:
        errors.append(_("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)})
    for key in ("title_fr", "title_en"):
        if key in definition and not _text(definition[key], MAX_TITLE_CHARS):
            errors.append(
                _("%(key)s must be a text of at most %(n)d characters.")
                % {"key": key, "n": MAX_TITLE_CHARS}
            )
    holder = definition.get("holder", [])
    if not isinstance(holder, list) or len(holder) > 4:
        errors.append(_("holder must list up to four answers naming the person concerned."))
    else:
        for path in holder:
            if not isinstance(path, str) or schema_property(form_schema, path) is None:
                errors.append(_("holder: the form has no answer %(path)s.") % {"path": path})
    relation = definition.get("requester_relation")
    if relation is not None and (
        not isinstance(relation, dict)
        or set(relation) - {"field", "self"}
        or not isinstance(relation.get("field"), str)
        or schema_property(form_schema, relation["field"]) is None
        or not isinstance(relation.get("self", []), list)
    ):
        errors.append(
            _("requester_relation must name an answer of the form and its 'self' values.")
        )
    blocks = definition.get("blocks")
    if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_BLOCKS:
        errors.append(_("blocks must list one to %(n)d blocks.") % {"n": MAX_BLOCKS})
        return errors
    for index, block in enumerate(blocks, start=1):
        errors += _block_errors(index, block, form_schema)
    return errors


def _block_errors(index: int, block: Any, form_schema: Any) -> list[str]:
    where = _("Block %(n)d") % {"n": index}
    if not isinstance(block, dict):
        return [_("%(where)s must be an object.") % {"where": where}]
    if "field" in block:
        problems: list[str] = []
        if set(block) - FIELD_KEYS:
            problems.append(_("%(where)s: unknown keys.") % {"where": where})
        path = block.get("field")
        if not isinstance(path, str) or schema_property(form_schema, path) is None:
            problems.append(
                _("%(where)s: the form has no answer %(path)s.") % {"where": where, "path": path}
            )
        for key in ("label_fr", "label_en"):
            if not _text(block.get(key), MAX_LABEL_CHARS):
                problems.append(
                    _("%(where)s: %(key)s is required (at most %(n)d characters).")
                    % {"where": where, "key": key, "n": MAX_LABEL_CHARS}
                )
        if block.get("format", "text") not in FORMATS:
            problems.append(
                _("%(where)s: format is one of %(formats)s.")
                % {"where": where, "formats": ", ".join(FORMATS)}
            )
        return problems
    if set(block) - TEXT_KEYS or not all(_text(block.get(k), MAX_TEXT_CHARS) for k in TEXT_KEYS):
        return [
            _("%(where)s: a paragraph needs text_fr and text_en (at most %(n)d characters).")
            % {"where": where, "n": MAX_TEXT_CHARS}
        ]
    return []


def default_definition(service: Any) -> dict[str, Any]:
    """A definition made from the form: every top-level answer with a title, in order."""
    properties = (service.form_schema or {}).get("properties") or {}
    holder = ["prenoms", "nom"] if {"prenoms", "nom"} <= set(properties) else []
    blocks: list[dict[str, Any]] = []
    for key, schema in properties.items():
        if not isinstance(schema, dict) or schema.get("type") not in ("string", "integer"):
            continue
        if key in holder or key in ("telephone", "courriel"):
            continue
        title = str(schema.get("title") or key)[:MAX_LABEL_CHARS]
        form = "date" if schema.get("format") == "date" else "text"
        blocks.append({"field": key, "label_fr": title, "label_en": title, "format": form})
    if not blocks:
        blocks = [
            {
                "text_fr": "Document délivré à l'issue de la démarche.",
                "text_en": "Document issued at the end of the procedure.",
            }
        ]
    return {"holder": holder, "blocks": blocks[:MAX_BLOCKS]}


def answer_at(answers: Any, path: str) -> Any:
    """The answer at dotted ``path`` (None when absent)."""
    node = answers
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def format_date(value: str, language: str) -> str:
    """An ISO date as printed: ``17 mars 1994`` / ``17 March 1994`` (as typed if not a date)."""
    try:
        day = datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if language == "en":
        return day.strftime("%-d %B %Y")
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS_FR[day.month - 1]} {day.year}"


def display(value: Any, form_schema: Any, path: str, fmt: str, language: str) -> str:
    """One answer as printed on the document."""
    if value is None or value == "":
        return "—"
    schema = schema_property(form_schema, path) or {}
    for option in schema.get("oneOf") or schema.get("anyOf") or []:
        if isinstance(option, dict) and option.get("const") == value and option.get("title"):
            value = option["title"]
    if isinstance(value, list):
        text = ", ".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = ", ".join(str(item) for item in value.values() if item not in (None, ""))
    else:
        text = str(value)
    if fmt == "date":
        return format_date(text, language)
    if fmt == "upper":
        return text.upper()
    return text


def resolve(
    definition: dict[str, Any], *, form_schema: Any, answers: Any, language: str
) -> dict[str, Any]:
    """The printed content of a definition for one application's answers.

    ``{"holder": str, "requester_is_holder": bool, "blocks": [{"label", "value"} | {"text"}]}``
    """
    suffix = "en" if language == "en" else "fr"
    holder = " ".join(
        str(answer_at(answers, path)).strip()
        for path in definition.get("holder", [])
        if answer_at(answers, path) not in (None, "")
    )
    relation = definition.get("requester_relation") or {}
    is_holder = True
    if relation:
        value = answer_at(answers, relation["field"])
        is_holder = value in (None, "") or value in relation.get("self", [])
    blocks: list[dict[str, str]] = []
    for block in definition.get("blocks", []):
        if "field" in block:
            path = block["field"]
            fmt = block.get("format", "text")
            value = display(answer_at(answers, path), form_schema, path, fmt, language)
            blocks.append({"label": block[f"label_{suffix}"], "value": value})
        else:
            blocks.append({"text": block[f"text_{suffix}"]})
    return {"holder": holder, "requester_is_holder": is_holder, "blocks": blocks}
