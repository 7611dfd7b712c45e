"""Test helper: child processes of the mechanics tests use the frozen 2024 workflows.

Python imports `sitecustomize` at start-up when it is on the path. With
``ONDERWIJSFLOW_TEST_FROZEN`` set (see ``tests/support.py: frozen_child``), the shipped
workflows and configuration are replaced by the frozen ones under ``tests/data``, exactly as
the in-process tests get them from the ``frozen_workflows`` fixture in ``conftest.py``.
"""

import os

if os.environ.get("ONDERWIJSFLOW_TEST_FROZEN"):
    from pathlib import Path

    import onderwijsflow.resources as _resources

    _DATA = Path(__file__).resolve().parent.parent

    def _frozen(name: str) -> Path:
        return _DATA / ("workflows-2024" if name == "workflows" else "config-2024")

    _resources.shipped = _frozen
