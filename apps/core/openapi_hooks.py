"""drf-spectacular hooks and extensions that make the published contract exact, centrally.

* path parameters are described by what they identify (``PATH_PARAMETERS``);
* every error response (4xx, 5xx) is ``application/problem+json`` with the ``Problem`` schema;
* every operation declares the statuses any operation can answer (shared responses under
  ``components/responses``): 401 bad credentials, 403 when it needs a permission, 404 when its
  path names an object, 400/413/415 when it reads a body, 406, 429 and 503;
* bodies of :class:`~apps.core.serializers.StrictInputSerializer` say
  ``additionalProperties: false`` (they refuse unknown fields);
* the ``Problem`` schema carries an example.

Registered in ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``; the extension registers itself
when this module is imported (``apps.core.apps.CoreConfig.ready``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension

# apps.core.exceptions.PROBLEM_CONTENT_TYPE (not imported: this module loads in AppConfig.ready,
# before DRF's settings can import the exception handler's dependencies).
PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# name -> (status, description) of the responses shared by every operation that can give them.
SHARED_RESPONSES: dict[str, tuple[str, Any]] = {
    "BadRequest": ("400", _("The body is not valid JSON or not valid input (see `errors`).")),
    "Unauthorized": (
        "401",
        _(
            "Missing, invalid, expired or revoked credentials, or a token of another agency "
            "(`not_authenticated`, `token_invalid`, `token_wrong_agency`)."
        ),
    ),
    "Forbidden": ("403", _("The caller is authenticated but not allowed (`permission_denied`).")),
    "NotFound": ("404", _("Nothing at this address for this caller (`not_found`).")),
    "PageNotFound": ("404", _("No such page of the list (`not_found`).")),
    "NotAcceptable": ("406", _("The `Accept` header asks for a format the API cannot give.")),
    "PayloadTooLarge": ("413", _("The body is larger than the platform accepts.")),
    "UnsupportedMediaType": (
        "415",
        _("The `Content-Type` is not one this operation reads (`unsupported_media_type`)."),
    ),
    "TooManyRequests": ("429", _("Too many requests: wait the seconds in `Retry-After`.")),
    "ServiceUnavailable": (
        "503",
        _(
            "A security check could not reach its store and refuses rather than guess "
            "(`service_unavailable`); retry later."
        ),
    ),
}

# Path parameters, by the path segment before them: what the value identifies.
PATH_PARAMETERS: dict[tuple[str, str], Any] = {
    ("applications", "id"): _("The application's identifier (UUID)."),
    ("attachments", "attachment_pk"): _("The attachment's identifier (UUID)."),
    ("certificates", "id"): _("The certificate's identifier (UUID)."),
    ("subscriptions", "id"): _("The webhook subscription's identifier (UUID)."),
    ("services", "code"): _("Code of the service in this agency (e.g. `acte-naissance`)."),
    ("verify", "code"): _("The verification code printed on the certificate."),
    ("agencies", "slug"): _("Slug of the agency (e.g. `etat-civil`)."),
    ("partner-clients", "id"): _("The partner client's identifier (UUID)."),
    ("people", "id"): _("The membership's identifier (UUID)."),
    ("invitations", "id"): _("The invitation's identifier (UUID)."),
}

# Success answers that say no more than their status.
SUCCESS_DESCRIPTIONS: dict[str, Any] = {
    "200": _("Done: the answer body is below."),
    "201": _("Created: the new resource is below."),
    "202": _("Accepted: it will be carried out shortly."),
    "204": _("Done; nothing to return."),
}

PROBLEM_EXAMPLE = {
    "type": "https://guichet.example/problems/validation_failed",
    "title": "Requête incorrecte",
    "status": 400,
    "detail": "Les données envoyées ne sont pas valides.",
    "code": "validation_failed",
    "request_id": "6f1c2b0e9d8a4c51a0b3e2d1c4f5a6b7",
    "errors": {"login": ["Ce champ est obligatoire."]},
}


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """Input serializers that refuse unknown fields are declared closed."""

    target_class = "apps.core.serializers.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


def _operations(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, item in result.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _requires_authentication(operation: dict[str, Any]) -> bool:
    security = operation.get("security") or []
    return bool(security) and {} not in security


def _shared_names(path: str, operation: dict[str, Any]) -> list[str]:
    names = ["Unauthorized", "NotAcceptable", "TooManyRequests", "ServiceUnavailable"]
    if _requires_authentication(operation):
        names.append("Forbidden")
    if "{" in path:
        names.append("NotFound")
    elif any(p.get("name") == "page" for p in operation.get("parameters", [])):
        names.append("PageNotFound")
    if "requestBody" in operation:
        names += ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType"]
    elif any(p.get("in") == "query" for p in operation.get("parameters", [])):
        names.append("BadRequest")
    return names


def _describe_path_parameters(path: str, operation: dict[str, Any]) -> None:
    segments = path.strip("/").split("/")
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path" or parameter.get("description"):
            continue
        position = segments.index("{" + parameter["name"] + "}")
        key = (segments[position - 1], parameter["name"])
        if key in PATH_PARAMETERS:
            parameter["description"] = PATH_PARAMETERS[key]


def problem_responses_hook(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Declare every error as a problem document and add the shared error responses."""
    components = result.setdefault("components", {})
    problem_schema = components.get("schemas", {}).get("Problem")
    if problem_schema is None:
        return result
    problem_schema["example"] = PROBLEM_EXAMPLE
    shared = components.setdefault("responses", {})
    for name, (_status, description) in SHARED_RESPONSES.items():
        shared[name] = {
            "description": description,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
        }
    for path, operation in _operations(result):
        responses = operation.setdefault("responses", {})
        _describe_path_parameters(path, operation)
        for status, response in responses.items():
            if status.isdigit() and int(status) >= 400 and "$ref" not in response:
                response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}
            elif not response.get("description") and status in SUCCESS_DESCRIPTIONS:
                response["description"] = SUCCESS_DESCRIPTIONS[status]
        for name in _shared_names(path, operation):
            status = SHARED_RESPONSES[name][0]
            responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})
        operation["responses"] = dict(sorted(responses.items()))
    return result
