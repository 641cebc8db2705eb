"""Demo document settings for ``manage.py seed_demo``: a drawn seal, a signatory, Lomé.

Demo data only. The seal is drawn with Pillow (no image file to ship); idempotent (the same
seal has the same name, the same settings write nothing).
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

from apps.certificates.branding import document_settings_save
from apps.certificates.selectors import document_settings

DEMO_SIGNATORIES: dict[str, tuple[str, str, str]] = {
    "etat-civil": ("Komlan AGBODJAN", "L'Officier de l'état civil", "The Civil Registrar"),
    "mairie-lome": ("Yawa KOUDAWO", "Pour le Maire, l'Adjointe déléguée", "For the Mayor"),
}


def demo_seal() -> bytes:
    """A round green seal with a star, as PNG."""
    size = 240
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    green = (0, 106, 78, 255)
    draw.ellipse((6, 6, size - 6, size - 6), outline=green, width=10)
    draw.ellipse((30, 30, size - 30, size - 30), outline=green, width=3)
    centre = size / 2
    points = []
    for index in range(10):
        radius = 62 if index % 2 == 0 else 25
        angle = math.pi / 2 + index * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre - radius * math.sin(angle)))
    draw.polygon(points, fill=(210, 16, 52, 255))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def seed_document_settings(slug: str) -> str:
    """The current agency's demo document settings; returns what happened."""
    signatory = DEMO_SIGNATORIES.get(slug)
    if signatory is None:
        return "no demo document settings"
    name, title_fr, title_en = signatory
    current = document_settings()
    seal = None if current.seal_path else demo_seal()
    document_settings_save(
        changes={
            "signatory_name": name,
            "signatory_title_fr": title_fr,
            "signatory_title_en": title_en,
            "place_of_issue": "Lomé",
        },
        seal=seal,
    )
    return "document settings seeded"
