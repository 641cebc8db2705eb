"""Accent- and case-insensitive French-friendly search of the cross-agency catalogue.

How: texts are folded in Python (Unicode NFKD, combining marks dropped, casefolded, ``œ`` ->
``oe``) before PostgreSQL sees them, both when the index row is written and when a query is
parsed. The folded French texts go through the built-in ``french`` text search configuration
(Snowball stemming: "certificats" finds "certificat") and the English texts and codes through
``simple``; the tsvector is stored on the row and indexed with GIN, and each query term is a
prefix (``naiss`` finds "naissance") so the search box works while typing.

Why not ``unaccent`` or ``pg_trgm``: both are contrib extensions that the embedded PostgreSQL
(pgserver wheel, the no-env-var default) does not ship and that need ``CREATE EXTENSION``
rights in production. Folding in Python gives the same behaviour on every engine with core
PostgreSQL only. Trigram similarity would forgive typos but cannot use stemming and ranks
short names poorly; catalogue names are short, well-spelled official titles, so stemming and
prefixes matter more than fuzziness.
"""

from __future__ import annotations

import re
import unicodedata

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import CharField, Value
from django.db.models.expressions import CombinedExpression

MAX_TERMS = 8
TERM_RE = re.compile(r"[a-z0-9]+")
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'"})


def fold(text: str) -> str:
    """Lowercase, accent-free text: ``"État civil"`` -> ``"etat civil"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_terms(query: str) -> list[str]:
    """The words of a search box entry, folded (punctuation dropped; at most ``MAX_TERMS``)."""
    return TERM_RE.findall(fold(query))[:MAX_TERMS]


def _vector(text: str, *, config: str, weight: str) -> SearchVector:
    return SearchVector(Value(fold(text), output_field=CharField()), config=config, weight=weight)


def build_search_vector(
    *,
    code: str,
    name_fr: str,
    name_en: str,
    category: str,
    description_fr: str,
    description_en: str,
) -> CombinedExpression:
    """The expression stored in ``ServiceEntry.search_vector`` (names weigh most)."""
    return (
        _vector(name_fr, config="french", weight="A")
        + _vector(name_en, config="simple", weight="A")
        + _vector(f"{category} {code.replace('-', ' ')}", config="simple", weight="B")
        + _vector(description_fr, config="french", weight="C")
        + _vector(description_en, config="simple", weight="D")
    )


def build_search_query(terms: list[str]) -> SearchQuery:
    """Every term as a prefix, all required, matched in French (stemmed) or as written.

    Terms come from ``search_terms`` (letters and digits only), so nothing of the user's input
    reaches the tsquery syntax.
    """
    raw = " & ".join(f"{term}:*" for term in terms)
    return SearchQuery(raw, config="french", search_type="raw") | SearchQuery(
        raw, config="simple", search_type="raw"
    )
