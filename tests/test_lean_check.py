"""`check` on its lean path (sqlite3, no ORM) answers exactly what the service answers.

Every case of the demo's ten regions is checked both ways, in Dutch and English, as a table
and as JSON, with and without a target, and so are the invocations the lean path leaves to
the service (an error, mostly): same exit code, same stdout, same stderr. The demo places
regions in the national network, so the coverage checks are compared too.
"""

from __future__ import annotations

import getpass
import sqlite3
from pathlib import Path

import pytest

from tests.support import Run, cli_imports, demo_database, invoke
from tests.test_lean import SHIPPED_CONFIG, _env, _same

pytestmark = pytest.mark.shipped_workflows

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, made by ``onderwijsflow demo`` in a child process."""
    return demo_database(tmp_path_factory.mktemp("lean-check"))


def _cases(db: Path) -> list[tuple[str, str, str | None, str]]:
    """(slug, workflow, round, state) of every case of the demo."""
    with sqlite3.connect(db) as connection:
        return [(slug, workflow, round_ or None, state) for slug, workflow, round_, state in
                connection.execute("SELECT r.slug, c.workflow, c.round, c.state FROM cases c "
                                   "JOIN regions r ON r.id = c.region_id ORDER BY r.slug, c.id")]


def _both(db: Path, args: tuple[str, ...], lang: str, monkeypatch: pytest.MonkeyPatch, *,
          lean_expected: bool) -> tuple[Run, Run]:
    """(lean, full) runs of `args`; with `lean_expected`, building the application fails."""
    from onderwijsflow.cli import Settings

    url = f"sqlite:///{db}"
    full = invoke(("--config", str(SHIPPED_CONFIG), *args), _env(url, lang))
    with monkeypatch.context() as patch:
        if lean_expected:
            def refuse(self: Settings) -> None:
                raise AssertionError("the full path was taken")

            patch.setattr(Settings, "app", property(refuse))
        lean = invoke(args, _env(url, lang))
    return lean, full


def _case_args(slug: str, workflow: str, round_: str | None) -> tuple[str, ...]:
    return ("check", slug, "--workflow", workflow, *(("--round", round_) if round_ else ()))


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_case_is_checked_as_the_service_checks_it(
        demo_db: Path, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = _cases(demo_db)
    assert len(cases) > 20
    for slug, workflow, round_, _state in cases:
        for tail in ((), ("--json",)):
            lean, full = _both(demo_db, (*_case_args(slug, workflow, round_), *tail), lang,
                               monkeypatch, lean_expected=True)
            assert full.code == 0, str(full)
            _same(lean, full)


def test_a_region_with_one_case_needs_no_workflow(demo_db: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    single = [slug for slug, *_ in _cases(demo_db)
              if sum(1 for other, *_ in _cases(demo_db) if other == slug) == 1]
    assert single, "the demo has a region with a single case"
    lean, full = _both(demo_db, ("check", single[0]), "nl", monkeypatch, lean_expected=True)
    assert full.code == 0
    _same(lean, full)


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_the_way_to_a_target_is_the_services(demo_db: Path, as_json: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A reachable target of each regiovorming case (with the steps' unmet requirements)."""
    targets = {"verkenning": "actief", "actief": "samengevoegd"}
    checked = 0
    for slug, workflow, round_, state in _cases(demo_db):
        if workflow != "regiovorming" or state not in targets:
            continue
        args = (*_case_args(slug, workflow, round_), "--target", targets[state])
        lean, full = _both(demo_db, (*args, "--json") if as_json else args, "en", monkeypatch,
                           lean_expected=True)
        assert full.code == 0, str(full)
        _same(lean, full)
        checked += 1
    assert checked >= 5


#: Invocations the lean path leaves to the service: the same output (an error, mostly).
FALLBACKS = [
    ("check", "nope"),
    ("check", "duinzich"),                                   # the service suggests the slug
    ("check", "duinzicht"),                                  # several cases: name one
    ("check", "duinzicht", "--workflow", "subsidy"),         # no such workflow
    ("check", "beekdal", "--workflow", "subsidie"),          # no such case
    ("check", "heideveld", "--workflow", "subsidie", "--round", "1999"),
    ("check", "beekdal", "--target", "no_such_state"),       # not a state
    ("check", "heideveld", "--workflow", "voorlopers", "--target", "aangevraagd"),  # behind it
]


@pytest.mark.parametrize("args", FALLBACKS, ids=" ".join)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_fallbacks_give_the_services_answer(demo_db: Path, args: tuple[str, ...], lang: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    lean, full = _both(demo_db, args, lang, monkeypatch, lean_expected=False)
    assert full.code != 0, str(full)
    _same(lean, full)


def test_stored_users_decide_what_is_permitted(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Once users are stored their roles decide which triggers they may fire (`stop` is the
    admin's in this workflow), and someone without an entry may fire none: both paths alike."""
    from tests.support import library
    from tests.test_service import REGIO_V1

    workflows = tmp_path / "workflows"
    workflows.mkdir()
    # Named as the workflow the shipped configuration opens with every new region.
    (workflows / "regiovorming.yaml").write_text(
        REGIO_V1.replace("workflow: regio\n", "workflow: regiovorming\n"), encoding="utf-8")
    db = tmp_path / "users.db"
    with library(db, workflows=str(workflows), actor=getpass.getuser()) as app:
        app.init()
        app.create_region("oost", name="Oost", sectors=["PO"])
        app.add_user(getpass.getuser(), roles=("admin",))
        app.add_user("anne", roles=("coordinator",))
    outputs = {}
    for actor in (getpass.getuser(), "anne", "nobody"):
        args = ("--workflows", str(workflows), "--actor", actor, "check", "oost")
        lean, full = _both(db, args, "en", monkeypatch, lean_expected=True)
        assert full.code == 0, str(full)
        _same(lean, full)
        outputs[actor] = lean.out
    assert "stop (stop) to ‘Gestopt’: allowed" in outputs[getpass.getuser()]
    assert "not permitted for you" in outputs["anne"]
    assert outputs["nobody"] != outputs[getpass.getuser()]


def test_the_lean_check_imports_no_orm(demo_db: Path) -> None:
    """In a fresh process `check` imports neither SQLModel nor SQLAlchemy."""
    _out, imported = cli_imports(demo_db, "check", "beekdal")
    assert "onderwijsflow.readiness.lean" in imported
    assert not {"sqlalchemy", "sqlmodel", "onderwijsflow.service"} & imported
