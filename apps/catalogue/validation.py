"""Validation of a service's definition (its form and documents) and of citizens' answers.

Two different jobs live here because they share one JSON Schema dialect (draft 2020-12):

* ``validate_form_schema`` / ``validate_document_types`` check what an agency admin saves on a
  ``Service`` (model field validators, also run by ``Service.save``);
* ``form_data_errors`` checks a citizen's answers against that form and returns field-level,
  translated messages keyed by field path (``"birth.date"``), ready for a problem document.

Schemas may only reference themselves (``$ref`` starting with ``#``): resolving a remote
reference would make the platform fetch URLs chosen by whoever edits a form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from apps.catalogue.models import Service

# Key of errors that belong to the whole form rather than to one field (DRF's convention).
NON_FIELD_ERRORS = "non_field_errors"
DRAFT_2020_12_URI = "https://json-schema.org/draft/2020-12/schema"
# A form is a few dozen fields; anything much larger is a mistake (or an attack on the admin).
MAX_FORM_SCHEMA_CHARS = 100_000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MIME_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
DOCUMENT_TYPE_KEYS = frozenset(
    {"code", "label_fr", "label_en", "mime_types", "max_bytes", "required"}
)
REFERENCE_KEYWORDS = ("$ref", "$dynamicRef")


# --- The form definition ------------------------------------------------------------------------


def _references(node: Any) -> Iterator[str]:
    """Every ``$ref`` / ``$dynamicRef`` value anywhere in a schema."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in REFERENCE_KEYWORDS and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def form_schema_errors(schema: Any) -> list[str]:
    """Problems of a form definition, in the active language; empty when it is usable."""
    if not isinstance(schema, dict):
        return [_("The form must be a JSON object.")]
    if len(json.dumps(schema)) > MAX_FORM_SCHEMA_CHARS:
        return [
            _("The form is too large (more than %(limit)s characters).")
            % {"limit": MAX_FORM_SCHEMA_CHARS}
        ]
    declared = schema.get("$schema")
    if declared is not None and declared.rstrip("#") != DRAFT_2020_12_URI:
        return [
            _('Only JSON Schema draft 2020-12 is supported ("$schema": "%(uri)s").')
            % {"uri": DRAFT_2020_12_URI}
        ]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "/"
        return [
            _("This is not a valid JSON Schema (draft 2020-12) at %(where)s: %(reason)s")
            % {"where": where, "reason": exc.message}
        ]
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append(_('The form must describe an object ("type": "object").'))
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        problems.append(_('The form must list its fields under "properties".'))
        properties = {}
    for name in schema.get("required", []):
        if name not in properties:
            problems.append(
                _('The required field "%(name)s" is not among the properties.') % {"name": name}
            )
    resolver = (
        Registry()
        .with_resource("", Resource.from_contents(schema, default_specification=DRAFT202012))
        .resolver()
    )
    for reference in _references(schema):
        if not reference.startswith("#"):
            problems.append(
                _("Only references inside the form are allowed (starting with #): %(ref)s")
                % {"ref": reference}
            )
            continue
        try:
            resolver.lookup(reference)
        except Unresolvable:
            problems.append(_("This reference points nowhere: %(ref)s") % {"ref": reference})
    return problems


def validate_form_schema(value: Any) -> None:
    """Model field validator of ``Service.form_schema``."""
    problems = form_schema_errors(value)
    if problems:
        raise ValidationError(problems, code="invalid_form_schema")


# --- Document types -----------------------------------------------------------------------------


def _document_type_errors(index: int, item: Any) -> list[str]:
    position = {"position": index + 1}
    if not isinstance(item, dict):
        return [_("Document %(position)s must be a JSON object.") % position]
    problems: list[str] = []
    unknown = sorted(set(item) - DOCUMENT_TYPE_KEYS)
    if unknown:
        problems.append(
            _("Document %(position)s has unknown keys: %(keys)s.")
            % {**position, "keys": ", ".join(unknown)}
        )
    missing = sorted(DOCUMENT_TYPE_KEYS - set(item))
    if missing:
        problems.append(
            _("Document %(position)s lacks the keys: %(keys)s.")
            % {**position, "keys": ", ".join(missing)}
        )
        return problems
    code = item["code"]
    if not isinstance(code, str) or len(code) > 64 or not SLUG_RE.match(code):
        problems.append(
            _("Document %(position)s: the code must be lowercase letters, digits and hyphens.")
            % position
        )
    for key in ("label_fr", "label_en"):
        label = item[key]
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            problems.append(
                _("Document %(position)s: %(key)s must be a text of 1 to 200 characters.")
                % {**position, "key": key}
            )
    mime_types = item["mime_types"]
    if (
        not isinstance(mime_types, list)
        or not mime_types
        or not all(isinstance(m, str) and MIME_TYPE_RE.match(m) for m in mime_types)
        or len(set(mime_types)) != len(mime_types)
    ):
        problems.append(
            _(
                "Document %(position)s: mime_types must be a non-empty list of distinct types "
                'such as "application/pdf".'
            )
            % position
        )
    max_bytes = item["max_bytes"]
    limit = settings.API_MAX_UPLOAD_BYTES
    if (
        isinstance(max_bytes, bool)
        or not isinstance(max_bytes, int)
        or max_bytes <= 0
        or max_bytes > limit
    ):
        problems.append(
            _("Document %(position)s: max_bytes must be a whole number from 1 to %(limit)s.")
            % {**position, "limit": limit}
        )
    if not isinstance(item["required"], bool):
        problems.append(_("Document %(position)s: required must be true or false.") % position)
    return problems


def document_types_errors(value: Any) -> list[str]:
    """Problems of a service's list of document types; empty when it is usable."""
    if not isinstance(value, list):
        return [_("The document types must be a JSON list.")]
    problems: list[str] = []
    for index, item in enumerate(value):
        problems.extend(_document_type_errors(index, item))
    codes = [item.get("code") for item in value if isinstance(item, dict)]
    duplicates = sorted({str(code) for code in codes if codes.count(code) > 1})
    if duplicates:
        problems.append(
            _("Each document code must be unique: %(codes)s.") % {"codes": ", ".join(duplicates)}
        )
    return problems


def validate_document_types(value: Any) -> None:
    """Model field validator of ``Service.document_types``."""
    problems = document_types_errors(value)
    if problems:
        raise ValidationError(problems, code="invalid_document_types")


# --- Citizens' answers --------------------------------------------------------------------------

# The draft 2020-12 format checks, with stricter email and an extra-free date-time check.
FORMAT_CHECKER = FormatChecker(formats=Draft202012Validator.FORMAT_CHECKER.checkers)


@FORMAT_CHECKER.checks("email", raises=ValidationError)
def _is_email(instance: object) -> bool:
    """Django's email rules, stricter than jsonschema's "contains an @"."""
    if isinstance(instance, str):
        validate_email(instance)
    return True


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(instance: object) -> bool:
    """ISO 8601 / RFC 3339 date and time with an offset (no extra package needed)."""
    if not isinstance(instance, str):
        return True
    try:
        value = parse_datetime(instance)
    except ValueError:
        return False
    return value is not None and value.tzinfo is not None


TYPE_NAMES = {
    "string": gettext_lazy("a text"),
    "integer": gettext_lazy("a whole number"),
    "number": gettext_lazy("a number"),
    "boolean": gettext_lazy("true or false"),
    "object": gettext_lazy("a group of fields"),
    "array": gettext_lazy("a list"),
    "null": gettext_lazy("no value"),
}
FORMAT_NAMES = {
    "date": gettext_lazy("date (YYYY-MM-DD)"),
    "date-time": gettext_lazy("date and time"),
    "email": gettext_lazy("email address"),
    "uuid": gettext_lazy("identifier (UUID)"),
    "ipv4": gettext_lazy("IPv4 address"),
    "ipv6": gettext_lazy("IPv6 address"),
}


def _join(path: Any) -> str:
    return ".".join(str(part) for part in path)


def _child(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _extra_properties(error: SchemaValidationError) -> list[str]:
    """The property names an additional/unevaluatedProperties error is about."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "unevaluatedProperties":
        # What counts as evaluated depends on every applicator (allOf, if/then, $ref...);
        # jsonschema names the offending keys (repr-quoted) in its message.
        return [name for name in instance if repr(name) in error.message]
    schema = error.schema if isinstance(error.schema, dict) else {}
    declared = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        name
        for name in instance
        if name not in declared and not any(re.search(p, name) for p in patterns)
    ]


def _message(error: SchemaValidationError) -> str:
    keyword = error.validator
    value: Any = error.validator_value
    if keyword == "type":
        expected = value if isinstance(value, list) else [value]
        names = [str(TYPE_NAMES.get(t, t)) for t in expected]
        return _("Wrong type: expected %(expected)s.") % {"expected": _(" or ").join(names)}
    if keyword == "format":
        return _("Enter a valid %(format)s.") % {"format": FORMAT_NAMES.get(value, value)}
    if keyword == "enum":
        return _("Choose one of: %(choices)s.") % {"choices": ", ".join(map(str, value))}
    if keyword == "const":
        return _("This value must be %(value)s.") % {"value": value}
    if keyword == "minLength":
        return ngettext(
            "Enter at least %(limit)d character.", "Enter at least %(limit)d characters.", value
        ) % {"limit": value}
    if keyword == "maxLength":
        return ngettext(
            "Enter at most %(limit)d character.", "Enter at most %(limit)d characters.", value
        ) % {"limit": value}
    if keyword == "minimum":
        return _("Enter a value greater than or equal to %(limit)s.") % {"limit": value}
    if keyword == "maximum":
        return _("Enter a value less than or equal to %(limit)s.") % {"limit": value}
    if keyword == "exclusiveMinimum":
        return _("Enter a value greater than %(limit)s.") % {"limit": value}
    if keyword == "exclusiveMaximum":
        return _("Enter a value less than %(limit)s.") % {"limit": value}
    if keyword == "multipleOf":
        return _("Enter a multiple of %(step)s.") % {"step": value}
    if keyword == "pattern":
        return _("This value does not have the expected format.")
    if keyword == "minItems":
        return ngettext(
            "Give at least %(limit)d item.", "Give at least %(limit)d items.", value
        ) % {"limit": value}
    if keyword == "maxItems":
        return ngettext("Give at most %(limit)d item.", "Give at most %(limit)d items.", value) % {
            "limit": value
        }
    if keyword == "uniqueItems":
        return _("Each item must be different.")
    return _("This value is not valid.")


def _field_errors(error: SchemaValidationError) -> Iterator[tuple[str, str]]:
    """``(field path, message)`` pairs for one jsonschema error."""
    path = _join(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        for name in error.validator_value:
            if name not in instance:
                yield _child(path, name), _("This field is required.")
        return
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        extras = _extra_properties(error)
        if extras:
            for name in extras:
                yield _child(path, name), _("This field is not part of the form.")
            return
    yield path or NON_FIELD_ERRORS, _message(error)


def form_data_errors(service: Service, data: Any) -> dict[str, list[str]]:
    """Field-level problems of ``data`` against ``service.form_schema``; ``{}`` when valid.

    Keys are dotted paths into the answers (``"name"``, ``"birth.date"``, ``"children.0.name"``);
    problems of the whole form are under ``"non_field_errors"``. Messages follow the active
    language. Only local references are followed (the registry has no way to fetch).
    """
    if not isinstance(data, dict):
        return {NON_FIELD_ERRORS: [_("The answers must be a JSON object.")]}
    validator = Draft202012Validator(
        service.form_schema, format_checker=FORMAT_CHECKER, registry=Registry()
    )
    errors: dict[str, list[str]] = {}
    ordered = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in ordered:
        for field, message in _field_errors(error):
            messages = errors.setdefault(field, [])
            if message not in messages:
                messages.append(message)
    return errors
