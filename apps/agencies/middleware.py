"""Resolve the agency from the request's host and switch the connection to its schema."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import set_urlconf
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_urlconf, remove_www

from apps.agencies.selectors import agency_for_host
from apps.core import outages
from apps.core.exceptions import problem_response
from apps.core.tenancy import activate_agency, activate_public, tenant_connection


def hostname_from_request(request: HttpRequest) -> str:
    """The request's host name without port, lowercased (``www.`` removed)."""
    return remove_www(request.get_host().split(":")[0]).lower()


class AgencyMiddleware:
    """Route public hosts to the public schema and agency hosts to their schema.

    Unknown hosts and deactivated agencies answer a 404 problem document: nothing of the agency,
    not even its admin console, is reachable while it is inactive. A database outage during
    the lookup answers 503 (``apps.core.outages``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        activate_public()
        host = hostname_from_request(request)
        if host in settings.GUICHET_PUBLIC_HOSTS:
            request.tenant = tenant_connection().tenant  # type: ignore[attr-defined]
            request.urlconf = get_public_schema_urlconf()
            set_urlconf(request.urlconf)
            return self.get_response(request)
        try:
            agency = agency_for_host(host)
        except (OperationalError, InterfaceError) as exc:
            # The first query of a request on an agency host: while PostgreSQL is down every
            # such request ends here, answered 503 database_unavailable (or the console's
            # maintenance page), not a 500.
            outage = outages.outage_for(exc)
            assert outage is not None
            outages.record(outage, exc)
            return outages.outage_response(request, outage)
        if agency is None or not agency.is_active:
            return problem_response(
                status=404, code="agency_not_found", detail=_("No agency answers at this address.")
            )
        request.tenant = agency  # type: ignore[attr-defined]
        activate_agency(agency)
        try:
            return self.get_response(request)
        finally:
            # Nothing that runs after the response (or on this connection next) may inherit
            # this agency's search_path by accident.
            activate_public()
