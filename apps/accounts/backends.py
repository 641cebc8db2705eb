"""Authentication backend: sign in with an email address or a phone number."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from apps.accounts.identifiers import normalize_login
from apps.accounts.models import User


class EmailOrPhoneBackend(ModelBackend):
    """Looks the person up by email or E.164 phone; constant work whether they exist or not."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        login = kwargs.get("login") or username or kwargs.get("email")
        if not login or password is None:
            return None
        try:
            field, value = normalize_login(str(login))
        except ValidationError:
            User().set_password(password)  # same hashing cost as a real attempt
            return None
        user = User.objects.filter(**{field: value}).first()
        if user is None:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
