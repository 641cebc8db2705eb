"""The certificates look right: reference images, extracted text, QR codes that scan.

Each demo service's certificate (fixed code and date, no database) is drawn to PNG at 75 dpi in
grey with poppler's ``pdftoppm`` and compared with the committed image under
``tests/certificates/reference/`` (mean difference per pixel within ``TOLERANCE``). After a
deliberate change of the layout, look at the new images and refresh them with
``GUICHET_UPDATE_REFERENCE=1 pytest tests/certificates/test_layout.py``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from apps.catalogue.demo import DEMO_DOCUMENTS
from apps.certificates.codes import code_display
from apps.certificates.preview import pdf_to_png
from tests.certificates.layout_helpers import CODE, demo_certificate, demo_services

REFERENCE = Path(__file__).parent / "reference"
TOLERANCE = 2.0  # mean absolute difference per pixel, out of 255
CASES = [(slug, service, "fr") for slug, service in demo_services()] + [
    (slug, service, "en")
    for slug, service in demo_services()
    if service["code"] == "copie-acte-naissance"
]
IDS = [f"{service['code']}-{language}" for _slug, service, language in CASES]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (poppler-utils / zbar-tools)")
    return path


def _grey16(png: bytes | None) -> bytes:
    """The page in 16 shades of grey (small reference files; the comparison is loose anyway)."""
    assert png is not None
    image = Image.open(io.BytesIO(png)).convert("L").point(lambda value: value // 17 * 17)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, bits=4)
    return buffer.getvalue()


def _text(pdf: bytes) -> str:
    tool = _need("pdftotext")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "c.pdf"
        source.write_bytes(pdf)
        result = subprocess.run(
            [tool, "-layout", str(source), "-"], capture_output=True, text=True, check=True
        )
    return result.stdout


def _scan(png: bytes) -> list[str]:
    tool = _need("zbarimg")
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "scan.png"
        image.write_bytes(png)
        result = subprocess.run(
            [tool, "--quiet", "--raw", str(image)],
            capture_output=True,
            text=True,
            check=False,
        )
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(("slug", "service", "language"), CASES, ids=IDS)
def test_each_demo_certificate_looks_like_its_reference(slug, service, language):
    _need("pdftoppm")
    pdf, _content = demo_certificate(slug, service, language)
    png = _grey16(pdf_to_png(pdf, dpi=75, gray=True))
    reference = REFERENCE / f"{service['code']}-{language}.png"
    if os.environ.get("GUICHET_UPDATE_REFERENCE") == "1" or not reference.exists():
        if os.environ.get("CI") and not reference.exists():
            pytest.fail(f"{reference.name} is missing: generate and commit it")
        REFERENCE.mkdir(exist_ok=True)
        reference.write_bytes(png)
    drawn = Image.open(io.BytesIO(png)).convert("L")
    expected = Image.open(reference).convert("L")

    assert drawn.size == expected.size
    difference = ImageStat.Stat(ImageChops.difference(drawn, expected)).mean[0]
    assert difference <= TOLERANCE, f"{reference.name}: mean difference {difference:.2f}"


@pytest.mark.parametrize(("slug", "service", "language"), CASES, ids=IDS)
def test_the_text_of_each_certificate_shows_the_record(slug, service, language):
    pdf, content = demo_certificate(slug, service, language)
    layout = _text(pdf)
    text = " ".join(layout.split())

    assert "RÉPUBLIQUE TOGOLAISE" in text
    assert "Travail – Liberté – Patrie" in text
    assert content["title"] in text
    assert content["holder"] in text
    for block in content["blocks"]:
        assert block.get("value", block.get("text")) in text
    assert content["signatory_name"] in text
    assert code_display(CODE) in text
    assert any(content["verify_url"] in line for line in layout.splitlines())  # on one line
    assert "Page 1 / 1" in text
    assert ("Fait à Lomé" if language == "fr" else "Done at Lomé") in text


def test_the_birth_certificate_copy_names_the_child_and_the_mother_who_asked():
    slug, service = next(
        item for item in demo_services() if item[1]["code"] == "copie-acte-naissance"
    )
    pdf, content = demo_certificate(slug, service, "fr")
    text = " ".join(_text(pdf).split())

    assert content["holder"] == "Kossi Elom MENSAH"
    assert "Personne concernée Kossi Elom MENSAH" in text
    assert "Demandé par Afi Mensah" in text
    for expected in ("0456/2019", "2 juin 2019", "Lomé", "MENSAH Koffi", "MENSAH Afi"):
        assert expected in text
    assert DEMO_DOCUMENTS["copie-acte-naissance"]["requester_relation"]["field"] == "lien_demandeur"


def test_the_qr_code_scans_from_a_150_dpi_print_and_a_phone_sized_picture():
    slug, service = demo_services()[0]
    pdf, content = demo_certificate(slug, service, "fr")
    print_scan = pdf_to_png(pdf, dpi=150)
    assert print_scan is not None
    page = Image.open(io.BytesIO(print_scan)).convert("L")

    assert _scan(print_scan) == [content["qr_text"]]
    for width in (1080, 720):  # the whole page in a phone's picture, full HD and smaller
        phone = page.resize((width, round(width * page.height / page.width)), Image.LANCZOS)
        buffer = io.BytesIO()
        phone.save(buffer, format="JPEG", quality=85)
        assert _scan(buffer.getvalue()) == [content["qr_text"]], width


def test_a_long_document_flows_onto_a_second_page_and_nothing_is_cut():
    slug, service = demo_services()[0]
    long_definition = {
        **DEMO_DOCUMENTS[service["code"]],
        "blocks": [
            {"text_fr": f"Paragraphe {n}. " + "Mention longue " * 25, "text_en": "x"}
            for n in range(14)
        ],
    }
    original = dict(DEMO_DOCUMENTS[service["code"]])
    DEMO_DOCUMENTS[service["code"]] = long_definition
    try:
        pdf, _content = demo_certificate(slug, service, "fr")
    finally:
        DEMO_DOCUMENTS[service["code"]] = original
    text = " ".join(_text(pdf).split())

    pages = re.findall(r"Page (\d+) / (\d+)", text)
    total = int(pages[0][1])
    assert total >= 2
    assert pages == [(str(n), str(total)) for n in range(1, total + 1)]
    assert text.count("RÉPUBLIQUE TOGOLAISE") == total  # the header on every page
    for n in range(14):
        assert f"Paragraphe {n}." in text
    assert code_display(CODE) in text
