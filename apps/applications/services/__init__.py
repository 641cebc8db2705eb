"""Every write of applications. Import services from here.

``application_transition`` is the one function that changes an application's status; the others
create drafts, change answers and documents, add internal notes, record access events and flag
overdue applications.
"""

from apps.applications.services.access import (
    application_view_record,
    attachment_download_record,
    cross_agency_probe_record,
)
from apps.applications.services.attachments import attachment_add, attachment_remove
from apps.applications.services.drafts import application_create, application_form_update
from apps.applications.services.notes import application_note_add
from apps.applications.services.overdue import applications_flag_overdue
from apps.applications.services.transitions import (
    application_submit,
    application_transition,
)

__all__ = [
    "application_create",
    "application_form_update",
    "application_note_add",
    "application_submit",
    "application_transition",
    "application_view_record",
    "applications_flag_overdue",
    "attachment_add",
    "attachment_download_record",
    "attachment_remove",
    "cross_agency_probe_record",
]
