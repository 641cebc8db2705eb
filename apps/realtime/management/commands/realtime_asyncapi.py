"""``manage.py realtime_asyncapi [--file asyncapi.yml]``: write the gateway's AsyncAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.realtime.asyncapi import asyncapi_yaml


class Command(BaseCommand):
    help = "Write the AsyncAPI document of the real-time gateway (stdout, or --file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default="", help="Write here instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = asyncapi_yaml()
        if options["file"]:
            Path(options["file"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
