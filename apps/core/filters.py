"""Base of the API's filter sets (django-filter).

Every filter set of the API derives from ``FilterSet`` here, which also refuses dates the
platform cannot compute with: a day at the edge of Python's calendar (``0001-01-01``,
``9999-12-31``) overflows as soon as a filter adds a day or moves it to another time zone
(``OverflowError``, a 500). Dates and times before ``FILTER_DATE_MIN`` or after
``FILTER_DATE_MAX``, alone or as the ends of a range, are 400 ``validation_failed`` naming the
parameter, whatever the filter does with them.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

import django_filters
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# A year of margin on both sides of Python's calendar: any offset or day arithmetic fits.
FILTER_DATE_MIN = date(2, 1, 1)
FILTER_DATE_MAX = date(9998, 12, 31)

_form_classes: dict[tuple[type, str], type[Any]] = {}
_lock = threading.Lock()


def _dates_in(value: Any) -> list[date]:
    if isinstance(value, date):  # datetime is a date too
        return [value]
    if isinstance(value, slice):  # the range filters' cleaned value
        return [end for end in (value.start, value.stop) if isinstance(end, date)]
    return []


def _out_of_range(day: date) -> bool:
    plain = day.date() if isinstance(day, datetime) else day
    return not FILTER_DATE_MIN <= plain <= FILTER_DATE_MAX


class DateBoundsForm(forms.Form):
    """The filter form: every date or time value must fall within the platform's calendar."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        for name, value in list(cleaned.items()):
            if any(_out_of_range(day) for day in _dates_in(value)):
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("Give a date between %(first)s and %(last)s."),
                        code="date_out_of_range",
                        params={
                            "first": FILTER_DATE_MIN.isoformat(),
                            "last": FILTER_DATE_MAX.isoformat(),
                        },
                    ),
                )
        return cleaned


class FilterSet(django_filters.FilterSet):
    """A ``FilterSet`` that builds its form class once per language instead of per request.

    django-filter makes a new form class, with a new field per filter and its label, for every
    request: about a tenth of the work queue's CPU time (benches/README.md). The form class only
    depends on the filter set's class and the language of its labels; each form made from it
    still deep-copies its fields, as every Django form does, so requests share nothing mutable.
    Its base form refuses dates out of the platform's calendar (see the module).
    """

    def get_form_class(self) -> type[Any]:
        key = (type(self), get_language() or "")
        form_class = _form_classes.get(key)
        if form_class is None:
            with _lock:  # two first requests at once: both use the class stored first
                form_class = _form_classes.setdefault(key, self._build_form_class())
        return form_class

    def _build_form_class(self) -> type[Any]:
        # django-filter's own get_form_class, on a base that always includes DateBoundsForm
        # (a subclass's Meta.form may name another form).
        base = self._meta.form
        bases = (base,) if issubclass(base, DateBoundsForm) else (DateBoundsForm, base)
        fields = {name: filter_.field for name, filter_ in self.filters.items()}
        return type(f"{type(self).__name__}Form", bases, fields)
