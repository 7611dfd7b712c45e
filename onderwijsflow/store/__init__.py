"""The store: tables, sessions, migrations and the hash-chained audit log."""
