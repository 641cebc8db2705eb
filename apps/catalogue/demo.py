"""Demo catalogue for ``manage.py seed_demo`` (demo data only, never in production).

Two realistic services per demo agency, with French-titled JSON Schema forms (every field has
an ``examples`` value so demo answers can be generated from the form), documents to attach,
fees in XOF and deadlines in working days; and Togo's 2026 public holidays in each agency.
Everything goes through ``apps.catalogue.services`` (audited, indexed). Idempotent: a second
run finds every row as it should be and writes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from apps.agencies.models import Agency
from apps.catalogue import services
from apps.catalogue.models import PublicHoliday, Service

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
MB = 1024 * 1024

PHONE = {
    "type": "string",
    "title": "Téléphone",
    "description": "Numéro togolais au format international.",
    "pattern": r"^\+228[0-9]{8}$",
    "examples": ["+22890112233"],
}
EMAIL = {
    "type": "string",
    "title": "Courriel",
    "format": "email",
    "examples": ["afi.mensah@example.tg"],
}
SURNAME = {
    "type": "string",
    "title": "Nom",
    "minLength": 2,
    "maxLength": 100,
    "examples": ["MENSAH"],
}
GIVEN_NAMES = {
    "type": "string",
    "title": "Prénoms",
    "minLength": 2,
    "maxLength": 150,
    "examples": ["Afi Akossiwa"],
}
BIRTH_DATE = {
    "type": "string",
    "title": "Date de naissance",
    "format": "date",
    "examples": ["1994-03-17"],
}
BIRTH_PLACE = {
    "type": "string",
    "title": "Lieu de naissance",
    "minLength": 2,
    "maxLength": 100,
    "examples": ["Lomé"],
}


def _document(
    code: str,
    label_fr: str,
    label_en: str,
    mime_types: list[str],
    max_bytes: int,
    *,
    required: bool = True,
) -> dict[str, Any]:
    return {
        "code": code,
        "label_fr": label_fr,
        "label_en": label_en,
        "mime_types": mime_types,
        "max_bytes": max_bytes,
        "required": required,
    }


ID_DOCUMENT = _document(
    "piece-identite",
    "Pièce d'identité du demandeur (carte d'identité ou passeport)",
    "Applicant's identity document (identity card or passport)",
    ["application/pdf", "image/jpeg", "image/png"],
    2 * MB,
)

BIRTH_CERTIFICATE_COPY: dict[str, Any] = {
    "code": "copie-acte-naissance",
    "name_fr": "Copie intégrale d'acte de naissance",
    "name_en": "Full copy of a birth certificate",
    "description_fr": (
        "Copie intégrale d'un acte de naissance enregistré dans les registres de l'état civil, "
        "demandée par la personne concernée, un parent, un conjoint ou un mandataire."
    ),
    "description_en": (
        "Full copy of a birth record held in the civil registers, requested by the person, a "
        "parent, a spouse or an authorised representative."
    ),
    "category": "etat-civil",
    "fee_xof": 500,
    "sla_working_days": 3,
    "form_schema": {
        "$schema": SCHEMA_URI,
        "title": "Demande de copie intégrale d'acte de naissance",
        "type": "object",
        "properties": {
            "nom": {**SURNAME, "title": "Nom de la personne concernée"},
            "prenoms": {
                **GIVEN_NAMES,
                "title": "Prénoms de la personne concernée",
                "examples": ["Kossi Elom"],
            },
            "date_naissance": {**BIRTH_DATE, "examples": ["2019-06-02"]},
            "lieu_naissance": BIRTH_PLACE,
            "numero_acte": {
                "type": "string",
                "title": "Numéro de l'acte (si connu)",
                "pattern": r"^[0-9]{1,6}/[0-9]{4}$",
                "examples": ["0456/2019"],
            },
            "filiation": {
                "type": "object",
                "title": "Filiation",
                "properties": {
                    "pere": {
                        "type": "string",
                        "title": "Nom et prénoms du père",
                        "examples": ["MENSAH Koffi"],
                    },
                    "mere": {
                        "type": "string",
                        "title": "Nom et prénoms de la mère",
                        "examples": ["MENSAH Afi"],
                    },
                },
                "required": ["mere"],
                "additionalProperties": False,
            },
            "lien_demandeur": {
                "type": "string",
                "title": "Lien du demandeur avec la personne concernée",
                "enum": ["titulaire", "pere", "mere", "conjoint", "enfant", "mandataire"],
                "default": "titulaire",
                "examples": ["mere"],
            },
            "nombre_copies": {
                "type": "integer",
                "title": "Nombre de copies",
                "minimum": 1,
                "maximum": 5,
                "default": 1,
            },
            "motif": {
                "type": "string",
                "title": "Motif de la demande",
                "enum": ["passeport", "carte-identite", "mariage", "scolarite", "autre"],
                "examples": ["passeport"],
            },
        },
        "required": [
            "nom",
            "prenoms",
            "date_naissance",
            "lieu_naissance",
            "filiation",
            "lien_demandeur",
            "nombre_copies",
        ],
        "additionalProperties": False,
    },
    "document_types": [
        ID_DOCUMENT,
        _document(
            "procuration",
            "Procuration signée (si le demandeur n'est pas le titulaire)",
            "Signed power of attorney (if the applicant is not the person concerned)",
            ["application/pdf"],
            2 * MB,
            required=False,
        ),
    ],
}

NATIONALITY_CERTIFICATE: dict[str, Any] = {
    "code": "certificat-nationalite",
    "name_fr": "Certificat de nationalité togolaise",
    "name_en": "Certificate of Togolese nationality",
    "description_fr": (
        "Document attestant la nationalité togolaise, exigé notamment pour les concours de la "
        "fonction publique et certaines démarches à l'étranger."
    ),
    "description_en": (
        "Document attesting Togolese nationality, required for civil service examinations and "
        "some procedures abroad."
    ),
    "category": "nationalite",
    "fee_xof": 2500,
    "sla_working_days": 10,
    "form_schema": {
        "$schema": SCHEMA_URI,
        "title": "Demande de certificat de nationalité togolaise",
        "type": "object",
        "properties": {
            "nom": SURNAME,
            "prenoms": GIVEN_NAMES,
            "date_naissance": BIRTH_DATE,
            "lieu_naissance": BIRTH_PLACE,
            "profession": {
                "type": "string",
                "title": "Profession",
                "maxLength": 100,
                "examples": ["Enseignante"],
            },
            "fondement": {
                "type": "string",
                "title": "Fondement de la nationalité",
                "enum": ["filiation", "naissance-au-togo", "mariage", "naturalisation"],
                "examples": ["filiation"],
            },
            "parents": {
                "type": "object",
                "title": "Parents",
                "properties": {
                    "pere": {
                        "type": "string",
                        "title": "Nom et prénoms du père",
                        "examples": ["MENSAH Koffi"],
                    },
                    "nationalite_pere": {
                        "type": "string",
                        "title": "Nationalité du père",
                        "examples": ["togolaise"],
                    },
                    "mere": {
                        "type": "string",
                        "title": "Nom et prénoms de la mère",
                        "examples": ["AGBEKO Ama"],
                    },
                    "nationalite_mere": {
                        "type": "string",
                        "title": "Nationalité de la mère",
                        "examples": ["togolaise"],
                    },
                },
                "required": ["pere", "mere"],
                "additionalProperties": False,
            },
            "telephone": PHONE,
            "courriel": EMAIL,
        },
        "required": [
            "nom",
            "prenoms",
            "date_naissance",
            "lieu_naissance",
            "fondement",
            "parents",
            "telephone",
        ],
        "additionalProperties": False,
    },
    "document_types": [
        _document(
            "acte-naissance",
            "Copie intégrale d'acte de naissance (moins de 3 mois)",
            "Full copy of the birth certificate (less than 3 months old)",
            ["application/pdf"],
            2 * MB,
        ),
        _document(
            "nationalite-parent",
            "Certificat de nationalité de l'un des parents",
            "Nationality certificate of one parent",
            ["application/pdf", "image/jpeg"],
            2 * MB,
        ),
        _document(
            "photo",
            "Photo d'identité récente",
            "Recent identity photo",
            ["image/jpeg", "image/png"],
            1 * MB,
        ),
    ],
}

RESIDENCE_CERTIFICATE: dict[str, Any] = {
    "code": "certificat-residence",
    "name_fr": "Certificat de résidence",
    "name_en": "Certificate of residence",
    "description_fr": (
        "Atteste que le demandeur réside dans la commune de Lomé, à l'adresse indiquée. "
        "Souvent demandé pour l'ouverture d'un compte, un dossier scolaire ou un emploi."
    ),
    "description_en": (
        "Certifies that the applicant lives at the given address in the municipality of Lomé. "
        "Often asked for to open an account, enrol at school or apply for a job."
    ),
    "category": "residence",
    "fee_xof": 1000,
    "sla_working_days": 2,
    "form_schema": {
        "$schema": SCHEMA_URI,
        "title": "Demande de certificat de résidence",
        "type": "object",
        "properties": {
            "nom": SURNAME,
            "prenoms": GIVEN_NAMES,
            "date_naissance": BIRTH_DATE,
            "telephone": PHONE,
            "courriel": EMAIL,
            "adresse": {
                "type": "object",
                "title": "Adresse à Lomé",
                "properties": {
                    "quartier": {
                        "type": "string",
                        "title": "Quartier",
                        "minLength": 2,
                        "examples": ["Bè Kpota"],
                    },
                    "rue": {"type": "string", "title": "Rue", "examples": ["Rue 254"]},
                    "maison": {
                        "type": "string",
                        "title": "Numéro ou repère de la maison",
                        "examples": ["Maison 12, portail bleu"],
                    },
                    "commune": {
                        "type": "string",
                        "title": "Commune",
                        "enum": ["Golfe 1", "Golfe 2", "Golfe 3", "Golfe 4", "Golfe 5"],
                        "examples": ["Golfe 1"],
                    },
                },
                "required": ["quartier", "commune"],
                "additionalProperties": False,
            },
            "resident_depuis": {
                "type": "string",
                "title": "Résident à cette adresse depuis le",
                "format": "date",
                "examples": ["2019-09-01"],
            },
            "motif": {
                "type": "string",
                "title": "Motif de la demande",
                "enum": ["banque", "emploi", "scolarite", "administration", "autre"],
                "examples": ["banque"],
            },
        },
        "required": ["nom", "prenoms", "date_naissance", "telephone", "adresse", "motif"],
        "additionalProperties": False,
    },
    "document_types": [
        ID_DOCUMENT,
        _document(
            "justificatif-domicile",
            "Justificatif de domicile (facture CEET ou TdE de moins de 3 mois, ou contrat de bail)",
            "Proof of address (electricity or water bill under 3 months old, or lease)",
            ["application/pdf", "image/jpeg", "image/png"],
            3 * MB,
        ),
    ],
}

SIGNATURE_LEGALISATION: dict[str, Any] = {
    "code": "legalisation-signature",
    "name_fr": "Légalisation de signature",
    "name_en": "Signature legalisation",
    "description_fr": (
        "Certification de l'authenticité de la signature apposée sur un document "
        "(attestation, procuration, engagement). Le signataire se présente au guichet "
        "avec l'original pour signer devant l'officier."
    ),
    "description_en": (
        "Certification that a signature on a document (statement, power of attorney, "
        "undertaking) is genuine. The signatory comes to the counter with the original to sign "
        "before the officer."
    ),
    "category": "administration",
    "fee_xof": 500,
    "sla_working_days": 1,
    "form_schema": {
        "$schema": SCHEMA_URI,
        "title": "Demande de légalisation de signature",
        "type": "object",
        "properties": {
            "nom": {**SURNAME, "title": "Nom du signataire"},
            "prenoms": {**GIVEN_NAMES, "title": "Prénoms du signataire"},
            "telephone": PHONE,
            "nature_document": {
                "type": "string",
                "title": "Nature du document",
                "minLength": 3,
                "maxLength": 150,
                "examples": ["Procuration"],
            },
            "nombre_exemplaires": {
                "type": "integer",
                "title": "Nombre d'exemplaires à légaliser",
                "minimum": 1,
                "maximum": 10,
                "default": 1,
            },
            "date_rendez_vous": {
                "type": "string",
                "title": "Date souhaitée de passage au guichet",
                "format": "date",
                "examples": ["2026-06-15"],
            },
        },
        "required": ["nom", "prenoms", "telephone", "nature_document", "nombre_exemplaires"],
        "additionalProperties": False,
    },
    "document_types": [
        _document(
            "document-a-legaliser",
            "Document à légaliser (non signé)",
            "Document to legalise (unsigned)",
            ["application/pdf"],
            5 * MB,
        ),
        ID_DOCUMENT,
    ],
}


def _field(path: str, label_fr: str, label_en: str, fmt: str = "text") -> dict[str, str]:
    return {"field": path, "label_fr": label_fr, "label_en": label_en, "format": fmt}


def _text(fr: str, en: str) -> dict[str, str]:
    return {"text_fr": fr, "text_en": en}


# What each demo service's certificate says (apps.catalogue.documents), by service code.
DEMO_DOCUMENTS: dict[str, dict[str, Any]] = {
    "copie-acte-naissance": {
        "title_fr": "Copie intégrale d'acte de naissance",
        "title_en": "Full copy of a birth certificate",
        "holder": ["prenoms", "nom"],
        "requester_relation": {"field": "lien_demandeur", "self": ["titulaire"]},
        "blocks": [
            _text(
                "Extrait des registres de l'état civil. Il résulte de l'acte de naissance "
                "ci-dessous référencé les mentions suivantes :",
                "Extract from the civil registers. The birth record referenced below bears the "
                "following entries:",
            ),
            _field("numero_acte", "Acte n°", "Record no."),
            _field("nom", "Nom", "Surname", "upper"),
            _field("prenoms", "Prénoms", "Given names"),
            _field("date_naissance", "Date de naissance", "Date of birth", "date"),
            _field("lieu_naissance", "Lieu de naissance", "Place of birth"),
            _field("filiation.pere", "Père", "Father"),
            _field("filiation.mere", "Mère", "Mother"),
            _text(
                "Copie certifiée conforme aux registres de l'état civil, délivrée pour servir et "
                "valoir ce que de droit.",
                "Certified true copy of the civil registers, issued for all legal purposes.",
            ),
        ],
    },
    "certificat-nationalite": {
        "title_fr": "Certificat de nationalité togolaise",
        "title_en": "Certificate of Togolese nationality",
        "holder": ["prenoms", "nom"],
        "blocks": [
            _text(
                "Le service de la nationalité certifie que la personne désignée ci-dessous est "
                "de nationalité togolaise.",
                "The nationality service certifies that the person named below holds Togolese "
                "nationality.",
            ),
            _field("nom", "Nom", "Surname", "upper"),
            _field("prenoms", "Prénoms", "Given names"),
            _field("date_naissance", "Date de naissance", "Date of birth", "date"),
            _field("lieu_naissance", "Lieu de naissance", "Place of birth"),
            _field("parents.pere", "Père", "Father"),
            _field("parents.nationalite_pere", "Nationalité du père", "Father's nationality"),
            _field("parents.mere", "Mère", "Mother"),
            _field("parents.nationalite_mere", "Nationalité de la mère", "Mother's nationality"),
            _field("fondement", "Fondement", "Grounds"),
            _text(
                "Le présent certificat est délivré au vu des pièces produites par l'intéressé(e).",
                "This certificate is issued on the basis of the documents produced by the "
                "person concerned.",
            ),
        ],
    },
    "certificat-residence": {
        "title_fr": "Certificat de résidence",
        "title_en": "Certificate of residence",
        "holder": ["prenoms", "nom"],
        "blocks": [
            _text(
                "Le Maire de la commune de Lomé certifie que la personne désignée ci-dessous "
                "réside à l'adresse suivante :",
                "The Mayor of the municipality of Lomé certifies that the person named below "
                "lives at the following address:",
            ),
            _field("date_naissance", "Date de naissance", "Date of birth", "date"),
            _field("adresse.quartier", "Quartier", "Neighbourhood"),
            _field("adresse.rue", "Rue", "Street"),
            _field("adresse.maison", "Maison", "House"),
            _field("adresse.commune", "Commune", "Municipality"),
            _field("resident_depuis", "Résident depuis le", "Resident since", "date"),
            _text(
                "En foi de quoi le présent certificat est délivré pour servir et valoir ce que "
                "de droit.",
                "In witness whereof this certificate is issued for all legal purposes.",
            ),
        ],
    },
    "legalisation-signature": {
        "title_fr": "Légalisation de signature",
        "title_en": "Legalisation of signature",
        "holder": ["prenoms", "nom"],
        "blocks": [
            _text(
                "Vu pour légalisation de la signature de la personne désignée ci-dessous, "
                "apposée sur le document suivant :",
                "Seen for the legalisation of the signature of the person named below, affixed "
                "to the following document:",
            ),
            _field("nature_document", "Nature du document", "Document"),
            _field("nombre_exemplaires", "Nombre d'exemplaires", "Number of copies"),
            _text(
                "La légalisation atteste l'authenticité de la signature et non le contenu du "
                "document.",
                "Legalisation attests the authenticity of the signature, not the content of the "
                "document.",
            ),
        ],
    },
}

DEMO_SERVICES: dict[str, list[dict[str, Any]]] = {
    "etat-civil": [BIRTH_CERTIFICATE_COPY, NATIONALITY_CERTIFICATE],
    "mairie-lome": [RESIDENCE_CERTIFICATE, SIGNATURE_LEGALISATION],
}

# Togo's public holidays falling in 2026 on a weekday. The Muslim feasts follow the moon: their
# dates are the expected ones, confirmed by decree each year (edit them in the console).
TOGO_HOLIDAYS_2026: list[tuple[datetime.date, str, str]] = [
    (datetime.date(2026, 1, 1), "Jour de l'an", "New Year's Day"),
    (datetime.date(2026, 3, 20), "Aïd el-Fitr (fin du Ramadan)", "Eid al-Fitr"),
    (datetime.date(2026, 4, 6), "Lundi de Pâques", "Easter Monday"),
    (datetime.date(2026, 4, 27), "Fête de l'indépendance", "Independence Day"),
    (datetime.date(2026, 5, 1), "Fête du travail", "Labour Day"),
    (datetime.date(2026, 5, 14), "Ascension", "Ascension Day"),
    (datetime.date(2026, 5, 25), "Lundi de Pentecôte", "Whit Monday"),
    (datetime.date(2026, 5, 27), "Tabaski (Aïd el-Kébir)", "Eid al-Adha"),
    (datetime.date(2026, 12, 25), "Noël", "Christmas Day"),
]


def _seed_service(definition: dict[str, Any]) -> str:
    """Create, realign or leave one service; returns what happened."""
    fields = {key: value for key, value in definition.items() if key != "code"}
    service = Service.objects.filter(code=definition["code"]).first()
    if service is None:
        services.service_create(**definition, is_published=True)
        return "created"
    before = service.updated_at
    service = services.service_update(
        service=service,
        changes={k: v for k, v in fields.items() if k in services.SERVICE_EDITABLE_FIELDS},
    )
    state = "updated" if service.updated_at != before else "unchanged"
    if not service.is_published:
        services.service_publish(service=service)
        state = "published"
    return state


def _seed_document(code: str) -> None:
    """Give a demo service its document definition (a new version only when it changed)."""
    document = DEMO_DOCUMENTS.get(code)
    service = Service.objects.filter(code=code).first()
    if document is not None and service is not None:
        services.document_definition_save(service=service, definition=document, actor_id="demo")


def seed_agency_catalogue(
    *,
    agency: Agency,
    definitions: list[dict[str, Any]],
    holidays: list[tuple[datetime.date, str, str]],
) -> list[str]:
    """Make one agency's catalogue match the definitions; returns lines to print."""
    lines: list[str] = []
    with schema_context(agency.schema_name), transaction.atomic():
        for definition in definitions:
            state = _seed_service(definition)
            _seed_document(definition["code"])
            lines.append(f"{agency.slug}: service {definition['code']} ({state})")
        known = set(PublicHoliday.objects.values_list("date", flat=True))
        added = 0
        for date, name_fr, name_en in holidays:
            if date not in known:
                services.public_holiday_create(date=date, name_fr=name_fr, name_en=name_en)
                added += 1
        from apps.certificates.demo import DEMO_SIGNATORIES, seed_document_settings

        if agency.slug in DEMO_SIGNATORIES:
            lines.append(f"{agency.slug}: {seed_document_settings(agency.slug)}")
        lines.append(f"{agency.slug}: {len(holidays)} public holidays ({added} added)")
    return lines


def seed_demo_catalogue(*, agencies: Iterable[Agency]) -> list[str]:
    """Seed the demo services and holidays of every demo agency in ``agencies``."""
    lines: list[str] = []
    for agency in agencies:
        definitions = DEMO_SERVICES.get(agency.slug)
        if definitions is None:
            continue
        lines += seed_agency_catalogue(
            agency=agency, definitions=definitions, holidays=TOGO_HOLIDAYS_2026
        )
    return lines
