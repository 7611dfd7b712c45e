"""Readiness: what `check` answers, built once for the service and for its lean path.

:mod:`onderwijsflow.readiness.answer` turns a case, its machine and its snapshot into the
JSON of design §4; :mod:`onderwijsflow.readiness.lean` reads those with the standard
library's ``sqlite3`` instead of the ORM (the workflow language and the engine are still
used: the requirements are evaluated by the same checks), so that `check` starts in a
fraction of the time the service takes to import.
"""
