"""Answers shown as labelled rows from the form's titles."""

from __future__ import annotations

from django.utils import translation

from apps.applications.answers import answer_rows


def rows(schema, data):
    return [(r.path, r.label, r.value) for r in answer_rows(schema, data)]


def test_nested_objects_lists_choices_and_booleans():
    schema = {
        "type": "object",
        "properties": {
            "nom": {"type": "string", "title": "Nom"},
            "adresse": {
                "type": "object",
                "title": "Adresse",
                "properties": {"ville": {"type": "string", "title": "Ville"}},
            },
            "motif": {
                "title": "Motif",
                "oneOf": [{"const": "perte", "title": "Perte"}, {"const": "vol", "title": "Vol"}],
            },
            "urgent": {"type": "boolean", "title": "Urgent"},
            "langues": {"type": "array", "title": "Langues", "items": {"type": "string"}},
            "enfants": {
                "type": "array",
                "title": "Enfant",
                "items": {"type": "object", "properties": {"prenom": {"title": "Prénom"}}},
            },
            "commentaire": {"type": "string"},
        },
    }
    data = {
        "nom": "Mensah",
        "adresse": {"ville": "Lomé"},
        "motif": "vol",
        "urgent": True,
        "langues": ["fr", "ewe"],
        "enfants": [{"prenom": "Kossi"}, {"prenom": "Ama"}],
        "ancien": "gardé",
    }

    with translation.override("fr"):
        shown = rows(schema, data)

    assert shown == [
        ("nom", "Nom", "Mensah"),
        ("adresse.ville", "Adresse › Ville", "Lomé"),
        ("motif", "Motif", "Vol"),
        ("urgent", "Urgent", "Oui"),
        ("langues", "Langues", "fr, ewe"),
        ("enfants.0.prenom", "Enfant 1 › Prénom", "Kossi"),
        ("enfants.1.prenom", "Enfant 2 › Prénom", "Ama"),
        ("commentaire", "commentaire", "—"),
        ("ancien", "ancien", "gardé"),
    ]


def test_answers_without_a_schema_are_still_one_row_per_field():
    with translation.override("en"):
        shown = rows({}, {"a": {"b": 1}, "c": False, "d": None})

    assert shown == [("a.b", "a › b", "1"), ("c", "c", "No"), ("d", "d", "—")]
