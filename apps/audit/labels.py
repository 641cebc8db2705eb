"""Human names of audit actions, actor kinds and roles, resolved at read time.

The chain stores stable codes (``application.submitted``); the console, the CSV export and the
timelines show these labels instead (French first). An unknown code is shown as it is, so a new
action is never hidden, only not yet translated.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, object] = {
    # Applications
    "application.created": _("Draft created"),
    "application.form_updated": _("Answers changed"),
    "application.submitted": _("Application submitted"),
    "application.withdrawn": _("Withdrawn by the citizen"),
    "application.taken": _("Taken by an agent"),
    "application.assigned": _("Assigned"),
    "application.reassigned": _("Reassigned"),
    "application.info_requested": _("Information requested (clock stopped)"),
    "application.info_answered": _("Citizen answered (clock resumed)"),
    "application.approved": _("Approved"),
    "application.rejected": _("Rejected"),
    "application.closed": _("Closed"),
    "application.overdue_flagged": _("Deadline passed"),
    "application.viewed": _("File consulted"),
    "application.note_added": _("Internal note added"),
    "application.attachment_added": _("Document added"),
    "application.attachment_removed": _("Document removed"),
    "application.attachment_downloaded": _("Document downloaded"),
    "applications.reference_prefix_set": _("Reference prefix changed"),
    "applications.statistics_exported": _("Statistics exported"),
    # Certificates
    "certificate.issued": _("Certificate issued"),
    "certificate.revoked": _("Certificate revoked"),
    "certificate.orphan_deleted": _("Unused certificate file deleted"),
    # People and access
    "auth.login": _("Signed in"),
    "auth.logout": _("Signed out"),
    "auth.lockout": _("Account locked after failed sign-ins"),
    "auth.partner_token": _("Partner token issued"),
    "auth.console_token": _("Live queue token issued (console)"),
    "auth.refresh_family_revoked": _("Sessions revoked (reused token)"),
    "access.cross_agency_denied": _("Access to another agency refused"),
    "user.registered": _("Account created"),
    "user.profile_updated": _("Profile changed"),
    "user.password_changed": _("Password changed"),
    "user.deactivated": _("Account deactivated"),
    "membership.granted": _("Role granted"),
    "partner_client.created": _("Partner client created"),
    "partner_client.revoked": _("Partner client revoked"),
    "partner_client.secret_rotated": _("Partner secret renewed"),
    # Agency configuration
    "agency.created": _("Agency created"),
    "agency.activated": _("Agency activated"),
    "agency.restored": _("Agency restored"),
    "service.created": _("Service created"),
    "service.updated": _("Service changed"),
    "service.published": _("Service published"),
    "holiday.created": _("Public holiday added"),
    "holiday.updated": _("Public holiday changed"),
    "holiday.deleted": _("Public holiday deleted"),
    "webhook.subscription_created": _("Webhook subscription created"),
    "webhook.subscription_deactivated": _("Webhook subscription deactivated"),
    "webhook.secret_rotated": _("Webhook secret renewed"),
    # Operations
    "keys.rotated": _("Signing key rotated"),
    "keys.retired": _("Signing key retired"),
    "keys.revoked": _("Signing key revoked"),
    "outbox.dead_lettered": _("Message abandoned after retries"),
    "outbox.outcome_unknown": _("Message outcome unknown"),
    "outbox.requeued": _("Message sent again"),
    "audit.exported": _("Audit trail exported (signed JSON Lines)"),
    "audit.exported_csv": _("Audit trail exported (CSV)"),
    # Added with invitations, the second factor, certificate documents and payments
    "application.fee_exempted": _("Fee exempted"),
    "application.payment_confirmed": _("Fee paid (handed to the agency)"),
    "certificate.resigned": _("Certificate signed again"),
    "certificates.settings_changed": _("Certificate settings changed"),
    "service.document_defined": _("Certificate layout of the service changed"),
    "invitation.created": _("Invitation sent"),
    "invitation.accepted": _("Invitation accepted"),
    "invitation.revoked": _("Invitation withdrawn"),
    "membership.ended": _("Membership ended"),
    "membership.reactivated": _("Membership reactivated"),
    "membership.role_changed": _("Role changed"),
    "membership.suspended": _("Membership suspended"),
    "mfa.enrolled": _("Authenticator enrolled"),
    "mfa.failed": _("Wrong second-factor code"),
    "mfa.locked": _("Second factor locked after wrong codes"),
    "mfa.passkey_added": _("Passkey added"),
    "mfa.recovery_code_used": _("Recovery code used"),
    "mfa.recovery_codes_regenerated": _("New recovery codes"),
    "mfa.reset": _("Second factor reset"),
    "payment.started": _("Payment started"),
    "payment.pending": _("Payment pending"),
    "payment.succeeded": _("Payment received"),
    "payment.paid_twice": _("Second payment received (refunded)"),
    "payment.refund_requested": _("Refund requested"),
    "payment.refunded": _("Payment refunded"),
    "payment.refund_failed": _("Refund failed"),
    "payment.fee_exempted": _("Fee exemption granted"),
    "payment.exemption_category_saved": _("Exemption category saved"),
    "payment.policy_changed": _("Payment policy changed"),
    "payment.export": _("Payments exported (CSV)"),
    "payment.report_exported": _("Reconciliation report exported"),
    "user.password_reset": _("Password reset"),
    "user.password_reset_forced": _("Password reset required by an administrator"),
    "user.password_reset_requested": _("Password reset requested"),
    "core.schema_probe": _("Readiness probe"),
}

ACTOR_TYPE_LABELS: dict[str, object] = {
    "anonymous": _("anonymous"),
    "user": _("person"),
    "partner": _("partner"),
    "system": _("system"),
}

ROLE_LABELS: dict[str, object] = {
    "citizen": _("citizen"),
    "agent": _("agent"),
    "supervisor": _("supervisor"),
    "agency_admin": _("agency administrator"),
    "auditor": _("auditor"),
    "platform_admin": _("platform administrator"),
    "partner": _("partner"),
}


def action_label(code: str) -> str:
    """The human name of an audit action (``<model>.admin_changed`` and unknown codes too)."""
    label = ACTION_LABELS.get(code)
    if label is not None:
        return str(label)
    for suffix, generic in (
        (".admin_added", _("added in the console")),
        (".admin_changed", _("changed in the console")),
        (".admin_deleted", _("deleted in the console")),
    ):
        if code.endswith(suffix):
            return f"{code.removesuffix(suffix)} — {generic}"
    return code


def role_label(role: str) -> str:
    """The human name of a role (empty stays empty, unknown stays as it is)."""
    if not role:
        return ""
    label = ROLE_LABELS.get(role)
    return str(label) if label is not None else role


def actor_type_label(actor_type: str) -> str:
    """The human name of a kind of actor."""
    label = ACTOR_TYPE_LABELS.get(actor_type)
    return str(label) if label is not None else actor_type
