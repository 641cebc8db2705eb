"""Users, agency memberships and partner clients (public schema)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


class Language(models.TextChoices):
    """Languages a person can choose."""

    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


class UserQuerySet(models.QuerySet["User"]):
    """Users; a bulk ``update()`` that deactivates people ends their sessions at once."""

    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update``; when it may set ``is_active`` to false (a literal false or an
        expression, as ``bulk_update`` sends), the people it deactivates have their tokens
        revoked once the transaction commits (``apps.accounts.revocations``)."""
        if "is_active" not in kwargs or kwargs["is_active"] is True:
            return super().update(**kwargs)
        from apps.accounts.revocations import revoke_on_commit

        active = list(self.filter(is_active=True).values_list("pk", flat=True))
        updated = super().update(**kwargs)
        if active:
            still_active = set(
                self.model._default_manager.filter(pk__in=active, is_active=True).values_list(
                    "pk", flat=True
                )
            )
            revoke_on_commit([pk for pk in active if pk not in still_active])
        return updated


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Creates users identified by email and/or phone."""

    use_in_migrations = True

    def create_user(
        self,
        email: str | None = None,
        password: str | None = None,
        **extra: Any,
    ) -> User:
        """A user with an unusable password unless one is given."""
        user = self.model(email=self.normalize_email(email) or None, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str, **extra: Any) -> User:
        """A platform administrator."""
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email=email, password=password, **extra)

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The canonical form of the address (``identifiers.canonical_email``)."""
        from apps.accounts.identifiers import canonical_email

        return canonical_email(email or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person: one identity across every agency (citizen, civil servant or both).

    ``is_superuser`` marks a platform administrator. Civil servants get their agency role from
    ``Membership``, never from this row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored in canonical form (save(): identifiers.canonical_email), so a plain unique index
    # is enough; the skeleton, unique too, refuses addresses that only look alike.
    email = models.EmailField(_("email address"), null=True, blank=True, unique=True)
    email_skeleton = models.CharField(
        _("email skeleton"), max_length=254, null=True, blank=True, unique=True, editable=False
    )
    # NULL rather than "" so the unique index admits many accounts without a phone.
    phone = models.CharField(  # noqa: DJ001
        _("phone number (E.164)"), max_length=16, null=True, blank=True
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Set when the person proves they receive mail / texts there (a one-time code, otp.py).
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)

    objects = UserManager()
    _loaded_is_active: bool | None = None

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # Personal data: names and contact details never appear in audit values.
    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"email", "phone", "first_name", "last_name", "password"}
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="accounts_user_phone_unique"),
            models.CheckConstraint(
                condition=models.Q(email__isnull=False) | models.Q(phone__isnull=False),
                name="accounts_user_has_email_or_phone",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> User:
        """Remember whether the row was active, so ``save()`` sees a deactivation."""
        instance = super().from_db(*args, **kwargs)
        instance._loaded_is_active = instance.__dict__.get("is_active")
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save the e-mail address in canonical form with its skeleton; deactivating a person
        ends their sessions once the transaction commits, whoever saves (console, service,
        command, shell)."""
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "email" in update_fields:
            from apps.accounts.identifiers import canonical_email, email_skeleton

            self.email = canonical_email(self.email) if self.email else None
            self.email_skeleton = email_skeleton(self.email) if self.email else None
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "email_skeleton"}
        watched = update_fields is None or "is_active" in update_fields
        was_active = getattr(self, "_loaded_is_active", None)
        super().save(*args, **kwargs)
        if watched:
            if was_active and not self.is_active:
                from apps.accounts.revocations import revoke_on_commit

                revoke_on_commit([self.pk])
            self._loaded_is_active = self.is_active

    def get_full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        """First name."""
        return self.first_name


class Role(models.TextChoices):
    """A civil servant's role in one agency."""

    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENCY_ADMIN = "agency_admin", _("Agency administrator")
    AUDITOR = "auditor", _("Auditor")


class Membership(models.Model):
    """A civil servant's role in one agency; tokens of staff are bound to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Inactive with ``ended_at`` unset: suspended (can be reactivated); with it: ended.
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="accounts_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role}@{self.agency_id}"

    @property
    def status(self) -> str:
        """``active``, ``suspended`` or ``ended``."""
        if self.is_active:
            return "active"
        return "ended" if self.ended_at is not None else "suspended"


class PartnerScope(models.TextChoices):
    """What a partner token may be granted; ``partner_with_scope`` checks these values."""

    CATALOGUE_READ = "catalogue:read", _("read the service catalogue")
    CERTIFICATES_VERIFY = "certificates:verify", _("verify certificates")
    APPLICATIONS_SUBMIT = "applications:submit", _("submit applications for citizens")
    APPLICATIONS_READ = "applications:read", _("read the applications it submitted")
    WEBHOOKS_MANAGE = "webhooks:manage", _("manage its webhooks")


def partner_client_id_new() -> str:
    """A fresh public client id (``pc_`` + 16 hex digits)."""
    return f"pc_{secrets.token_hex(8)}"


class PartnerClient(models.Model):
    """A machine client of a partner (bank, ministry, integrator) using client credentials.

    Owned by one agency (``agency``: whose admins manage it) and granted scopes there
    (``PartnerGrant``). Its secrets are ``PartnerSecret`` rows, stored hashed; revoking the
    client (``is_active`` false, ``revoked_at``) ends its tokens at once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(
        _("client id"), max_length=64, unique=True, default=partner_client_id_new, editable=False
    )
    name = models.CharField(_("name"), max_length=200)
    agency = models.ForeignKey(
        "agencies.Agency",
        # Not CASCADE: the ORM would follow the client into tenant tables (webhook
        # subscriptions); the grant goes with the agency, so the client can do nothing left.
        on_delete=models.SET_NULL,
        related_name="partner_clients",
        verbose_name=_("agency"),
        null=True,
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner client")
        verbose_name_plural = _("partner clients")
        constraints = [
            # The console once saved clients with an empty id (the second one was a 500).
            models.CheckConstraint(
                condition=~models.Q(client_id=""), name="accounts_partnerclient_client_id_set"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PartnerSecret(models.Model):
    """One secret of a partner client, stored hashed (argon2).

    A rotation adds a secret and sets the previous one's ``expires_at`` to the end of the
    overlap window: both work until then. ``last_used_at`` tells whether the partner has
    switched to the new one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(PartnerClient, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(_("secret hash"), max_length=255)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner secret")
        verbose_name_plural = _("partner secrets")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.client_id} {self.created_at:%Y-%m-%d %H:%M}"


class PartnerGrant(models.Model):
    """The scopes a partner client holds in one agency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(PartnerClient, on_delete=models.CASCADE, related_name="grants")
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="partner_grants"
    )
    scopes = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta:
        verbose_name = _("partner grant")
        verbose_name_plural = _("partner grants")
        constraints = [
            models.UniqueConstraint(fields=["client", "agency"], name="accounts_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}@{self.agency_id}: {' '.join(self.scopes)}"


class RefreshTokenRecord(models.Model):
    """What simplejwt's blacklist does not keep about a refresh token (public schema).

    ``family`` is the ``fam`` claim, drawn at sign-in and kept by every rotation, so that a
    rotated-out token presented again revokes every token descended from the same sign-in
    (RFC 9700 refresh-token reuse detection). ``access_jti`` / ``access_expires_at`` name the
    access token issued with it, denied in the hot-key store when the family is revoked.
    ``rotated_at`` is set when the token was exchanged for a new pair.
    """

    outstanding = models.OneToOneField(
        OutstandingToken, on_delete=models.CASCADE, primary_key=True, related_name="record"
    )
    family = models.UUIDField(_("family"), db_index=True)
    access_jti = models.CharField(_("access token id"), max_length=255)
    access_expires_at = models.DateTimeField(_("access token expires at"))
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresh token record")
        verbose_name_plural = _("refresh token records")

    def __str__(self) -> str:
        return f"{self.outstanding_id} ({self.family})"


class UserRevocation(models.Model):
    """A person deactivated or deleted, by whatever path (public schema).

    Rows are written by a PostgreSQL trigger on ``accounts_user`` (migration 0004), so a change
    made with SQL counts as much as one made in the console; the authentication layer reads the
    recent ones every few seconds (``apps.accounts.revocations``). Not a foreign key: the row
    must outlive a deleted person. The trigger drops rows older than a week.
    """

    user_id = models.UUIDField(_("user id"))
    revoked_at = models.DateTimeField(_("revoked at"), db_index=True)

    class Meta:
        verbose_name = _("user revocation")
        verbose_name_plural = _("user revocations")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.revoked_at:%Y-%m-%d %H:%M:%S}"


class KeyKind(models.TextChoices):
    """What a key of the key ring signs."""

    JWT = "jwt", _("access and refresh tokens")


class KeyStatus(models.TextChoices):
    """Where a key is in its life: signing, only verifying, or retired for good."""

    ACTIVE = "active", _("active")
    VERIFYING = "verifying", _("verifying only")
    RETIRED = "retired", _("retired")


class SigningKey(models.Model):
    """One asymmetric key of the key ring (public schema), with its history.

    Exactly one key per kind is ``active`` (it signs). A rotation demotes it to ``verifying``
    until ``verify_until`` (its last token has expired by then), after which it verifies
    nothing and is marked ``retired``. The private key is stored encrypted under
    ``KEYRING_ENCRYPTION_KEY`` (``apps.accounts.keyring``); the public key is published.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=KeyKind.choices)
    kid = models.CharField(_("key id"), max_length=64, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=16)
    public_key = models.TextField(_("public key (PEM)"))
    private_key_encrypted = models.TextField(_("private key (encrypted)"))
    status = models.CharField(_("status"), max_length=16, choices=KeyStatus.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    verify_until = models.DateTimeField(_("verifies until"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(status="active"),
                name="accounts_signingkey_one_active",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="verifying") | models.Q(verify_until__isnull=False),
                name="accounts_signingkey_verifying_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.status})"


class Invitation(models.Model):
    """An invitation of a civil servant into a role of one agency (public schema).

    Sent by e-mail or SMS as a link holding a random token; only the token's SHA-256 is
    stored (``token_hash``), so the database never holds a usable link. Single use
    (``accepted_at``), expiring (``expires_at``), revocable (``revoked_at``); a new invitation
    to the same address in the same agency revokes the open one. Accepting it creates the
    person if needed, sets their password and grants the membership
    (``apps.accounts.invitations``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("agency"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    email = models.EmailField(_("email address"), null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(  # noqa: DJ001
        _("phone number (E.164)"), max_length=16, null=True, blank=True
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("person"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"email", "phone"})

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email__isnull=False) | models.Q(phone__isnull=False),
                name="accounts_invitation_has_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}@{self.agency_id} ({self.id})"

    @property
    def status(self) -> str:
        """``accepted``, ``revoked``, ``expired`` or ``pending``."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ContactChange(models.Model):
    """A confirmed change of a person's e-mail address or phone number (public schema).

    Kept so that the notice to the *old* address, sent through the outbox after the change,
    knows where to go (outbox payloads hold ids, never addresses).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="contact_changes")
    channel = models.CharField(_("channel"), max_length=8)
    old_address = models.CharField(_("old address"), max_length=254, null=True, blank=True)  # noqa: DJ001
    new_address = models.CharField(_("new address"), max_length=254)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact change")
        verbose_name_plural = _("contact changes")

    def __str__(self) -> str:
        return f"{self.user_id} {self.channel} @ {self.changed_at:%Y-%m-%d %H:%M}"
