"""Uploads that would harm an agent's viewer are refused, each with its code, nothing stored.

Decompression bombs (images whose pixels, PDFs whose streams, expand far beyond the file),
PDFs with JavaScript or launch actions and encrypted PDFs are 422 problems; the file is never
written and no row, audit event or version change is left behind. Ordinary documents pass.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from apps.applications import inspection
from apps.applications.errors import AttachmentImageTooLarge, AttachmentUnreadable
from apps.applications.models import Application, Attachment
from apps.audit.models import AuditEvent
from tests.applications.conftest import DOC, PDF, PNG, draft, upload
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

PDF_TYPE = "application/pdf"


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 100 000 × 100 000 PNG header in a few dozen bytes (10 billion pixels once decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def picture(kind: str = "JPEG", size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, kind)
    return buffer.getvalue()


def pdf_with(change=None) -> bytes:
    """A one-page PDF written by pypdf, after ``change(writer)``."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if change:
        change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def action(kind: str, **members) -> DictionaryObject:
    entries = {NameObject("/S"): NameObject(kind)}
    entries.update({NameObject(f"/{k}"): TextStringObject(v) for k, v in members.items()})
    return DictionaryObject(entries)


def open_action(kind: str, **members):
    def change(writer):
        writer._root_object[NameObject("/OpenAction")] = action(kind, **members)

    return change


def page_additional_action(writer):
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): action("/JavaScript", JS="app.alert(1)")}
    )


def javascript_name_tree(writer):
    script = writer._add_object(action("/JavaScript", JS="this.print()"))
    names = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("x"), script])})
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(names)}
    )


def link_with_javascript(writer):
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
            NameObject("/A"): action("/JavaScript", JS="app.launchURL('x')"),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


def encrypted(writer):
    writer.encrypt(user_password="", owner_password="secret", algorithm="AES-128")


def compressed_stream(size: int, **entries):
    def change(writer):
        stream = StreamObject()
        stream.set_data(zlib.compress(b"\x00" * size, 9))
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        for key, value in entries.items():
            stream[NameObject(f"/{key}")] = value
        writer._root_object[NameObject("/Extra")] = writer._add_object(stream)

    return change


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand (names as an attacker would write them), with a correct xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


OBFUSCATED_JAVASCRIPT = raw_pdf(
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
)
PLAIN_HANDWRITTEN = raw_pdf(
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)

REFUSED = [
    pytest.param(png_bomb(), "attachment_image_too_large", id="png-decompression-bomb"),
    pytest.param(png_bomb(9_000, 9_000), "attachment_image_too_large", id="png-81-megapixels"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "attachment_unreadable", id="png-broken"),
    pytest.param(
        pdf_with(open_action("/JavaScript", JS="app.alert(1)")),
        "attachment_active_content",
        id="pdf-open-action-javascript",
    ),
    pytest.param(
        pdf_with(open_action("/Launch", F="calc.exe")),
        "attachment_active_content",
        id="pdf-launch",
    ),
    pytest.param(
        pdf_with(page_additional_action), "attachment_active_content", id="pdf-additional-action"
    ),
    pytest.param(
        pdf_with(javascript_name_tree), "attachment_active_content", id="pdf-javascript-names"
    ),
    pytest.param(
        pdf_with(link_with_javascript), "attachment_active_content", id="pdf-link-javascript"
    ),
    pytest.param(
        OBFUSCATED_JAVASCRIPT, "attachment_active_content", id="pdf-hex-escaped-javascript"
    ),
    pytest.param(pdf_with(encrypted), "attachment_encrypted", id="pdf-encrypted"),
    pytest.param(
        pdf_with(compressed_stream(20 * 1024 * 1024)),
        "attachment_inflates_too_much",
        id="pdf-20-MiB-of-zeros-in-20-KiB",
    ),
    pytest.param(
        pdf_with(
            compressed_stream(
                64,
                Subtype=NameObject("/Image"),
                Width=NumberObject(100_000),
                Height=NumberObject(100_000),
            )
        ),
        "attachment_image_too_large",
        id="pdf-image-of-10-gigapixels",
    ),
    pytest.param(b"%PDF-1.7\n" + b"\x00garbage" * 50, "attachment_unreadable", id="pdf-broken"),
]


@pytest.mark.parametrize(("content", "code"), REFUSED)
def test_harmful_uploads_are_422_and_nothing_is_stored(
    api, service_a, citizen, tokens, media_root, content, code
):
    application = draft("agence_a", citizen, attach=False)
    name = "piece.png" if content.startswith(b"\x89PNG") else "piece.pdf"

    response = api(HOST_A, tokens(citizen).access).post(
        f"/api/v1/applications/{application.id}/attachments/",
        {"document_type": DOC, "file": upload(content, name=name)},
        format="multipart",
    )

    assert_problem(response, 422, code)
    with schema_context("agence_a"):
        assert not Attachment.objects.filter(application_id=application.id).exists()
        assert Application.objects.get(pk=application.id).version == application.version
        assert not AuditEvent.objects.filter(action="application.attachment_added").exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(PDF, id="pdf"),
        pytest.param(PNG, id="png"),
        pytest.param(picture(), id="jpeg"),
        pytest.param(PLAIN_HANDWRITTEN, id="pdf-handwritten"),
        pytest.param(pdf_with(open_action("/GoTo")), id="pdf-open-action-goto"),
        pytest.param(
            pdf_with(compressed_stream(4 * 1024 * 1024)), id="pdf-4-MiB-stream-under-the-floor"
        ),
    ],
)
def test_ordinary_documents_are_accepted(api, service_a, citizen, tokens, media_root, content):
    application = draft("agence_a", citizen, attach=False)

    response = api(HOST_A, tokens(citizen).access).post(
        f"/api/v1/applications/{application.id}/attachments/",
        {"document_type": DOC, "file": upload(content, name="piece")},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert len(stored_files(media_root)) == 1


def test_the_pixel_limit_is_a_setting(api, service_a, citizen, tokens, settings):
    settings.ATTACHMENT_IMAGE_MAX_PIXELS = 255
    application = draft("agence_a", citizen, attach=False)
    client = api(HOST_A, tokens(citizen).access)
    url = f"/api/v1/applications/{application.id}/attachments/"

    refused = client.post(url, {"document_type": DOC, "file": upload(picture())}, "multipart")
    small = picture(size=(15, 17))
    accepted = client.post(url, {"document_type": DOC, "file": upload(small)}, "multipart")

    assert assert_problem(refused, 422, "attachment_image_too_large")["max_pixels"] == 255
    assert accepted.status_code == 201, accepted.content


def test_the_inflation_limits_are_settings(settings, monkeypatch):
    settings.ATTACHMENT_PDF_MAX_INFLATED_BYTES = 1024 * 1024
    two_mebibytes = pdf_with(compressed_stream(2 * 1024 * 1024))
    with pytest.raises(inspection.AttachmentInflatesTooMuch):
        inspection.inspect_upload(SimpleUploadedFile("a.pdf", two_mebibytes), mime=PDF_TYPE)

    settings.ATTACHMENT_PDF_MAX_INFLATED_BYTES = 256 * 1024 * 1024
    monkeypatch.setattr(inspection, "PDF_INFLATE_FLOOR_BYTES", 0)
    settings.ATTACHMENT_PDF_MAX_INFLATE_RATIO = 10
    ten_times = pdf_with(compressed_stream(64 * 1024))  # 64 KiB of zeros in ~1 KiB
    with pytest.raises(inspection.AttachmentInflatesTooMuch):
        inspection.inspect_upload(SimpleUploadedFile("a.pdf", ten_times), mime=PDF_TYPE)
    settings.ATTACHMENT_PDF_MAX_INFLATE_RATIO = 1000
    inspection.inspect_upload(SimpleUploadedFile("a.pdf", ten_times), mime=PDF_TYPE)


def test_every_frame_of_a_multi_page_tiff_counts(settings):
    settings.ATTACHMENT_IMAGE_MAX_PIXELS = 1000
    frames = [Image.new("L", (20, 20)) for _ in range(3)]  # 400 pixels each
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    three = SimpleUploadedFile("a.tif", buffer.getvalue())

    with pytest.raises(AttachmentImageTooLarge):
        inspection.inspect_upload(three, mime="image/tiff")
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:2])
    inspection.inspect_upload(SimpleUploadedFile("a.tif", buffer.getvalue()), mime="image/tiff")


def test_an_image_type_pillow_cannot_check_is_refused():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64

    with pytest.raises(AttachmentUnreadable):
        inspection.inspect_upload(SimpleUploadedFile("a.heic", heic), mime="image/heic")
