"""Reads of the event log, for the hub, resuming subscriptions and the SSE stream."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Max, Min, Q

from apps.directory.selectors import application_entry_list_for_citizen
from apps.realtime.models import RealtimeEvent
from apps.realtime.protocol import Stream


@dataclass(frozen=True)
class StreamFilter:
    """Which events of the log one subscription receives.

    ``queue``: staff of ``agency``; ``applications``: the citizen's (``agency`` None on the
    public host: every agency); ``application``: one application of the citizen's.
    """

    stream: str
    user_id: UUID
    agency: str | None = None
    application_id: UUID | None = None

    def q(self) -> Q:
        """The filter as a query."""
        if self.stream == Stream.QUEUE:
            return Q(to_staff=True, agency_schema=self.agency)
        query = Q(to_citizen=True, citizen_id=self.user_id)
        if self.agency is not None:
            query &= Q(agency_schema=self.agency)
        if self.stream == Stream.APPLICATION:
            query &= Q(application_id=self.application_id)
        return query

    def accepts(self, event: RealtimeEvent) -> bool:
        """The same filter, on an event the hub has in memory."""
        if self.stream == Stream.QUEUE:
            return event.to_staff and event.agency_schema == self.agency
        if not event.to_citizen or event.citizen_id != self.user_id:
            return False
        if self.agency is not None and event.agency_schema != self.agency:
            return False
        return self.stream != Stream.APPLICATION or event.application_id == self.application_id

    @property
    def audience(self) -> str:
        """Whose payload the events get."""
        return "staff" if self.stream == Stream.QUEUE else "citizen"


def event_log_last_id() -> int:
    """The newest event id (0 when the log is empty)."""
    return int(RealtimeEvent.objects.aggregate(last=Max("id"))["last"] or 0)


def event_log_first_id() -> int:
    """The oldest event id still kept (0 when the log is empty)."""
    return int(RealtimeEvent.objects.aggregate(first=Min("id"))["first"] or 0)


def event_list_after(*, after: int, limit: int) -> list[RealtimeEvent]:
    """Events with an id above ``after``, oldest first."""
    return list(RealtimeEvent.objects.filter(id__gt=after).order_by("id")[:limit])


def event_list_for_stream(*, stream: StreamFilter, after: int, limit: int) -> list[RealtimeEvent]:
    """One stream's events with an id above ``after``, oldest first."""
    return list(RealtimeEvent.objects.filter(stream.q(), id__gt=after).order_by("id")[:limit])


def application_is_citizens(*, citizen_id: UUID, application_id: UUID, agency: str | None) -> bool:
    """Whether the application is the citizen's (in ``agency``, or any agency when None)."""
    entries = application_entry_list_for_citizen(citizen_id=citizen_id).filter(id=application_id)
    if agency is not None:
        entries = entries.filter(agency__schema_name=agency)
    return entries.exists()
