"""A file storage that confirms writes late, like an object store on a slow link.

The file is complete on disk when ``save`` has written it, but the caller hears back only
``CHAOS_STORAGE_CONFIRM_SECONDS`` later: the window between a file existing and the row that
names it being committed becomes wide enough for the fault-injection suite to kill a worker
inside it (a certificate job killed there used to leave an orphan file).
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.files.storage import FileSystemStorage


class SlowConfirmStorage(FileSystemStorage):
    """``FileSystemStorage`` whose ``save`` returns late."""

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        saved = super().save(name, content, max_length=max_length)
        time.sleep(float(os.environ.get("CHAOS_STORAGE_CONFIRM_SECONDS", "0.5")))
        return saved
