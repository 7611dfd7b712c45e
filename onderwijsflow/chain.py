"""The audit log's hashing: one canonical JSON text per event, chained with SHA-256.

Moved here from :mod:`onderwijsflow.store.audit` (which re-exports these names) so that
`audit verify` can check the chains on the lean path, without SQLAlchemy. Pure: the standard
library only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["HASHED_FIELDS", "canonical_json", "event_hash", "moment_text"]

#: The event fields covered by its hash, i.e. every column except ``id`` and ``hash``.
HASHED_FIELDS: tuple[str, ...] = (
    "region_id",
    "seq",
    "case_id",
    "workflow",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "reason",
    "at",
    "recorded_at",
    "data",
    "prev_hash",
)



def canonical_json(value: Any) -> str:
    """One fixed JSON text for `value`: sorted keys, no spaces, no NaN.

    Datetimes become ISO 8601 in UTC with microseconds (what both databases store), dates
    ISO 8601 and decimals their exact text, so that a value read back from the database
    encodes exactly as it did before it was written.

    Raises:
        TypeError: `value` holds something JSON cannot represent.
        ValueError: `value` holds NaN or an infinity.
    """
    return _CANONICAL.encode(value)


def moment_text(value: datetime) -> str:
    """An aware moment as canonical JSON holds it: ISO 8601 in UTC with microseconds.

    Raises:
        TypeError: `value` is naive.
    """
    if value.utcoffset() is None:
        raise TypeError(f"naive datetime {value!r} cannot be hashed; use an aware one")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return moment_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


#: The encoder of `canonical_json`, made once: ``json.dumps`` with these options builds a new
#: encoder on every call, a measurable part of writing an event in bulk work.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False, default=_encode)


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of an event: SHA-256 over `prev_hash` and the canonical JSON of `fields`.

    Args:
        prev_hash: the hash of the region's previous event ("" for its first).
        fields: the event's `HASHED_FIELDS` (extra keys are ignored).

    Returns:
        64 lower-case hex digits.
    """
    content = canonical_json({name: fields.get(name) for name in HASHED_FIELDS})
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()
