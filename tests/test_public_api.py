"""The package's public names: all resolvable, and importing the package stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import onderwijsflow


def test_every_public_name_resolves() -> None:
    for name in onderwijsflow.__all__:
        assert getattr(onderwijsflow, name) is not None, name
    assert issubclass(onderwijsflow.Refused, onderwijsflow.OnderwijsflowError)
    assert onderwijsflow.Onderwijsflow.__module__ == "onderwijsflow.service"


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = ("import json, sys, onderwijsflow; "
            "print(json.dumps(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'transitions', "
            "'apscheduler', 'pydantic') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
