"""What is inside an uploaded document, before an agent's viewer opens it.

The type of a file is sniffed first (``apps.applications.attachments``); this module then reads
the file with the library that knows its format and refuses what would harm the viewer:

* images (Pillow, headers only: nothing is decoded) whose pixel count, all frames together,
  exceeds ``ATTACHMENT_IMAGE_MAX_PIXELS`` — a decompression bomb is a small file that becomes
  gigabytes of pixels — or that Pillow cannot read at all (a format it cannot check, such as
  HEIC, is refused rather than let through unchecked);
* PDFs (pypdf) that are encrypted (nothing inside can be checked); that hold active content —
  JavaScript anywhere (``/JS``, ``/JavaScript``), actions that launch programs or load data
  (``/Launch``, ``/ImportData``, ``/RichMediaExecute``, ``/Rendition``, ``/SubmitForm``),
  additional actions run on open, close, print or page events (``/AA``), XFA forms (scripted),
  including an ``/OpenAction`` of one of those kinds; whose streams, decoded one after the
  other, inflate past ``ATTACHMENT_PDF_MAX_INFLATE_RATIO`` times the file's size (never less
  than ``PDF_INFLATE_FLOOR_BYTES``) or past ``ATTACHMENT_PDF_MAX_INFLATED_BYTES``; whose images
  exceed the pixel limit; or that pypdf cannot read.

Every indirect object of the PDF is walked (those of object streams included) with the names
already decoded by pypdf, so ``/J#61vaScript`` is ``/JavaScript`` here; a byte search could not
see inside compressed object streams. Decoding runs under pypdf's own output limits set to the
remaining budget, so a bomb stops at the limit instead of filling the memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog
from django.conf import settings
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from apps.applications.errors import (
    AttachmentActiveContent,
    AttachmentEncrypted,
    AttachmentImageTooLarge,
    AttachmentInflatesTooMuch,
    AttachmentUnreadable,
)

logger = structlog.get_logger(__name__)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/tiff"})
PDF_TYPE = "application/pdf"
# The ratio limit does not bite below this many decoded bytes (small text PDFs compress well).
PDF_INFLATE_FLOOR_BYTES = 16 * 1024 * 1024
# Keys that are active content wherever they appear.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/AA", "/XFA"})
# Action types (``/S``) that run code, start programs or send or load data.
ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute", "/Rendition", "/SubmitForm"}
)
_DECODER_LIMITS = (
    "zlib_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "jbig2_maximum_output_length",
    "brotli_maximum_output_length",
    "array_based_stream_maximum_output_length",
    "stream_decoding_work_maximum_length",
    "image_maximum_buffer_size",
)


def inspect_upload(upload: Any, *, mime: str) -> None:
    """Refuse ``upload`` (sniffed as ``mime``) if it would harm a viewer; see the module."""
    upload.seek(0)
    try:
        if mime in IMAGE_TYPES:
            _inspect_image(upload)
        elif mime == PDF_TYPE:
            _inspect_pdf(upload)
    except (
        AttachmentActiveContent,
        AttachmentEncrypted,
        AttachmentImageTooLarge,
        AttachmentInflatesTooMuch,
        AttachmentUnreadable,
    ) as exc:
        logger.info("attachment_refused", reason=exc.code, detected=mime)
        raise
    finally:
        upload.seek(0)


# --- images --------------------------------------------------------------------------------


def _inspect_image(upload: Any) -> None:
    limit = int(settings.ATTACHMENT_IMAGE_MAX_PIXELS)
    try:
        with Image.open(upload) as image:  # reads the header; no pixel is decoded
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1) or 1)
    except Image.DecompressionBombError:  # Pillow's own, far higher, limit
        raise _image_too_large(limit) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise AttachmentUnreadable() from None
    if width * height * frames > limit:
        raise _image_too_large(limit)


def _image_too_large(limit: int) -> AttachmentImageTooLarge:
    return AttachmentImageTooLarge(extra={"max_pixels": limit})


# --- PDF -----------------------------------------------------------------------------------


def _inspect_pdf(upload: Any) -> None:
    by_ratio = int(settings.ATTACHMENT_PDF_MAX_INFLATE_RATIO) * int(upload.size)
    budget = min(
        int(settings.ATTACHMENT_PDF_MAX_INFLATED_BYTES), max(by_ratio, PDF_INFLATE_FLOOR_BYTES)
    )
    try:
        with apply_configuration(**_decoder_limits(budget)):
            reader = PdfReader(upload, strict=False)
            if reader.is_encrypted:
                raise AttachmentEncrypted()
            _walk_pdf(reader, budget)
    except LimitReachedError:
        raise AttachmentInflatesTooMuch() from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise AttachmentUnreadable() from None


def _decoder_limits(size: int) -> dict[str, Any]:
    """pypdf's decoder limits, all set to ``size`` decoded bytes."""
    return dict.fromkeys(_DECODER_LIMITS, size)


def _walk_pdf(reader: PdfReader, budget: int) -> None:
    pixel_limit = int(settings.ATTACHMENT_IMAGE_MAX_PIXELS)
    inflated = 0
    for item in _pdf_objects(reader):
        if not isinstance(item, DictionaryObject):
            continue
        if not ACTIVE_KEYS.isdisjoint(item.keys()) or str(item.get("/S", "")) in ACTIVE_ACTIONS:
            raise AttachmentActiveContent()
        if isinstance(item, StreamObject):
            if item.get("/Subtype") == "/Image":
                pixels = int(item.get("/Width", 0) or 0) * int(item.get("/Height", 0) or 0)
                if pixels > pixel_limit:
                    raise _image_too_large(pixel_limit)
            with apply_configuration(**_decoder_limits(budget - inflated + 1)):
                inflated += len(item.get_data())
            if inflated > budget:
                raise AttachmentInflatesTooMuch()


def _pdf_objects(reader: PdfReader) -> Iterator[Any]:
    """Every object of the file: the trailer, each indirect object (object streams included)
    and everything nested in them, without following references (each is visited on its own)."""
    roots: list[Any] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        roots.extend(IndirectObject(number, generation, reader) for number in numbers)
    roots.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    for root in roots:
        stack = [root.get_object() if isinstance(root, IndirectObject) else root]
        while stack:
            item = stack.pop()
            if item is None or isinstance(item, IndirectObject):
                continue
            yield item
            if isinstance(item, DictionaryObject):
                stack.extend(
                    value
                    for value in item.values()
                    if isinstance(value, DictionaryObject | ArrayObject)
                )
            elif isinstance(item, ArrayObject):
                stack.extend(v for v in item if isinstance(v, DictionaryObject | ArrayObject))
