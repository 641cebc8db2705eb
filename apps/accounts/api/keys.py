"""The public keys that verify Guichet's tokens, as a JWKS (RFC 7517), for partners and
gateways. No authentication; cacheable."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.keyring import keyring_jwks

# Gateways re-read the set when a token names a kid they do not know, so a short cache is
# enough for a new key; a demoted key stays in the set until its last token expires.
JWKS_MAX_AGE_SECONDS = 300

JwksOutputSerializer = inline_serializer(
    name="JwksOutput",
    fields={
        "keys": serializers.ListField(
            child=serializers.DictField(),
            help_text="Keys that verify tokens now: the signing key and demoted keys whose "
            "tokens have not all expired yet.",
        )
    },
)


class JwksView(APIView):
    """``GET /.well-known/jwks.json``."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="jwks",
        summary=_("Public keys of the token signatures (JWKS)"),
        description="Ed25519 keys (`kty` OKP, `alg` EdDSA) that verify access and refresh "
        "tokens, each named by the `kid` that tokens carry in their header. Served on the "
        "public host and every agency host, without authentication; cache it for at most "
        "five minutes and fetch it again when a token names an unknown `kid`.",
        tags=["auth"],
        auth=[],
        responses={200: JwksOutputSerializer},
        examples=[
            OpenApiExample(
                "One signing key",
                value={
                    "keys": [
                        {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                            "kid": "jwt-20261201-3f9a1c2e",
                            "alg": "EdDSA",
                            "use": "sig",
                        }
                    ]
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        """The key set."""
        response = Response(keyring_jwks())
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
        return response
