"""Small, well-formed sample documents: the demo's uploads and the tests' ordinary files.

Uploads are read by Pillow and pypdf before they are accepted (``inspection.py``), so samples
must be real files of their type, not a few magic bytes.
"""

from __future__ import annotations

import functools
import io

from PIL import Image
from pypdf import PdfWriter

SAMPLE_TYPES = ("application/pdf", "image/png", "image/jpeg")


@functools.cache
def sample_file(mime: str) -> bytes:
    """A blank one-page A4 PDF, or a small grey picture, as the bytes of a file of ``mime``."""
    buffer = io.BytesIO()
    if mime == "application/pdf":
        writer = PdfWriter()
        writer.add_blank_page(width=595, height=842)
        writer.write(buffer)
    elif mime in ("image/png", "image/jpeg"):
        Image.new("RGB", (16, 16), (200, 200, 200)).save(buffer, mime.split("/")[1].upper())
    else:
        raise ValueError(f"no sample for {mime}")
    return buffer.getvalue()
