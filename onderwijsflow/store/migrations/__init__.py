"""Alembic migrations of the onderwijsflow schema, shipped inside the package.

The revision ids are zero-padded numbers in order (``0001``, ``0002``, ...). `HEAD` and
`REVISIONS` repeat what the scripts in ``versions/`` say, so that normal start-up can check
the schema without importing alembic (about 300 ms); a test keeps them in step.
"""

#: Every revision of the schema, oldest first.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006")

#: The revision this version of the code expects.
HEAD: str = REVISIONS[-1]
