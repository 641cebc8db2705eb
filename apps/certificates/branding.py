"""The agency's document settings: seal or logo (validated image), signatory, place of issue.

``seal_validate`` reads an upload with Pillow and refuses what is not a PNG or JPEG image of a
sensible size (bytes and pixels; decompression bombs refused) before anything is stored; the
image is re-encoded as PNG (metadata dropped) and stored under the agency's prefix with a name
derived from its SHA-256, so certificates issued with an earlier seal keep theirs.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from apps.audit.services import audit_record
from apps.certificates.models import DocumentSettings
from apps.core.errors import InvalidInput
from apps.core.storage import storage_errors
from apps.core.tenancy import current_schema

SEAL_MAX_BYTES = 1024 * 1024
SEAL_MIN_PIXELS = 64
SEAL_MAX_PIXELS = 2000
SEAL_FORMATS = frozenset({"PNG", "JPEG"})
TEXT_FIELDS = ("signatory_name", "signatory_title_fr", "signatory_title_en", "place_of_issue")


def seal_validate(data: bytes) -> bytes:
    """The seal as PNG bytes, or 400 ``invalid_input`` saying what is wrong with the image."""
    if len(data) > SEAL_MAX_BYTES:
        raise InvalidInput(errors={"seal": [_("The image is larger than 1 MB.")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            probe.verify()
        if kind not in SEAL_FORMATS:
            raise InvalidInput(errors={"seal": [_("The seal must be a PNG or JPEG image.")]})
        if not (
            SEAL_MIN_PIXELS <= width <= SEAL_MAX_PIXELS
            and SEAL_MIN_PIXELS <= height <= SEAL_MAX_PIXELS
        ):
            raise InvalidInput(
                errors={
                    "seal": [
                        _("The image must be between %(low)d and %(high)d pixels on each side.")
                        % {"low": SEAL_MIN_PIXELS, "high": SEAL_MAX_PIXELS}
                    ]
                }
            )
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            converted = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidInput(errors={"seal": [_("This file is not a readable image.")]}) from exc
    output = io.BytesIO()
    converted.save(output, format="PNG", optimize=True)
    return output.getvalue()


@transaction.atomic
def document_settings_save(
    *, changes: dict[str, Any], seal: bytes | None = None
) -> DocumentSettings:
    """Save the current agency's document settings (audited); ``seal``: a new uploaded image."""
    row = DocumentSettings.objects.select_for_update().filter(pk=1).first() or DocumentSettings()
    before = {field: getattr(row, field) for field in (*TEXT_FIELDS, "seal_path")}
    for field in TEXT_FIELDS:
        if field in changes:
            value = str(changes[field] or "").strip()
            limit = 100 if field == "place_of_issue" else 200
            if len(value) > limit:
                raise InvalidInput(errors={field: [_("This text is too long.")]})
            setattr(row, field, value)
    if seal is not None:
        png = seal_validate(seal)
        name = f"{current_schema()}/branding/seal-{hashlib.sha256(png).hexdigest()[:20]}.png"
        storage = storages["default"]
        with storage_errors():
            if not storage.exists(name):
                name = storage.save(name, ContentFile(png))
        row.seal_path = name
    row.updated_at = timezone.now()
    row.save()
    after = {field: getattr(row, field) for field in (*TEXT_FIELDS, "seal_path")}
    changed = {
        field: {"old": before[field], "new": after[field]}
        for field in after
        if before[field] != after[field]
    }
    if changed:
        audit_record(
            action="certificates.settings_changed",
            target_type="document_settings",
            target_id="1",
            changes=changed,
        )
    return row
