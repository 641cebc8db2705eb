"""Checking the PAdES signature of a certificate PDF, as a relying party would (pyHanko)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def pades_status(pdf: bytes, roots_pem: str) -> Any:
    """pyHanko's verdict on the PDF's one signature, trusting only ``roots_pem``."""
    roots = [
        asn1_x509.Certificate.load(der)
        for _type, _headers, der in pem.unarmor(roots_pem.encode(), multiple=True)
    ]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    reader = PdfFileReader(io.BytesIO(pdf))
    [signature] = reader.embedded_signatures
    return validate_pdf_signature(signature, context)


def pdfsig(pdf: bytes) -> str | None:
    """poppler's ``pdfsig`` report on the PDF (None when poppler-utils is not installed)."""
    tool = shutil.which("pdfsig")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(
            [tool, str(path)], capture_output=True, text=True, timeout=30, check=False
        )
    return result.stdout
