"""The Jinja2 templates of the web view and the dossier file, with our gettext installed.

Template texts are gettext messages like every other text: ``{{ _("Regions") }}``, formatted
after translation with named fields, ``{{ _("{n} regions").format(n=count) }}``, and
``ngettext`` for plurals. Extract them with Babel's Jinja2 extractor (see the README section
"Webweergave / web view"). Values are escaped (autoescape); the only markup passed in as
safe is the SVG this package draws, with every text in it escaped.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from onderwijsflow import i18n
from onderwijsflow.vocabulary import document_label, kind_word, partner_label, role_label

__all__ = ["environment", "render", "stylesheet"]


def _moment(iso: str | None) -> str:
    """``dinsdag 15 oktober 2024, 16:00`` from ISO text ("" for none)."""
    return i18n.format_datetime(dt.datetime.fromisoformat(iso)) if iso else ""


def _day(iso: str | None) -> str:
    """``15 okt 2024`` from an ISO date (or moment) ("" for none)."""
    if not iso:
        return ""
    return i18n.format_day(dt.date.fromisoformat(iso[:10]))


def _short(iso: str | None) -> str:
    from onderwijsflow.reporting.render import short_due

    return short_due(iso)


def _kind(kind: str) -> str:
    return kind_word(kind)


def _status(status: str) -> str:
    from onderwijsflow.deadline_rules import status_label

    return status_label(status)


def _value(value: Any, kind: str | None = None) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return i18n.format_value(value, kind)


@cache
def environment() -> Environment:
    """The template environment (built once per process; the language is read per call)."""
    env = Environment(loader=PackageLoader("onderwijsflow.web", "templates"), autoescape=True,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=False, pgettext=i18n.pgettext)
    env.filters.update(moment=_moment, day=_day, short=_short, kind=_kind, status=_status,
                       value=_value, partner=partner_label, role=role_label,
                       document=document_label, number=i18n.format_number)
    return env


def render(name: str, **context: Any) -> str:
    """Template `name` rendered in the current language."""
    return environment().get_template(name).render(lang=i18n.current(), **context)


@cache
def stylesheet() -> Markup:
    """The stylesheet (``static/style.css``), for a document that must stand alone."""
    return Markup(files("onderwijsflow.web").joinpath("static/style.css").read_text(encoding="utf-8"))
