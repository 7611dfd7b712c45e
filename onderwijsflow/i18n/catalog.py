"""Keep the Dutch catalog in step with the source: extract, merge, compile, check.

Babel does the work (``extract_from_dir``, with Jinja2's extractor for the web view's
templates; ``Catalog.update``, ``write_po``/``write_mo``); this
module adds the one source Babel cannot read, the help texts of the click commands (docstrings
and ``help=``), by walking the command tree, and a check that fails on a message without a
Dutch translation, a stale catalog or a translation that lost a ``{placeholder}``.

    python -m onderwijsflow.i18n.catalog update              # new messages in, obsolete out
    python -m onderwijsflow.i18n.catalog untranslated [--path P] > todo.json
    python -m onderwijsflow.i18n.catalog translate todo.json # {"msgid": "vertaling", ...}
    python -m onderwijsflow.i18n.catalog check               # exit 1 and the problems
"""

from __future__ import annotations

import fcntl
import io
import json
import re
import string
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from onderwijsflow.i18n import DOMAIN, LOCALE_DIR

PACKAGE = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "nl" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")
KEYWORDS: dict[str, Any] = {
    "_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
}
_SKIP = ("i18n/catalog.py", "store/migrations/")


def extract() -> Catalog:
    """Every message in the source: gettext calls, plus the CLI's help texts."""
    template = Catalog(domain=DOMAIN, project="onderwijsflow")
    for path, lineno, message, comments, context in extract_from_dir(
        PACKAGE, method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2")],
        options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True,
    ):
        if any(part in path for part in _SKIP):
            continue
        template.add(message, locations=[(f"onderwijsflow/{path}", lineno)],
                     auto_comments=comments, context=context)
    for where, text in help_texts():
        template.add(text, locations=[(where, 0)])
    return template


def help_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every help text a person can read in ``--help``; `where` is the
    command's path, ``cli/onderwijsflow/region/create/--name`` (no spaces or colons: a .po location)."""
    import click

    from onderwijsflow.cli import cli
    from onderwijsflow.cli.localize import original

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, str]]:
        for attr in ("help", "short_help", "epilog"):
            text = original(command, attr)
            if text:
                yield f"cli/{path}", text
        for param in command.params:
            help_text = original(param, "help")
            if help_text:
                yield f"cli/{path}/--{param.name}", help_text
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, f"{path}/{name}")

    yield from walk(cli, "onderwijsflow")


def load() -> Catalog:
    """The Dutch catalog as it is on disk."""
    with PO.open("rb") as f:
        return read_po(f, locale="nl", domain=DOMAIN)


def _new_catalog() -> Catalog:
    return Catalog(locale="nl", domain=DOMAIN, project="onderwijsflow", fuzzy=False,
                   language_team="onderwijsflow <onderwijsflow@example.org>")


def save(catalog: Catalog) -> None:
    """Write the .po (sorted, without line numbers, so diffs show only real changes) and .mo."""
    catalog.fuzzy = False
    PO.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True, include_lineno=False,
             ignore_obsolete=True, omit_header=False)
    PO.write_bytes(buffer.getvalue())
    compile_mo(catalog)


def compile_mo(catalog: Catalog) -> None:
    """Compile `catalog` to the .mo that gettext reads."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    MO.write_bytes(buffer.getvalue())


@contextmanager
def locked() -> Iterator[None]:
    """One writer at a time (several people, or helpers, updating the catalog at once)."""
    PO.parent.mkdir(parents=True, exist_ok=True)
    with (PO.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


MEMORY = PO.parent / ".memory.json"


def update() -> tuple[int, int]:
    """Bring the catalog in step with the source; returns (messages added, messages dropped).

    Translations of dropped messages are remembered (in an untracked file beside the catalog)
    and come back when the same message returns, e.g. after a file was saved half-edited.
    """
    with locked():
        catalog = load() if PO.exists() else _new_catalog()
        before = {m.id for m in catalog if m.id}
        memory: dict[str, Any] = json.loads(MEMORY.read_text("utf-8")) if MEMORY.exists() else {}
        for message in catalog:
            if message.id and _translated(message):
                memory[_key(message)] = message.string
        template = extract()
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        for message in catalog:
            if message.id and not _translated(message) and _key(message) in memory:
                remembered = memory[_key(message)]
                message.string = tuple(remembered) if isinstance(remembered, list) else remembered
        after = {m.id for m in catalog if m.id}
        save(catalog)
        MEMORY.write_text(json.dumps(memory, ensure_ascii=False, sort_keys=True), "utf-8")
    return len(after - before), len(before - after)


def _key(message: Message) -> str:
    return json.dumps([message.context, message.id], ensure_ascii=False)


def untranslated(path: str | None = None) -> list[dict[str, Any]]:
    """The messages still without a Dutch translation (optionally only those from `path`)."""
    out = []
    for message in load():
        if not message.id or _translated(message):
            continue
        if path and not any(path in loc for loc, _ in message.locations):
            continue
        singular, plural = _forms(message.id)
        entry: dict[str, Any] = {"msgid": singular, "msgstr": "" if plural is None else ["", ""]}
        if plural is not None:
            entry["plural"] = plural
        if message.context:
            entry["context"] = message.context
        entry["where"] = sorted({loc for loc, _ in message.locations})
        if message.auto_comments:
            entry["note"] = " ".join(message.auto_comments)
        out.append(entry)
    return out


def translate(entries: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
    """Put translations into the catalog; returns the msgids it does not know (nothing changed
    for those)."""
    if isinstance(entries, dict):
        entries = [{"msgid": k, "msgstr": v} for k, v in entries.items()]
    unknown = []
    with locked():
        catalog = load()
        for entry in entries:
            key: Any = entry["msgid"]
            message = catalog.get(key, entry.get("context"))
            if message is None:
                message = next((m for m in catalog if _forms(m.id)[0] == key
                                and m.context == entry.get("context")), None)
            if message is None:
                unknown.append(key)
                continue
            value = entry["msgstr"]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
        save(catalog)
    return unknown


def problems() -> list[str]:
    """What is wrong with the catalog: stale, untranslated, a placeholder lost, .mo not compiled."""
    catalog = load()
    found = []
    known = {(m.id, m.context) for m in catalog if m.id}
    source = {(m.id, m.context) for m in extract() if m.id}
    for msgid, _ in sorted(source - known, key=str):
        found.append(f"not in the catalog (run update): {_forms(msgid)[0]!r}")
    for msgid, _ in sorted(known - source, key=str):
        found.append(f"in the catalog but no longer in the source (run update): {_forms(msgid)[0]!r}")
    for message in catalog:
        if not message.id:
            continue
        if not _translated(message):
            found.append(f"no Dutch translation: {_forms(message.id)[0]!r}")
            continue
        singular, plural = _forms(message.id)
        for index, text in enumerate(_strings(message)):
            original = singular if index == 0 or plural is None else plural
            if _fields(text) != _fields(original):
                found.append(f"placeholders differ in the translation of {original!r}: "
                             f"{sorted(_fields(text))} instead of {sorted(_fields(original))}")
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    if not MO.exists() or MO.read_bytes() != compiled.getvalue():
        found.append(f"{MO.name} is not compiled from {PO.name} (run update)")
    return found


def _forms(msgid: Any) -> tuple[str, str | None]:
    return (msgid[0], msgid[1]) if isinstance(msgid, tuple | list) else (msgid, None)


def _strings(message: Message) -> list[str]:
    value = message.string
    return [v or "" for v in value] if isinstance(value, tuple | list) else [value or ""]


def _translated(message: Message) -> bool:
    return not message.fuzzy and all(s.strip() for s in _strings(message))




def _fields(text: str) -> set[str]:
    """The named ``{fields}`` of a str.format message (click's help uses ``%(x)s`` too)."""
    names: set[str] = set()
    try:
        for _, name, _, _ in string.Formatter().parse(text):
            if name is not None:
                names.add(name)
    except ValueError:
        return {"<malformed>"}
    names.update(re.findall(r"%\((\w+)\)s", text))
    return names


def main(argv: list[str] | None = None) -> int:
    """The maintainer's command line (see the module docstring)."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "update":
        added, dropped = update()
        print(f"{PO}: {added} new, {dropped} dropped")
    elif command == "untranslated":
        path = args[args.index("--path") + 1] if "--path" in args else None
        print(json.dumps(untranslated(path), ensure_ascii=False, indent=1))
    elif command == "translate":
        for file in args[1:]:
            unknown = translate(json.loads(Path(file).read_text(encoding="utf-8")))
            for msgid in unknown:
                print(f"{file}: not in the catalog: {msgid!r}", file=sys.stderr)
    elif command == "check":
        found = problems()
        for problem in found:
            print(problem)
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
