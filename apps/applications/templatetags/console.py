"""``{% console_dashboard %}``: the console's home page for the signed-in member's role.

Agents see their own files; supervisors and agency administrators the agency's backlog,
deadlines, processing time and 12-week trend; auditors a way into the audit trail. On the
platform host nothing is added (the platform console keeps its index).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts.admin_site import console_role
from apps.accounts.models import Role
from apps.applications.console import charts, dashboard
from apps.applications.workflow import Status

register = template.Library()

QUEUE = "admin:applications_application_changelist"


@register.inclusion_tag("admin/console/dashboard.html", takes_context=True)
def console_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    """The figures and links of the home page (nothing on the platform host)."""
    request = context.get("request")
    role = console_role(request) if request is not None else None
    if request is None or role is None:
        return {"role": None}
    queue = reverse(QUEUE)
    result: dict[str, Any] = {"role": role, "queue": queue, "request": request}
    if role == Role.AGENT:
        result["counts"] = dashboard.agent_counts(user_id=request.user.pk)
        result["my_files"] = dashboard.my_next_files(user_id=request.user.pk)
        result["links"] = {
            "open": f"{queue}?assigned=me&state=open",
            "overdue": f"{queue}?assigned=me&overdue=yes",
            "soon": f"{queue}?assigned=me&overdue=soon",
            "waiting": f"{queue}?assigned=me&overdue=waiting",
            "unassigned": f"{queue}?assigned=none&status={Status.SUBMITTED}",
        }
        return result
    if role in (Role.SUPERVISOR, Role.AGENCY_ADMIN):
        statuses, backlog = dashboard.agency_backlog()
        weeks = dashboard.weekly_trend()
        labels = [week.start.strftime("%d/%m") for week in weeks]
        result.update(
            counts=dashboard.agency_counts(),
            statuses=[(value, Status(value).label) for value in statuses],
            backlog=[
                (row.service, [row.by_status.get(value, 0) for value in statuses], row.total)
                for row in backlog
            ],
            processing=dashboard.processing_time(),
            weeks=weeks,
            week_labels=labels,
            chart=charts.bar_chart(
                title=_("Submitted and decided applications per week (12 weeks)"),
                labels=labels,
                series=[
                    charts.Series(_("Submissions"), [week.submitted for week in weeks]),
                    charts.Series(_("Decisions"), [week.decided for week in weeks]),
                ],
            ),
            colours=charts.SERIES_COLOURS,
            links={
                "open": f"{queue}?assigned=all&state=open",
                "overdue": f"{queue}?assigned=all&overdue=yes",
                "soon": f"{queue}?assigned=all&overdue=soon",
                "waiting": f"{queue}?assigned=all&overdue=waiting",
                "unassigned": f"{queue}?assigned=none&state=open",
            },
            stats_url=reverse("admin:applications_application_statistics"),
        )
        return result
    result["audit_url"] = reverse("admin:audit_auditevent_changelist")
    return result


@register.simple_tag(takes_context=True)
def console_home_title(context: dict[str, Any]) -> str:
    """ "Tableau de bord" for a member of the agency, the site's own title elsewhere."""
    request = context.get("request")
    if request is not None and console_role(request) is not None:
        return _("Dashboard")
    return str(context.get("title") or "")
