"""What a text works out to, kept as JSON keyed by the text's SHA-256, so a command skips
the work the next time.

The lean read path reads the workflow files and the shipped configuration on every start;
importing PyYAML and building the documents cost `region show` about a fifth of its time.
Working days ask `holidays` (which imports every country) and dates ask Babel (which loads
its CLDR data): their answers are kept the same way, keyed by a text naming what decides
them (:func:`onderwijsflow.deadline_rules._holidays`, :mod:`onderwijsflow.i18n.cldr`).
A text's data is the same every time (the key is the hash of the text itself), so it is
kept after the first parse as JSON, which the standard library reads in C, in the user's
cache directory (``$XDG_CACHE_HOME/onderwijsflow``, else ``~/.cache/onderwijsflow``). Dates
and times are tagged; a document that would not come back identical is not kept. A cache
that cannot be read or written costs only the parse: it is never an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cache_directory", "cached_parse"]

#: The version of the cache's format (part of each file's name).
_FORMAT = 1
_TAGS: dict[str, Callable[[str], Any]] = {
    "$datetime": dt.datetime.fromisoformat, "$date": dt.date.fromisoformat}


def cache_directory() -> Path:
    """Where parsed texts are kept (``$XDG_CACHE_HOME/onderwijsflow/yaml``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "onderwijsflow" / "yaml"


def cached_parse(text: str, parse: Callable[[str], Any]) -> Any:
    """`parse(text)`, from the cache when this text was parsed before."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = cache_directory() / f"{key}.v{_FORMAT}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_hook=_decode)
    except (OSError, ValueError):
        pass
    data = parse(text)
    _keep(path, data)
    return data


def _keep(path: Path, data: Any) -> None:
    """Write `data` to `path` atomically, if it comes back from JSON exactly as it is."""
    import tempfile

    try:
        encoded = json.dumps(data, default=_encode, ensure_ascii=False)
        if json.loads(encoded, object_hook=_decode) != data:
            return  # e.g. a mapping with a non-text key, or a key that looks like a tag
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         suffix=".tmp", delete=False) as out:
            out.write(encoded)
    except (OSError, TypeError, ValueError):
        return
    try:
        os.replace(out.name, path)
    except OSError:
        Path(out.name).unlink(missing_ok=True)


def _encode(value: Any) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"not kept as JSON: {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((tag, text),) = obj.items()
        decode = _TAGS.get(tag)
        if decode is not None and isinstance(text, str):
            return decode(text)
    return obj
