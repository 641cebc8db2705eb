"""The AsyncAPI 3.0 document of the gateway, built from ``apps.realtime.protocol``.

``manage.py realtime_asyncapi --file asyncapi.yml`` (run by ``make schema``) writes it; the
committed ``asyncapi.yml`` must equal what this module builds (``tests/realtime/
test_asyncapi.py``), so the document cannot drift from the code's message definitions.
The document is in English (the wire protocol's names and codes are not translated).
"""

from __future__ import annotations

from typing import Any

import yaml
from django.utils import translation

from apps.realtime.protocol import (
    CLOSE_CODE_DESCRIPTIONS,
    ERROR_CODES,
    EVENT_DATA_SCHEMA,
    FRAMES,
    SUBPROTOCOL,
    TOKEN_SUBPROTOCOL_PREFIX,
    CloseCode,
    Stream,
)


def _message_name(frame_type: str) -> str:
    return "".join(part.capitalize() for part in frame_type.split("_")) + "Frame"


def asyncapi_document() -> dict[str, Any]:
    """The document as a dict (ordered as it is written)."""
    with translation.override("en"):
        messages: dict[str, Any] = {}
        for frame in FRAMES:
            properties: dict[str, Any] = {"type": {"type": "string", "const": frame.type}}
            properties.update(frame.fields)
            messages[_message_name(frame.type)] = {
                "name": frame.type,
                "summary": frame.summary,
                "contentType": "application/json",
                "payload": {
                    "type": "object",
                    "required": ["type", *frame.required],
                    "properties": properties,
                },
            }
        close_codes = "\n".join(
            f"* `{int(code)}` {code.name.lower()}: {CLOSE_CODE_DESCRIPTIONS[code]}"
            for code in CloseCode
        )
        error_codes = "\n".join(f"* `{code}`: {detail}" for code, detail in ERROR_CODES.items())
        streams = ", ".join(f"`{stream}`" for stream in Stream.ALL)

        def refs(direction: str) -> list[dict[str, str]]:
            return [
                {"$ref": f"#/channels/gateway/messages/{_message_name(frame.type)}"}
                for frame in FRAMES
                if frame.direction == direction
            ]

        return {
            "asyncapi": "3.0.0",
            "info": {
                "title": "Guichet real-time gateway",
                "version": "1.0.0",
                "description": (
                    "Application events pushed to citizens and agency staff over WebSocket "
                    "(`/ws/v1/` on agency hosts and on the public host). The same events are "
                    "available as Server-Sent Events at `/api/v1/events/` (see schema.yml). "
                    "Client guide: docs/realtime.md.\n\n"
                    "Authentication: an access token of the platform, in the first frame "
                    f'(`{{"type": "auth", "token": ...}}`) or as the subprotocol '
                    f"`{TOKEN_SUBPROTOCOL_PREFIX}<token>` offered next to `{SUBPROTOCOL}` "
                    "(the server answers with "
                    f"`{SUBPROTOCOL}` only). Never in the URL. Staff tokens work only on "
                    "their agency's host, as in the REST API.\n\n"
                    f"Streams: {streams}. Every event carries a monotonic `id`; subscribe "
                    "with `since` = the last id seen to receive what was missed (kept 24 h), "
                    "then live events. Delivery is at least once: drop ids already seen.\n\n"
                    f"Close codes:\n{close_codes}\n\nError codes (error frames; the "
                    f"connection stays open):\n{error_codes}"
                ),
            },
            "defaultContentType": "application/json",
            "servers": {
                "agency": {
                    "host": "{agency}.{domain}",
                    "protocol": "wss",
                    "description": "An agency's host: staff queue, the citizen's applications "
                    "in this agency.",
                    "variables": {
                        "agency": {"default": "etat-civil"},
                        "domain": {"default": "localhost"},
                    },
                },
                "public": {
                    "host": "{domain}",
                    "protocol": "wss",
                    "description": "The public host: a citizen's applications in every agency.",
                    "variables": {"domain": {"default": "localhost"}},
                },
            },
            "channels": {
                "gateway": {
                    "address": "/ws/v1/",
                    "messages": messages,
                    "bindings": {
                        "ws": {
                            "headers": {
                                "type": "object",
                                "properties": {
                                    "Sec-WebSocket-Protocol": {
                                        "type": "string",
                                        "description": f"`{SUBPROTOCOL}`, optionally "
                                        f"`{TOKEN_SUBPROTOCOL_PREFIX}<access token>`.",
                                    },
                                    "Accept-Language": {
                                        "type": "string",
                                        "description": "fr (default) or en: the language of "
                                        "labels and error details.",
                                    },
                                },
                            }
                        }
                    },
                }
            },
            "operations": {
                "sendClientFrames": {
                    "action": "send",
                    "channel": {"$ref": "#/channels/gateway"},
                    "summary": "Frames the client sends.",
                    "messages": refs("client"),
                },
                "receiveServerFrames": {
                    "action": "receive",
                    "channel": {"$ref": "#/channels/gateway"},
                    "summary": "Frames the server sends.",
                    "messages": refs("server"),
                },
            },
            "components": {"schemas": {"EventData": EVENT_DATA_SCHEMA}},
        }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, and no YAML anchors (readable in review)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def asyncapi_yaml() -> str:
    """The document as the YAML committed in ``asyncapi.yml``."""
    header = "# Generated by `make schema` (manage.py realtime_asyncapi); do not edit by hand.\n"
    return header + yaml.dump(
        asyncapi_document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
