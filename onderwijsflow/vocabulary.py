"""The fixed vocabularies of the domain: partner kinds, sectors, roles, document kinds.

They are closed sets on purpose: a typo in a workflow file or on the command line
("beroepsgroe") must be an error with a suggestion, not a requirement that can never pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

SECTORS: tuple[str, ...] = ("PO", "VO", "SO", "VSO", "MBO", "HO")

PARTNER_KINDS: tuple[str, ...] = (
    "schoolbestuur",
    "lerarenopleiding",
    "beroepsgroep",
    "vakbond",
    "gemeente",
    "overig",
)

REGION_ROLES: tuple[str, ...] = (
    "programmamanager",
    "projectleider",
    "contactpersoon",
    "penvoerder",
    "bestuurder",
    "kwartiermaker",
    "secretaris",
)

#: Roles an actor (a user of onderwijsflow) can hold, from the configuration's `actors:`.
ACTOR_ROLES: tuple[str, ...] = ("coordinator", "override", "auditor", "admin")

#: `coordinator` in a milestone's `notify:` means the region's RE coordinator.
NOTIFY_TARGETS: tuple[str, ...] = (*REGION_ROLES, "coordinator")

DOCUMENT_KINDS: tuple[str, ...] = (
    "plan_van_aanpak",
    "concept_plan_van_aanpak",
    "paragraaf_samen_opleiden",
    "arbeidsmarktanalyse",
    "visie_en_ambitie",
    "governance",
    "samenwerkingsovereenkomst",
    "intentieverklaring",
    "advies_re",
    "subsidieaanvraag",
    "beschikking",
    "bezwaarschrift",
    "beslissing_op_bezwaar",
    "voortgangsrapportage",
    "jaarverslag",
    "verantwoording",
    "vaststelling",
    "overig",
)


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def require_member(kind: str, word: str, choices: Iterable[str]) -> str | None:
    """Return an error sentence when `word` is not one of `choices`, else None."""
    choices = tuple(choices)
    if word in choices:
        return None
    return f"unknown {kind} '{word}'{suggest(word, choices)}; known: {', '.join(choices)}"
