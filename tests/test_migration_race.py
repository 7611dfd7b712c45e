"""A migration racing an `advance` on the same case: one wins, the other gets exit 5.

Both decide on a read snapshot and write with a compare-and-set, so the interleaving is
made deterministic here: the other writer runs exactly between one side's reading and its
writing (a wrapped seam, no sleeping), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onderwijsflow.errors import Conflict
from onderwijsflow.service import Onderwijsflow

DATA = Path(__file__).resolve().parent / "data" / "taal11"
THEMES = ("werven", "matchen", "opleiden", "begeleiden", "professionaliseren")


@pytest.fixture
def setup(backend_url: str, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A region `noord` whose traject v1 case is in `ingediend`; the v2 directory beside it."""
    config = tmp_path / "config.yaml"
    config.write_text("simulated_clock: true\nstart_with_region: []\n", encoding="utf-8")
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    shutil.copytree(DATA / "v1", v1)
    shutil.copytree(DATA / "v2", v2)
    app = Onderwijsflow.open(db=backend_url, config=config, workflows=v1, actor="anne",
                             now="2024-09-01T10:00")
    try:
        app.init()
        app.create_region("noord", name="Noord")
        app.start_case("noord", "traject", params={"deadline": "2024-10-15"})
        for theme in THEMES:
            app.add_record("noord", "actie", {"thema": theme, "omschrijving": f"actie {theme}"})
        app.advance("noord", "dien_in")
    finally:
        app.close()
    yield backend_url, config, v2


def _open(url: str, config: Path, workflows: Path, actor: str) -> Any:
    return Onderwijsflow.open(db=url, config=config, workflows=workflows, actor=actor,
                              now="2024-09-02T10:00")


def test_a_migration_between_reading_and_writing_makes_advance_lose(
    setup: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import onderwijsflow.service.cases as cases

    url, config, v2 = setup
    # Bert advances with the v1 file; Anne migrates to v2 in between his read and his write.
    bert = _open(url, config, v2.parent / "v1", "bert")
    anne = _open(url, config, v2, "anne")
    try:
        before = len(anne.history("noord", all_events=True)["events"])
        decide = cases._decision_json

        def meanwhile(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(cases, "_decision_json", decide)
            anne.migrate_workflow("traject", to_version=2)
            return decide(*args, **kwargs)

        monkeypatch.setattr(cases, "_decision_json", meanwhile)
        with pytest.raises(Conflict) as raised:
            bert.advance("noord", "wijs_af", decided_by="dus_i", decision_date="2024-09-01",
                         decision_ref="AFW-1")
        assert raised.value.exit_code == 5
        new = anne.history("noord", all_events=True)["events"][before:]
        assert [(e["kind"], e["actor"]) for e in new] == [("migrated", "anne")]
        case = anne.show_region("noord")["cases"]["traject"]
        assert (case["state"], case["version"]) == ("aanvraag_ingediend", 2)
        assert anne.verify_audit()["ok"]
    finally:
        anne.close()
        bert.close()


def test_an_advance_between_reading_and_writing_makes_the_migration_lose(
    setup: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import onderwijsflow.service.migration as migration

    url, config, v2 = setup
    anne = _open(url, config, v2, "anne")
    bert = _open(url, config, v2.parent / "v1", "bert")
    try:
        before = len(anne.history("noord", all_events=True)["events"])
        plan = migration.MigrationOps._plan_all

        def meanwhile(self: Any, *args: Any, **kwargs: Any) -> Any:
            planned = plan(self, *args, **kwargs)
            bert.advance("noord", "wijs_af", decided_by="dus_i", decision_date="2024-09-01",
                         decision_ref="AFW-1")
            return planned

        monkeypatch.setattr(migration.MigrationOps, "_plan_all", meanwhile)
        with pytest.raises(Conflict) as raised:
            anne.migrate_workflow("traject", to_version=2)
        assert raised.value.exit_code == 5
        assert "nothing was written" in str(raised.value)
        new = anne.history("noord", all_events=True)["events"][before:]
        assert [(e["kind"], e["actor"]) for e in new] == [("transition", "bert")]
        assert new[0]["decision"]["ref"] == "AFW-1"
        case = anne.show_region("noord")["cases"]["traject"]
        assert (case["state"], case["version"]) == ("afgewezen", 1)
        assert anne.verify_audit()["ok"]
    finally:
        anne.close()
        bert.close()
