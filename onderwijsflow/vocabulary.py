"""The fixed vocabularies of the domain: partner kinds, sectors, roles, document kinds.

They are closed sets on purpose: a typo in a workflow file or on the command line
("beroepsgroe") must be an error with a suggestion, not a requirement that can never pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from onderwijsflow.i18n import N_, _, label_for

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


#: How a sentence names each kind of thing: English source, Dutch in the catalog. A kind
#: without an entry is shown as its slug with underscores as spaces.
PARTNER_LABELS: dict[str, str] = {
    "schoolbestuur": N_("school board"),
    "lerarenopleiding": N_("teacher-training institute"),
    "beroepsgroep": N_("profession group"),
    "vakbond": N_("union"),
    "gemeente": N_("municipality"),
    "overig": N_("other partner"),
}

#: A partner kind counted ("2 school boards").
PARTNER_PLURALS: dict[str, str] = {
    "schoolbestuur": N_("school boards"),
    "lerarenopleiding": N_("teacher-training institutes"),
    "beroepsgroep": N_("profession groups"),
    "vakbond": N_("unions"),
    "gemeente": N_("municipalities"),
    "overig": N_("other partners"),
}

ROLE_LABELS: dict[str, str] = {
    "programmamanager": N_("programme manager"),
    "projectleider": N_("project leader"),
    "contactpersoon": N_("contact person"),
    "penvoerder": N_("lead applicant (penvoerder)"),
    "bestuurder": N_("board member"),
    "kwartiermaker": N_("quartermaster (kwartiermaker)"),
    "secretaris": N_("secretary"),
    "coordinator": N_("RE coordinator"),
}

#: Documents as the subject of a sentence ("the RE's advice is missing").
DOCUMENT_LABELS: dict[str, str] = {
    "plan_van_aanpak": N_("the plan of action"),
    "concept_plan_van_aanpak": N_("the draft plan of action"),
    "paragraaf_samen_opleiden": N_("the section on training together"),
    "arbeidsmarktanalyse": N_("the labour-market analysis"),
    "visie_en_ambitie": N_("the vision and ambition"),
    "governance": N_("the governance description"),
    "samenwerkingsovereenkomst": N_("the cooperation agreement"),
    "intentieverklaring": N_("the declaration of intent"),
    "advies_re": N_("the RE's advice"),
    "subsidieaanvraag": N_("the grant application"),
    "beschikking": N_("the grant decision"),
    "bezwaarschrift": N_("the notice of objection"),
    "beslissing_op_bezwaar": N_("the decision on the objection"),
    "voortgangsrapportage": N_("the progress report"),
    "jaarverslag": N_("the annual report"),
    "verantwoording": N_("the accountability report"),
    "vaststelling": N_("the final grant determination"),
    "overig": N_("another document"),
}


#: The names of the vocabularies, as error sentences use them ("unknown partner kind 'x'").
KIND_WORDS: tuple[str, ...] = (
    N_("partner kind"), N_("sector"), N_("role"), N_("document kind"), N_("actor role"),
    N_("notify target"), N_("record kind"), N_("region role"),
)


def partner_label(kind: str, count: int = 1) -> str:
    """A partner kind as a person says it, in the current language; plural for a `count`
    other than 1 ("2 school boards")."""
    return label_for(PARTNER_LABELS if count == 1 else PARTNER_PLURALS, kind)


def role_label(role: str) -> str:
    """A role as a person says it, in the current language."""
    return label_for(ROLE_LABELS, role)


def document_label(kind: str) -> str:
    """A document kind as the subject of a sentence, in the current language."""
    return label_for(DOCUMENT_LABELS, kind)


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return _(" (did you mean '{word}'?)").format(word=close[0]) if close else ""


def require_member(kind: str, word: str, choices: Iterable[str]) -> str | None:
    """Return an error sentence when `word` is not one of `choices`, else None."""
    choices = tuple(choices)
    if word in choices:
        return None
    return _("unknown {kind} '{word}'{suggestion}; known: {known}").format(
        kind=_(kind), word=word, suggestion=suggest(word, choices), known=", ".join(choices))


#: What each kind of audit event is called where a person reads it (the code where it is typed:
#: ``history --kind fact_set``, and in JSON).
EVENT_KINDS: dict[str, str] = {
    "region_created": N_("region created"),
    "region_updated": N_("region updated"),
    "case_opened": N_("case opened"),
    "transition": N_("transition"),
    "refused": N_("refused"),
    "migrated": N_("migrated to a new version"),
    "fact_set": N_("fact set"),
    "fact_unset": N_("fact unset"),
    "partner_added": N_("partner added"),
    "partner_removed": N_("partner removed"),
    "role_assigned": N_("role assigned"),
    "role_unassigned": N_("role unassigned"),
    "document_added": N_("document added"),
    "document_removed": N_("document removed"),
    "record_added": N_("record added"),
    "reminder_sent": N_("reminder sent"),
    "reminder_failed": N_("reminder not delivered"),
    "reminder_unknown": N_("reminder perhaps delivered"),
    "reminder_resend": N_("reminder queued again"),
    "delivery_escalated": N_("reported to the operators"),
    "municipality_added": N_("municipality added"),
    "municipality_removed": N_("municipality removed"),
    "location_added": N_("school location added"),
    "location_removed": N_("school location removed"),
}


def kind_word(kind: str) -> str:
    """An event kind as a person reads it (an unknown kind: its code with spaces)."""
    return label_for(EVENT_KINDS, kind)
