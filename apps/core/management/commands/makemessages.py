"""``makemessages`` that also extracts ``_lazy("...")`` (gettext_lazy imported as ``_lazy``).

Modules that need both the immediate and the lazy gettext import the lazy one as ``_lazy``
(e.g. the problem titles in apps/core/exceptions.py); Django's command knows only the standard
names. Run it as ``manage.py makemessages -l fr -l en --ignore=.venv --ignore=var``.
"""

from __future__ import annotations

from django.core.management.commands.makemessages import Command as MakeMessagesCommand


class Command(MakeMessagesCommand):
    """Django's command with the ``_lazy`` keyword added."""

    xgettext_options = [*MakeMessagesCommand.xgettext_options, "--keyword=_lazy"]
