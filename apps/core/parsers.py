"""Request body parsers: every input is checked once here, before any serializer sees it.

The API's only parsers (``DEFAULT_PARSER_CLASSES`` and the authentication views) refuse what no
field may hold, so no endpoint has to remember it:

* JSON nested deeper than ``API_JSON_MAX_DEPTH`` (400 ``json_too_deep``): the serializers, the
  JSON Schema validation of form answers and the error flattening all recurse, so a body nested
  thousands of levels deep would end in ``RecursionError`` (a 500) somewhere past the parser;
* NUL characters and lone UTF-16 surrogates in any key or string (400 ``invalid_character``):
  PostgreSQL refuses NUL in ``text`` and ``jsonb``, and a lone surrogate cannot be encoded as
  UTF-8, neither for the database nor for the JSON of an error that echoes it.

JSON is read with orjson (strict UTF-8, no ``NaN``; it refuses lone surrogates itself, escaped
or not, and raw control characters). The checks are nearly free on ordinary bodies: a NUL can
only be written as a ``\\u`` escape in valid JSON, and a body with fewer brackets than the depth
limit cannot be too deep, so the parsed value is walked only when the raw bytes make it possible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from apps.core.errors import InvalidInput

# NUL, and every UTF-16 surrogate: in a Python str they can only be unpaired (orjson joins a
# valid pair into one code point).
FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class JSONTooDeep(InvalidInput):
    """The JSON body is nested deeper than ``API_JSON_MAX_DEPTH`` (400)."""

    code = "json_too_deep"


class InvalidCharacter(InvalidInput):
    """A key or string holds a NUL character or a lone surrogate (400)."""

    code = "invalid_character"


def _too_deep(limit: int) -> JSONTooDeep:
    return JSONTooDeep(
        _("The JSON body is nested more than %(limit)d levels deep.") % {"limit": limit}
    )


def _invalid_character(path: str) -> InvalidCharacter:
    message = _("This text holds a NUL character or an unpaired surrogate, which are not accepted.")
    return InvalidCharacter(
        _("The request holds a character that is not accepted (NUL or an unpaired surrogate)."),
        errors={path or "non_field_errors": [message]},
    )


def has_forbidden_character(text: str) -> bool:
    """True when ``text`` holds a NUL character or a lone surrogate."""
    return FORBIDDEN_CHARACTERS.search(text) is not None


def check_value(value: Any, *, max_depth: int, check_depth: bool, check_text: bool) -> None:
    """Walk a parsed JSON value (without recursion) and refuse it as the module says."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if check_depth and depth > max_depth:
                raise _too_deep(max_depth)
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if check_text and has_forbidden_character(key):
                    raise _invalid_character(path)
                stack.append((child, depth + 1, child_path))
        elif isinstance(item, list):
            if check_depth and depth > max_depth:
                raise _too_deep(max_depth)
            stack.extend(
                (child, depth + 1, f"{path}.{index}" if path else str(index))
                for index, child in enumerate(item)
            )
        elif check_text and isinstance(item, str) and has_forbidden_character(item):
            raise _invalid_character(path)


def _safe_path(path: str) -> str:
    # A field path is echoed in ``errors``: never echo the character that was refused.
    return FORBIDDEN_CHARACTERS.sub("\ufffd", path)


def check_json_bytes(raw: bytes, value: Any) -> None:
    """Refuse a parsed JSON body that is too deep or holds forbidden characters."""
    max_depth = int(settings.API_JSON_MAX_DEPTH)
    check_depth = raw.count(b"[") + raw.count(b"{") > max_depth
    check_text = b"\\u" in raw
    if check_depth or check_text:
        try:
            check_value(value, max_depth=max_depth, check_depth=check_depth, check_text=check_text)
        except InvalidCharacter as exc:
            exc.errors = {_safe_path(k): v for k, v in (exc.errors or {}).items()}
            raise


def check_form_fields(fields: Iterable[tuple[str, Any]]) -> None:
    """Refuse form fields (names or text values) holding forbidden characters."""
    for name, value in fields:
        if has_forbidden_character(name):
            raise _invalid_character("")
        if isinstance(value, str) and has_forbidden_character(value):
            raise _invalid_character(_safe_path(name))


class JSONParser(parsers.JSONParser):
    """``application/json`` with orjson, a depth bound and the character checks."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read()
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            reason = str(exc)  # orjson's reasons: it refuses lone surrogates and depth > 1024
            if "surrogate" in reason and "UTF-8" not in reason:  # an escaped lone surrogate
                raise _invalid_character("") from None
            if "depth limit" in reason:
                raise _too_deep(int(settings.API_JSON_MAX_DEPTH)) from None
            raise ParseError(_("The JSON body is not valid.")) from None
        check_json_bytes(raw, value)
        return value


class FormParser(parsers.FormParser):
    """``application/x-www-form-urlencoded`` with the character checks."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        check_form_fields(_items(data))
        return data


class MultiPartParser(parsers.MultiPartParser):
    """``multipart/form-data`` with the character checks on its fields (files are checked by
    their own rules: apps/applications/attachments.py)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        result = super().parse(stream, media_type, parser_context)
        check_form_fields(_items(result.data))
        check_form_fields((name, "") for name in result.files)
        return result


def _items(data: Any) -> Iterable[tuple[str, Any]]:
    for name, values in data.lists():
        for value in values:
            yield name, value
