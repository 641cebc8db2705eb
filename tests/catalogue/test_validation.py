"""A service's definition is checked when saved; citizens' answers get field-level messages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_tenants.utils import schema_context

from apps.catalogue.models import Service
from apps.catalogue.validation import (
    NON_FIELD_ERRORS,
    document_types_errors,
    form_data_errors,
    form_schema_errors,
)
from tests.catalogue.conftest import PDF_DOCUMENT, birth_form, service_fields

# --- The form definition -------------------------------------------------------------------------


def test_a_realistic_form_is_accepted():
    assert form_schema_errors(birth_form()) == []


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        pytest.param([], "JSON object", id="not-an-object"),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "text"}}},
            "properties/a/type",
            id="bad-type",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"minLength": -1}}},
            "not a valid JSON Schema",
            id="negative-min",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "string"}}, '"type": "object"', id="array-root"
        ),
        pytest.param({"type": "object"}, '"properties"', id="no-properties"),
        pytest.param({"type": "object", "properties": {}}, '"properties"', id="empty-properties"),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]},
            '"b"',
            id="required-unknown-field",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"$ref": "https://evil.example/s.json"}}},
            "https://evil.example/s.json",
            id="remote-ref",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}},
            "other.json#/x",
            id="relative-remote-ref",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
            "#/$defs/missing",
            id="dangling-local-ref",
        ),
        pytest.param(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"a": {}},
            },
            "2020-12",
            id="older-draft",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {f"f{i}": {"description": "x" * 1000} for i in range(120)},
            },
            "too large",
            id="too-large",
        ),
    ],
)
def test_an_unusable_form_is_explained(schema, fragment):
    with translation.override("en"):
        problems = form_schema_errors(schema)

    assert problems
    assert any(fragment in problem for problem in problems), problems


def test_a_local_reference_is_allowed():
    schema = {
        "type": "object",
        "$defs": {"person": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "properties": {"father": {"$ref": "#/$defs/person"}},
    }

    assert form_schema_errors(schema) == []


def test_problems_follow_the_language():
    with translation.override("fr"):
        french = form_schema_errors({"type": "object"})
    with translation.override("en"):
        english = form_schema_errors({"type": "object"})

    assert french != english
    assert "properties" in english[0]


# --- Document types ------------------------------------------------------------------------------


def test_realistic_document_types_are_accepted():
    assert document_types_errors([PDF_DOCUMENT, {**PDF_DOCUMENT, "code": "photo"}]) == []
    assert document_types_errors([]) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param({}, "JSON list", id="not-a-list"),
        pytest.param(["pdf"], "JSON object", id="item-not-object"),
        pytest.param([{**PDF_DOCUMENT, "colour": "red"}], "colour", id="unknown-key"),
        pytest.param([{"code": "x"}], "label_fr", id="missing-keys"),
        pytest.param([{**PDF_DOCUMENT, "code": "Pièce ID"}], "code", id="bad-code"),
        pytest.param([{**PDF_DOCUMENT, "label_en": ""}], "label_en", id="empty-label"),
        pytest.param([{**PDF_DOCUMENT, "mime_types": []}], "mime_types", id="no-mime"),
        pytest.param([{**PDF_DOCUMENT, "mime_types": ["pdf"]}], "mime_types", id="bad-mime"),
        pytest.param(
            [{**PDF_DOCUMENT, "mime_types": ["image/png", "image/png"]}],
            "mime_types",
            id="dup-mime",
        ),
        pytest.param([{**PDF_DOCUMENT, "max_bytes": 0}], "max_bytes", id="zero-size"),
        pytest.param([{**PDF_DOCUMENT, "max_bytes": -5}], "max_bytes", id="negative-size"),
        pytest.param([{**PDF_DOCUMENT, "max_bytes": True}], "max_bytes", id="bool-size"),
        pytest.param([{**PDF_DOCUMENT, "max_bytes": 10**12}], "max_bytes", id="huge-size"),
        pytest.param([{**PDF_DOCUMENT, "required": "yes"}], "required", id="required-not-bool"),
        pytest.param([PDF_DOCUMENT, PDF_DOCUMENT], "piece-identite", id="duplicate-codes"),
    ],
)
def test_bad_document_types_are_explained(value, fragment):
    with translation.override("en"):
        problems = document_types_errors(value)

    assert problems
    assert any(fragment in problem for problem in problems), problems


# --- Saving a service ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_an_invalid_form_raises_and_stores_nothing(agency_a):
    fields = service_fields(form_schema={"type": "object", "properties": {"a": {"type": "text"}}})
    fields.pop("is_published")

    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            Service(**fields).save()
        assert Service.objects.count() == 0

    assert set(caught.value.message_dict) == {"form_schema"}


@pytest.mark.django_db
def test_saving_bad_document_types_raises(agency_a):
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            Service(**service_fields(document_types=[{"code": "x"}])).save()
        assert Service.objects.count() == 0

    assert set(caught.value.message_dict) == {"document_types"}


@pytest.mark.django_db
def test_full_clean_reports_the_form_field():
    service = Service(**service_fields(form_schema={"type": "object"}))

    with pytest.raises(ValidationError) as caught:
        service.full_clean(validate_unique=False)

    assert "form_schema" in caught.value.message_dict


def test_document_type_lookup_and_language_aware_names():
    service = Service(**service_fields())

    assert service.document_type("piece-identite")["max_bytes"] == 2_000_000
    assert service.document_type("nope") is None
    with translation.override("en"):
        assert service.name == "Full copy of a birth certificate"
        assert service.description.startswith("Issue")
        assert str(service) == service.name
    with translation.override("fr"):
        assert service.name == "Copie intégrale d'acte de naissance"
        assert service.description.startswith("Délivrance")


# --- Citizens' answers ---------------------------------------------------------------------------


def _service(**overrides):
    return Service(**service_fields(**overrides))


def test_valid_answers_have_no_errors():
    data = {
        "name": "Kossi Mensah",
        "email": "kossi@example.tg",
        "copies": 2,
        "birth": {"date": "1990-04-27", "place": "Lomé"},
        "purpose": "passeport",
    }

    assert form_data_errors(_service(), data) == {}


def test_missing_fields_are_reported_at_their_path():
    with translation.override("en"):
        errors = form_data_errors(_service(), {"birth": {"date": "1990-04-27"}})

    assert errors == {
        "birth.place": ["This field is required."],
        "name": ["This field is required."],
    }


def test_invalid_values_get_one_message_per_field():
    data = {
        "name": "K",
        "email": "not-an-email",
        "copies": 9,
        "birth": {"date": "27/04/1990", "place": "Lomé", "hospital": "CHU"},
        "purpose": "loisir",
        "nickname": "Kos",
    }

    with translation.override("en"):
        errors = form_data_errors(_service(), data)

    assert errors == {
        "name": ["Enter at least 2 characters."],
        "email": ["Enter a valid email address."],
        "copies": ["Enter a value less than or equal to 5."],
        "birth.date": ["Enter a valid date (YYYY-MM-DD)."],
        "birth.hospital": ["This field is not part of the form."],
        "purpose": ["Choose one of: passeport, mariage, autre."],
        "nickname": ["This field is not part of the form."],
    }


def test_messages_are_french_by_default():
    with translation.override("fr"):
        errors = form_data_errors(_service(), {"birth": {"date": "1990-04-27", "place": "Lomé"}})

    assert errors == {"name": ["Ce champ est obligatoire."]}


def test_wrong_types_and_array_items_are_located():
    form = birth_form()
    form["properties"]["children"] = {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "born_at": {"type": "string", "format": "date-time"},
            },
            "required": ["name"],
        },
    }
    data = {
        "name": 42,
        "birth": {"date": "1990-04-27", "place": "Lomé"},
        "children": [{"name": "Ama", "born_at": "2020-01-01T10:00:00+00:00"}, {"born_at": "hier"}],
    }

    with translation.override("en"):
        errors = form_data_errors(_service(form_schema=form), data)

    assert errors == {
        "name": ["Wrong type: expected a text."],
        "children.1.name": ["This field is required."],
        "children.1.born_at": ["Enter a valid date and time."],
    }


@pytest.mark.parametrize(
    ("keyword_schema", "value", "message"),
    [
        ({"type": "string", "maxLength": 3}, "abcd", "Enter at most 3 characters."),
        ({"type": "integer", "minimum": 1}, 0, "Enter a value greater than or equal to 1."),
        ({"type": "integer", "exclusiveMinimum": 1}, 1, "Enter a value greater than 1."),
        ({"type": "integer", "exclusiveMaximum": 1}, 1, "Enter a value less than 1."),
        ({"type": "integer", "multipleOf": 5}, 7, "Enter a multiple of 5."),
        (
            {"type": "string", "pattern": "^[0-9]+$"},
            "12a",
            "This value does not have the expected format.",
        ),
        ({"type": "array", "maxItems": 1}, [1, 2], "Give at most 1 item."),
        ({"type": "array", "uniqueItems": True}, [1, 1], "Each item must be different."),
        ({"const": "oui"}, "non", "This value must be oui."),
        ({"type": ["string", "null"]}, 3, "Wrong type: expected a text or no value."),
        ({"not": {"type": "string"}}, "x", "This value is not valid."),
        ({"type": "string", "format": "uuid"}, "nope", "Enter a valid identifier (UUID)."),
    ],
)
def test_each_keyword_has_a_readable_message(keyword_schema, value, message):
    service = _service(form_schema={"type": "object", "properties": {"field": keyword_schema}})

    with translation.override("en"):
        errors = form_data_errors(service, {"field": value})

    assert errors == {"field": [message]}


def test_answers_that_are_not_an_object_are_a_form_error():
    assert list(form_data_errors(_service(), ["a"])) == [NON_FIELD_ERRORS]


def test_root_level_rules_go_to_non_field_errors():
    form = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "minProperties": 1,
    }

    with translation.override("en"):
        errors = form_data_errors(_service(form_schema=form), {})

    assert errors == {NON_FIELD_ERRORS: ["This value is not valid."]}


def test_conditional_requirements_are_reported_on_the_field():
    form = {
        "type": "object",
        "properties": {"purpose": {"type": "string"}, "other": {"type": "string"}},
        "if": {"properties": {"purpose": {"const": "autre"}}},
        "then": {"required": ["other"]},
    }

    with translation.override("en"):
        errors = form_data_errors(_service(form_schema=form), {"purpose": "autre"})

    assert errors == {"other": ["This field is required."]}


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        pytest.param(
            "2026-02-30T10:00:00+00:00", {"at": ["Enter a valid date and time."]}, id="no-such-day"
        ),
        pytest.param(
            "2026-02-03T10:00:00", {"at": ["Enter a valid date and time."]}, id="no-offset"
        ),
        pytest.param(5, {}, id="not-a-string-is-not-a-format-matter"),
    ],
)
def test_date_time_format(value, errors):
    service = _service(
        form_schema={"type": "object", "properties": {"at": {"format": "date-time"}}}
    )

    with translation.override("en"):
        assert form_data_errors(service, {"at": value}) == errors


def test_min_items_and_unevaluated_properties():
    form = {
        "type": "object",
        "allOf": [{"properties": {"a": {"type": "string"}}}],
        "properties": {"b": {"type": "array", "minItems": 2}},
        "unevaluatedProperties": False,
    }

    with translation.override("en"):
        errors = form_data_errors(_service(form_schema=form), {"a": "x", "b": [1], "c": 1})

    # "a" is evaluated by the allOf branch, so only "c" is foreign.
    assert errors == {
        "b": ["Give at least 2 items."],
        "c": ["This field is not part of the form."],
    }
