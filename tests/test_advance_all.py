"""advance-all: each case its own audited decision, written in batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onderwijsflow.errors import Conflict, NotFound
from onderwijsflow.service import Onderwijsflow


@pytest.fixture
def app(tmp_path: Path):
    app = Onderwijsflow.open(db=f"sqlite:///{tmp_path / 'bulk.db'}", actor="anne")
    app.init()
    for i in range(7):
        app.create_region(f"regio-{i}", name=f"Regio {i}")
    for i in range(3):  # three regions can apply: a board, a training institute, documents
        slug = f"regio-{i}"
        app.add_partner(slug, f"Bestuur {i}", kind="schoolbestuur", sector="PO")
        app.add_partner(slug, f"Pabo {i}", kind="lerarenopleiding")
        app.add_document(slug, "intentieverklaring", title="Intentie")
        app.add_document(slug, "arbeidsmarktanalyse", title="Analyse")
    yield app
    app.close()


def _events(app: Onderwijsflow, slug: str) -> list[dict]:
    return app.history(slug, all_events=True)["events"]


def test_moves_the_ready_and_lists_the_rest_with_what_they_miss(app: Onderwijsflow) -> None:
    result = app.advance_all("dien_aanvraag_in", workflow="regiovorming", batch=2,
                             reason="ronde 2024")
    assert result["matched"] == 7
    assert sorted(m["region"] for m in result["moved"]) == ["regio-0", "regio-1", "regio-2"]
    assert sorted(r["region"] for r in result["refused"]) == [f"regio-{i}" for i in range(3, 7)]
    unmet = {u["requirement"] for u in result["refused"][0]["unmet"]}
    assert unmet == {"schoolbestuur_betrokken", "lerarenopleiding_betrokken",
                     "samenwerking_vastgelegd", "arbeidsmarktanalyse_aanwezig"}
    moved = _events(app, "regio-0")[-1]
    assert (moved["kind"], moved["to"], moved["reason"]) == ("transition", "aanvraag_ingediend",
                                                             "ronde 2024")
    assert {e["requirement"] for e in moved["data"]["evidence"]} >= {"schoolbestuur_betrokken"}
    refused = _events(app, "regio-5")[-1]
    assert (refused["kind"], refused["from"]) == ("refused", "verkenning")
    assert app.show_region("regio-1")["cases"]["regiovorming"]["state"] == "aanvraag_ingediend"
    assert app.verify_audit()["ok"]


def test_in_state_filter_and_dry_run_write_nothing(app: Onderwijsflow) -> None:
    before = {f"regio-{i}": len(_events(app, f"regio-{i}")) for i in range(7)}
    result = app.advance_all("trek_in", workflow="regiovorming", in_state="verkenning",
                             dry_run=True)
    assert len(result["moved"]) == 7 and result["dry_run"] is True
    assert {slug: len(_events(app, slug)) for slug in before} == before
    app.advance_all("dien_aanvraag_in", workflow="regiovorming")
    result = app.advance_all("trek_in", workflow="regiovorming", in_state="aanvraag_ingediend")
    assert sorted(m["region"] for m in result["moved"]) == ["regio-0", "regio-1", "regio-2"]
    assert app.list_regions(state="ingetrokken", workflow="regiovorming")[0]["slug"] == "regio-0"
    assert app.verify_audit()["ok"]


def test_unknown_trigger_or_state_is_not_found(app: Onderwijsflow) -> None:
    with pytest.raises(NotFound, match="no trigger 'dien_in'"):
        app.advance_all("dien_in", workflow="regiovorming")
    with pytest.raises(NotFound, match="no state 'verkening'"):
        app.advance_all("trek_in", workflow="regiovorming", in_state="verkening")


def test_a_case_changed_under_the_batch_is_a_conflict_and_nothing_is_written(
        app: Onderwijsflow, monkeypatch: pytest.MonkeyPatch) -> None:
    from onderwijsflow.service import bulk

    before = _events(app, "regio-0")
    real = bulk.BulkOps._decide_one

    def stale(self, session, case, *args, **kwargs):  # another writer moved the case meanwhile
        case.lock_version -= 1
        return real(self, session, case, *args, **kwargs)

    monkeypatch.setattr(bulk.BulkOps, "_decide_one", stale)
    with pytest.raises(Conflict):
        app.advance_all("trek_in", workflow="regiovorming")
    assert _events(app, "regio-0") == before
    assert app.show_region("regio-0")["cases"]["regiovorming"]["state"] == "verkenning"


def _main(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    from onderwijsflow.cli import main

    with CliRunner().isolation(env=env) as (out, _err, _):
        try:
            main(args)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return code, out.getvalue().decode()


def test_cli_json_shape_and_exit_code(app: Onderwijsflow) -> None:
    env = {"ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_ACTOR": "anne"}
    code, out = _main(["advance-all", "dien_aanvraag_in", "--workflow", "regiovorming", "--json"], env)
    assert code == 3  # some were refused
    data = json.loads(out)
    assert len(data["moved"]) == 3 and len(data["refused"]) == 4
    assert {"region", "unmet"} <= set(data["refused"][0])
    code, out = _main(["advance-all", "trek_in", "--workflow", "regiovorming"], env)
    assert code == 0, out
    assert "7 of 7 case(s) moved by trek_in; 0 refused" in out


def test_a_trigger_not_possible_from_the_given_state_is_refused_up_front(app: Onderwijsflow) -> None:
    from onderwijsflow.errors import Refused

    before = {f"regio-{i}": len(_events(app, f"regio-{i}")) for i in range(7)}
    with pytest.raises(Refused, match="not possible from state 'definitieve_status'"):
        app.advance_all("dien_aanvraag_in", workflow="regiovorming", in_state="definitieve_status")
    assert {slug: len(_events(app, slug)) for slug in before} == before  # no refused events


def test_only_cases_the_trigger_leaves_from_are_tried(app: Onderwijsflow) -> None:
    app.advance_all("dien_aanvraag_in", workflow="regiovorming")  # three move on
    assert app.count_matching("dien_aanvraag_in", workflow="regiovorming") == 4
    assert app.count_matching("zet_in_oprichting", workflow="regiovorming") == 3
    before = len(_events(app, "regio-0"))
    result = app.advance_all("dien_aanvraag_in", workflow="regiovorming")
    assert result["matched"] == 4 and "regio-0" not in {r["region"] for r in result["refused"]}
    assert len(_events(app, "regio-0")) == before  # a case in another state gets no refusal


def test_a_large_bulk_write_asks_first_at_a_terminal(app: Onderwijsflow, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import onderwijsflow.cli.cases as cases
    from onderwijsflow.cli import cli

    monkeypatch.setattr(cases, "CONFIRM_ABOVE", 5)
    monkeypatch.setattr(cases, "at_a_terminal", lambda: True)
    env = {"ONDERWIJSFLOW_DB": app.db_url, "ONDERWIJSFLOW_ACTOR": "anne"}
    args = ["advance-all", "trek_in", "--workflow", "regiovorming"]
    before = len(_events(app, "regio-6"))
    refused = CliRunner().invoke(cli, args, input="n\n", env=env)
    assert refused.exit_code == 1 and "Fire trek_in for 7 cases" in refused.output
    assert len(_events(app, "regio-6")) == before
    done = CliRunner().invoke(cli, [*args, "--yes"], env=env)
    assert done.exit_code == 0, done.output
    assert app.show_region("regio-6")["cases"]["regiovorming"]["state"] == "ingetrokken"
