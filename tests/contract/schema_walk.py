"""Helpers walking a generated OpenAPI document (shared by the contract tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _properties(where: str, node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    for name, prop in (node.get("properties") or {}).items():
        yield f"{where}.{name}", prop
        yield from _properties(f"{where}.{name}", prop)
        yield from _properties(f"{where}.{name}[]", prop.get("items"))
    for key in ("allOf", "oneOf", "anyOf"):
        for index, part in enumerate(node.get(key) or []):
            yield from _properties(f"{where}.{key}[{index}]", part)
    if isinstance(node.get("items"), dict):
        yield from _properties(f"{where}[]", node["items"])


def undescribed(schema: dict[str, Any]) -> list[str]:
    """Every operation, parameter and schema property of ``schema`` without a description."""
    missing: list[str] = []
    for path, method, operation in operations(schema):
        name = f"{method.upper()} {path}"
        if not (operation.get("summary") or operation.get("description")):
            missing.append(f"operation {name}")
        for parameter in operation.get("parameters", []):
            if not parameter.get("description"):
                missing.append(f"parameter {parameter['name']} of {name}")
        for status, response in operation.get("responses", {}).items():
            if "$ref" not in response and not response.get("description"):
                missing.append(f"response {status} of {name}")
        for media in (operation.get("requestBody") or {}).get("content", {}).values():
            for where, prop in _properties(f"{name} body", media.get("schema")):
                if "$ref" not in prop and not prop.get("description"):
                    missing.append(f"property {where}")
        for status, response in operation.get("responses", {}).items():
            for media in response.get("content", {}).values():
                for where, prop in _properties(f"{name} {status}", media.get("schema")):
                    if "$ref" not in prop and not prop.get("description"):
                        missing.append(f"property {where}")
    for component, body in schema.get("components", {}).get("schemas", {}).items():
        for where, prop in _properties(component, body):
            # A property that is only a $ref (or allOf of one) takes the referenced description.
            if "$ref" in prop or ("allOf" in prop and len(prop) <= 2):
                continue
            if not prop.get("description"):
                missing.append(f"property {where}")
    return missing
