"""A released workflow version is frozen: databases in use hold its text and refuse a file
whose text differs under the same version (service/catalog.py). A change to a shipped
workflow therefore needs a higher `version:` (and `migrates_from:`); add its digest here."""

from __future__ import annotations

import hashlib

import pytest

from onderwijsflow.engine.loading import load_directory
from onderwijsflow.resources import shipped

pytestmark = pytest.mark.shipped_workflows

#: (workflow, version) -> SHA-256 of the file as released.
RELEASED = {
    ("voorlopers", 1): "7b4e057d27711ab4916167cfaaa029bcf5c035b3e7ae147e1dd2d85d09aa94c6",
    ("regiovorming", 2): "01cfd1841e01ec9db2b4a0ba21ec732c63564dd586c1b84606d9e76bd17505a3",
    ("subsidie", 2): "9177cbd6810b8251d845eaab46e767ca1d268b7be5f853eae7c04ff305905dcc",
    ("subsidie", 3): "9646929a0ea954bd1f69c709c3f7749dd1e3bca4ff9b438400e6f748c3326c8e",
    ("aanvulling", 1): "f913c73dbd25fb4213e826276d5602d6b66ac8927e893322bc591b5b25661b60",
}


def test_a_released_version_keeps_its_text() -> None:
    changed = []
    for name, loaded in load_directory(shipped("workflows")).items():
        digest = hashlib.sha256(loaded.text.encode("utf-8")).hexdigest()
        released = RELEASED.get((name, loaded.version))
        if released is not None and released != digest:
            changed.append(f"{name} version {loaded.version}")
    assert not changed, (f"{', '.join(changed)} changed without a higher version: existing "
                         "databases would refuse to start")
