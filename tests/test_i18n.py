"""The language machinery: the catalog is complete and fresh, the language is chosen as
documented, CLDR formats dates and money, and click's own texts follow the language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onderwijsflow import i18n
from onderwijsflow.i18n import catalog


def test_catalog_is_complete_fresh_and_compiled() -> None:
    """Fails on a message without a Dutch translation, a message in the source that is not in
    the catalog (or the reverse), a translation that lost a {placeholder}, or a stale .mo."""
    problems = catalog.problems()
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems; see " \
        "python -m onderwijsflow.i18n.catalog)"


def test_the_check_notices_a_new_untranslated_message(tmp_path: Path, monkeypatch) -> None:
    """The completeness check is real: a catalog missing one message, or with a placeholder
    dropped, or a .mo from an older catalog, is reported."""
    from babel.messages.pofile import read_po, write_po

    with catalog.PO.open("rb") as f:
        po = read_po(f, locale="nl")
    victim = next(m for m in po if m.id and isinstance(m.id, str) and "{" in m.id)
    po.delete(victim.id, victim.context)
    renamed = next(m for m in po if m.id and isinstance(m.id, str) and "{" in m.id)
    renamed.string = "zonder plaatshouders"
    fake = tmp_path / "onderwijsflow.po"
    with fake.open("wb") as f:
        write_po(f, po)
    monkeypatch.setattr(catalog, "PO", fake)
    monkeypatch.setattr(catalog, "MO", tmp_path / "onderwijsflow.mo")
    found = catalog.problems()
    assert any(p.startswith("not in the catalog") and repr(victim.id) in p for p in found)
    assert any(p.startswith("placeholders differ") and repr(renamed.id) in p for p in found)
    assert any("is not compiled" in p for p in found)


def test_placeholders_are_read_from_both_format_styles() -> None:
    assert catalog._fields("Region {slug} moved {n} times") == {"slug", "n"}
    assert catalog._fields("%(prog)s, version %(version)s") == {"prog", "version"}
    assert catalog._fields("{value!r} is not {choice}.") == {"value", "choice"}


def test_language_precedence(monkeypatch) -> None:
    monkeypatch.delenv(i18n.ENV, raising=False)
    i18n.set_language(None)
    assert i18n.current() == "nl" and not i18n.explicit()
    monkeypatch.setenv(i18n.ENV, "en_GB.UTF-8")
    assert i18n.current() == "en" and i18n.explicit()
    i18n.set_language("NL")
    assert i18n.current() == "nl"
    with i18n.using("en"):
        assert i18n.gettext("Usage:") == "Usage:"
    assert i18n.gettext("Usage:") == "Gebruik:"
    with pytest.raises(i18n.LanguageError, match="unknown language 'fr'"):
        i18n.set_language("fr")


def test_configuration_sets_the_language_unless_chosen(tmp_path: Path, monkeypatch) -> None:
    from onderwijsflow.service import Onderwijsflow

    config = tmp_path / "c.yaml"
    config.write_text("language: en\n")
    monkeypatch.delenv(i18n.ENV, raising=False)
    i18n.set_language(None)
    Onderwijsflow.open(db=f"sqlite:///{tmp_path / 'a.db'}", config=config).close()
    assert i18n.current() == "en"
    i18n.set_language("nl")
    Onderwijsflow.open(db=f"sqlite:///{tmp_path / 'a.db'}", config=config).close()
    assert i18n.current() == "nl", "--lang wins over the configuration"


def test_cldr_dates_numbers_and_money() -> None:
    moment = dt.datetime(2024, 10, 15, 14, 0, tzinfo=dt.UTC)  # 16:00 in Amsterdam
    with i18n.using("nl"):
        assert i18n.format_datetime(moment) == "dinsdag 15 oktober 2024, 16:00"
        assert i18n.format_date(dt.date(2025, 1, 31)) == "vrijdag 31 januari 2025"
        assert i18n.format_money(1_275_000) == "€ 1.275.000"
        assert i18n.format_money(Decimal("2500.5")) == "€ 2.500,50"
        assert i18n.format_number(29000) == "29.000"
        assert i18n.join_or(["beroepsgroep", "vakbond"]) == "beroepsgroep of vakbond"
    with i18n.using("en"):
        assert i18n.format_datetime(moment) == "Tuesday 15 October 2024, 16:00"
        # The same instant given in another zone, and a naive moment (taken as it is):
        # formatting is kept per value, never handed the wall time of another.
        elsewhere = moment.astimezone(dt.timezone(dt.timedelta(hours=5)))
        assert i18n.format_datetime(elsewhere) == "Tuesday 15 October 2024, 16:00"
        assert i18n.format_datetime(dt.datetime(2024, 10, 15, 14, 0)) == "Tuesday 15 October 2024, 14:00"
        assert i18n.format_money(1_275_000) == "€1,275,000"
        assert i18n.join_and(["a", "b", "c"]) == "a, b and c"


def _cli(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from onderwijsflow.cli import main

    with CliRunner().isolation(env={i18n.ENV: None, "COLUMNS": "200"}) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_help_and_clicks_own_messages_follow_the_language() -> None:
    code, out, _ = _cli("--help")
    assert code == 0 and out.startswith("Gebruik: onderwijsflow [OPTIES] OPDRACHT")
    assert "Opties:" in out and "Toon deze hulptekst en stop." in out
    assert "Show this message" not in out and "Options:" not in out
    code, _, err = _cli("region", "create")
    assert code == 2 and "Fout: Ontbrekend argument 'SLUG'." in err
    # The same process in English afterwards: the help texts start again from the source.
    code, out, _ = _cli("--lang", "en", "--help")
    assert out.startswith("Usage: onderwijsflow [OPTIONS] COMMAND") and "Show this message" in out
    code, out, _ = _cli("--lang=nl", "region", "--help")
    assert "Regio's aanmaken" in out


def test_an_unknown_language_is_one_sentence() -> None:
    code, _, err = _cli("--lang", "fr", "region", "list")
    assert code == 2 and "'fr' is niet een van 'nl', 'en'" in err


@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
       language=st.sampled_from(["nl", "en"]))
def test_days_are_written_as_babel_writes_them(day: dt.date, language: str) -> None:
    """Dates are put together from the CLDR words kept between runs (`i18n.cldr`): the text
    is Babel's, pattern for pattern."""
    from babel.dates import format_date, format_datetime

    with i18n.using(language):
        cldr_locale = i18n.locale()
        assert i18n.format_date(day) == format_date(day, "EEEE d MMMM y", locale=cldr_locale)
        assert i18n.format_day(day) == format_date(day, "d MMM y", locale=cldr_locale)
        assert i18n.format_sentence_day(day) == format_date(day, "d MMMM y", locale=cldr_locale)
        moment = dt.datetime.combine(day, dt.time(7, 5))
        assert i18n.format_datetime(moment) == format_datetime(moment, "EEEE d MMMM y, HH:mm",
                                                               locale=cldr_locale)


@given(value=st.integers(min_value=-(10**18), max_value=10**18)
       | st.decimals(min_value=-(10**15), max_value=10**15, places=0)
       | st.sampled_from([Decimal("-0"), Decimal("0"), Decimal("1E+3"), Decimal("15000"),
                          Decimal("-15000.0")]),
       language=st.sampled_from(["nl", "en"]))
def test_whole_numbers_are_written_as_babel_writes_them(value: int | Decimal, language: str) -> None:
    """Whole numbers, in sentences and tables, are written from the kept CLDR words: the text
    is Babel's, for integers and for decimals written without decimals alike."""
    from babel.numbers import format_decimal

    from onderwijsflow.engine.checks import _number

    with i18n.using(language):
        places = 0 if type(value) is int else max(0, -int(value.as_tuple().exponent))
        if not places:  # decimals written with decimals keep them: Babel's pattern says so
            assert i18n.format_number(value) == format_decimal(value, locale=i18n.locale())
        pattern = None if type(value) is int else "#,##0" + ("." + "0" * places if places else "")
        assert _number(value) == format_decimal(value, format=pattern, locale=i18n.locale(),
                                                decimal_quantization=False)


def test_the_cldr_words_are_kept_and_read_back_without_babel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading Babel's locale data costs more than a read command: the words are kept in the
    user's cache and read back from there, keyed by Babel's release."""
    from onderwijsflow.i18n import cldr

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cldr.words.cache_clear()
    try:
        worked_out = cldr.words("nl_NL")
        assert worked_out.months_short[4] == "mei" and worked_out.days[0] == "maandag"
        assert list((tmp_path / "cache").rglob("*.json"))

        def asked(locale: str) -> dict[str, Any]:
            raise AssertionError(f"Babel asked again for {locale}")

        cldr.words.cache_clear()
        monkeypatch.setattr(cldr, "_from_babel", asked)
        assert cldr.words("nl_NL") == worked_out
        cldr.words.cache_clear()
        monkeypatch.setattr(cldr, "_FORMAT", "cldr-words-changed")
        with pytest.raises(AssertionError, match="asked again for nl_NL"):
            cldr.words("nl_NL")
    finally:
        cldr.words.cache_clear()


def test_numbers_that_compare_equal_are_written_each_as_itself() -> None:
    """Babel's texts are remembered per value as written: 0 and -0, 1 and 1.0 compare equal
    (and hash alike) but are written differently."""
    from onderwijsflow.engine.checks import _number

    with i18n.using("en"):
        assert [_number(v) for v in (Decimal("0"), Decimal("-0"), Decimal("0"))] == ["0", "-0", "0"]
        assert [_number(v) for v in (0.0, -0.0, 0.0)] == ["0", "-0", "0"]
