"""OpenAPI links: which operation can follow which, with the values it takes from the answer.

They document the workflow for partners (create a draft → attach → submit → take → decide)
and let a stateful fuzzer (``make fuzz``) chain real calls: the id of the created application
feeds the next operations, its ``ETag`` their ``If-Match``. A link is published only when both
operations are in the schema being generated (agency or public host).
"""

from __future__ import annotations

from typing import Any

APPLICATION_ID = {"id": "$response.body#/id"}
SAME_APPLICATION = {"id": "$request.path.id"}
WITH_ETAG = {**APPLICATION_ID, "header.If-Match": "$response.header.ETag"}
STAFF_DECISIONS = {
    "Approve": ("staff_applications_approve", WITH_ETAG),
    "Reject": ("staff_applications_reject", WITH_ETAG),
    "RequestInfo": ("staff_applications_request_info", WITH_ETAG),
    "AddNote": ("staff_applications_notes_create", APPLICATION_ID),
}

# (operationId, status) -> {link name: (target operationId, parameters)}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("applications_create", "201"): {
        "Retrieve": ("applications_retrieve", APPLICATION_ID),
        "UpdateForm": ("applications_update_form", WITH_ETAG),
        "Attach": ("applications_attachments_create", WITH_ETAG),
        "Submit": ("applications_submit", WITH_ETAG),
        "Withdraw": ("applications_withdraw", WITH_ETAG),
    },
    ("applications_attachments_create", "201"): {
        "Submit": ("applications_submit", SAME_APPLICATION),
        "Download": (
            "applications_attachments_download",
            {**SAME_APPLICATION, "attachment_pk": "$response.body#/id"},
        ),
    },
    ("applications_submit", "200"): {
        "Take": ("staff_applications_take", WITH_ETAG),
        "Assign": ("staff_applications_assign", WITH_ETAG),
        "StaffRetrieve": ("staff_applications_retrieve", APPLICATION_ID),
    },
    ("applications_answer_info", "200"): {"Take": ("staff_applications_take", WITH_ETAG)},
    ("staff_applications_take", "200"): STAFF_DECISIONS,
    ("staff_applications_assign", "200"): STAFF_DECISIONS,
    ("staff_applications_request_info", "200"): {
        "AnswerInfo": ("applications_answer_info", WITH_ETAG),
    },
    ("staff_applications_approve", "200"): {
        "Close": ("staff_applications_close", WITH_ETAG),
        "Certificates": ("certificates_list", {}),
    },
    ("staff_applications_reject", "200"): {"Close": ("staff_applications_close", WITH_ETAG)},
    ("webhooks_subscriptions_create", "201"): {
        "Retrieve": ("webhooks_subscriptions_retrieve", APPLICATION_ID),
        "Deliveries": ("webhooks_subscriptions_deliveries", APPLICATION_ID),
        "RotateSecret": ("webhooks_subscriptions_rotate_secret", APPLICATION_ID),
        "Delete": ("webhooks_subscriptions_delete", APPLICATION_ID),
    },
    ("platform_agencies_create", "201"): {
        "Retrieve": ("platform_agencies_retrieve", {"slug": "$response.body#/slug"}),
        "Deactivate": ("platform_agencies_deactivate", {"slug": "$response.body#/slug"}),
    },
    ("platform_agencies_deactivate", "200"): {
        "Activate": ("platform_agencies_activate", {"slug": "$request.path.slug"}),
    },
}


def links_hook(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add ``LINKS`` to the responses of the operations present in ``result``."""
    operations: dict[str, dict[str, Any]] = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status), links in LINKS.items():
        response = operations.get(source, {}).get("responses", {}).get(status)
        if response is None:
            continue
        declared = {
            name: {"operationId": target, "parameters": dict(parameters)}
            for name, (target, parameters) in links.items()
            if target in operations and _has_parameters(operations[target], parameters)
        }
        if declared:
            response["links"] = declared
    return result


def _has_parameters(operation: dict[str, Any], parameters: dict[str, str]) -> bool:
    names = {parameter["name"] for parameter in operation.get("parameters", [])}
    return all(name.split(".", 1)[-1] in names for name in parameters)
