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

    # The databases the tests' child processes create are practice databases (issue 9), as
    # the in-process tests' are (``conftest.practice_databases``): once the service's base
    # module is imported, its `default_practice` is switched on. Nothing outside a test's
    # own process can do this; a configuration file or the environment cannot.
    import importlib.abc
    import importlib.util
    import sys

    class _PracticeByDefault(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "onderwijsflow.service.base":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                module.Base.default_practice = True

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _PracticeByDefault())
