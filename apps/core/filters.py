"""Base of the API's filter sets (django-filter)."""

from __future__ import annotations

import threading
from typing import Any

import django_filters
from django.utils.translation import get_language

_form_classes: dict[tuple[type, str], type[Any]] = {}
_lock = threading.Lock()


class FilterSet(django_filters.FilterSet):
    """A ``FilterSet`` that builds its form class once per language instead of per request.

    django-filter makes a new form class, with a new field per filter and its label, for every
    request: about a tenth of the work queue's CPU time (benches/README.md). The form class only
    depends on the filter set's class and the language of its labels; each form made from it
    still deep-copies its fields, as every Django form does, so requests share nothing mutable.
    """

    def get_form_class(self) -> type[Any]:
        key = (type(self), get_language() or "")
        form_class = _form_classes.get(key)
        if form_class is None:
            with _lock:  # two first requests at once: both use the class stored first
                form_class = _form_classes.setdefault(key, super().get_form_class())
        return form_class
