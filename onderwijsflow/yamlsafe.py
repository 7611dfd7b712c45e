"""YAML that cannot hurt: the one reader of workflow and configuration files.

Every file is read through :func:`parse`, which

* refuses a text larger than :data:`MAX_BYTES`;
* streams the parser's events first, without building anything, and refuses a document
  nested deeper than :data:`MAX_DEPTH` (libyaml's composer recurses in C and would crash)
  or whose aliases expand to more than :data:`MAX_ALIASED` values (a "billion laughs" of
  nested anchors is refused after reading a few kilobytes, in milliseconds), or an alias
  that refers to itself;
* then builds the document with a safe loader that keeps the line of every key and item,
  notes duplicate keys (YAML would silently keep the last), reads YAML 1.2 booleans and
  text (``no`` and ``16:00`` stay text), and refuses a date outside the years 1900-2200 or
  an integer beyond 64 bits at its line.

Every problem is a :class:`YamlProblem` with the line it was found at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from onderwijsflow import validation
from onderwijsflow.i18n import N_, _

__all__ = [
    "MAX_ALIASED",
    "MAX_BYTES",
    "MAX_DEPTH",
    "LineLoader",
    "Parsed",
    "YamlProblem",
    "parse",
    "read_limited",
]

Path_ = tuple[Any, ...]

#: The largest YAML text read (the shipped workflows are a few dozen kilobytes).
MAX_BYTES = 4_000_000
#: The deepest nesting of mappings and sequences (a workflow nests about eight deep).
MAX_DEPTH = 100
#: The most values (scalars, mappings, sequences) that aliases may add to a document when
#: each is expanded where it is used (a workflow uses a handful of small ones, if any).
MAX_ALIASED = 100_000


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_limited(path: Path) -> bytes:
    """The bytes of `path`, at most :data:`MAX_BYTES` of them.

    Raises:
        OSError: the file cannot be read.
        YamlProblem: it is larger.
    """
    with path.open("rb") as stream:
        data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _too_large()
    return data


def _too_large() -> YamlProblem:
    return YamlProblem(1, _("the file is larger than {most} MB").format(most=MAX_BYTES // 1_000_000))


def _check_limits(text: str) -> None:
    """Stream the parser's events and refuse what would be too deep or too large to build.

    Raises:
        YamlProblem: too deep, too many values added by aliases, or a recursive alias.
    """
    if len(text) > MAX_BYTES:
        raise _too_large()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    anchors: dict[str, int] = {}
    #: One entry per open mapping or sequence: [expanded values so far, its anchor].
    stack: list[list[Any]] = [[0, None]]
    aliased = 0
    for event in yaml.parse(text, Loader=loader):
        size = 0
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, event.anchor])
            if len(stack) > MAX_DEPTH + 1:
                raise YamlProblem(event.start_mark.line + 1, _(
                    "the YAML is nested more than {most} levels deep").format(most=MAX_DEPTH))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            size, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                open_anchors = {entry[1] for entry in stack}
                if event.anchor in open_anchors:
                    raise YamlProblem(event.start_mark.line + 1, _(
                        "alias *{anchor} refers to the value it is part of").format(
                        anchor=event.anchor))
                continue  # an undefined alias: the loader says so, at its line
            size = anchors[event.anchor]
            aliased += size
        else:
            continue
        stack[-1][0] += size
        if aliased > MAX_ALIASED:
            raise YamlProblem(event.start_mark.line + 1, _(
                "the YAML's aliases expand to more than {most} values (nested anchors and "
                "aliases, a \"billion laughs\")").format(most=MAX_ALIASED))


class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A SafeLoader (libyaml's parser where present) that records the line of every key and
    item and refuses duplicate keys.

    It also reads YAML 1.2 style: only true/false are booleans (a state named `no` stays
    text) and ``16:00`` is text, not the sexagesimal number 960.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[int, tuple[int, dict[Any, int]]] = {}
        self.duplicates: dict[int, list[tuple[Any, int, int]]] = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
            if isinstance(value, date):
                validation.check_date(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                validation.check_int(value)
            return value
        except (ValueError, KeyError, TypeError, OverflowError) as err:
            problem = (_("invalid date {value} ({reason})")
                       if node.tag == "tag:yaml.org,2002:timestamp"
                       else _("invalid value {value} ({reason})"))
            problem = problem.format(value=_show(node.value), reason=_python_reason(err))
            raise ConstructorError(None, None, problem, node.start_mark) from None

    def construct_lined_map(self, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        self._note_duplicates(node, data)
        self.flatten_mapping(node)
        keys: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            if not isinstance(key, Hashable):
                raise ConstructorError(None, None, _("a key must be text"), key_node.start_mark)
            data[key] = self.construct_object(value_node)
            keys[key] = key_node.start_mark.line + 1
        self.lines[id(data)] = (node.start_mark.line + 1, keys)

    def construct_lined_seq(self, node: yaml.SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child) for child in node.value)
        lines = {i: child.start_mark.line + 1 for i, child in enumerate(node.value)}
        self.lines[id(data)] = (node.start_mark.line + 1, lines)

    def _note_duplicates(self, node: yaml.MappingNode, data: dict[Any, Any]) -> None:
        first: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in first:
                self.duplicates.setdefault(id(data), []).append((key, line, first[key]))
            elif isinstance(key, Hashable):
                first[key] = line


_RETYPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int"}
LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_lined_map)
LineLoader.add_constructor("tag:yaml.org,2002:seq", LineLoader.construct_lined_seq)
LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _RETYPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


#: Python's reasons for refusing a date or time in YAML, translated where a person reads them.
_PYTHON_REASONS = frozenset((
    N_("month must be in 1..12"),
    N_("day is out of range for month"),
    N_("hour must be in 0..23"),
    N_("minute must be in 0..59"),
    N_("second must be in 0..59"),
))


def _python_reason(err: Exception) -> str:
    """`err`'s text, in the reader's language when it is one of :data:`_PYTHON_REASONS`."""
    text = str(err)
    return _(text) if text in _PYTHON_REASONS else text


class YamlProblem(Exception):
    """A YAML text that cannot be read, with the (1-based) line where that was found."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Parsed:
    """A YAML document with the line of every key and item, and its duplicate keys."""

    data: Any
    lines: dict[int, tuple[int, dict[Any, int]]] = field(default_factory=dict)
    duplicates: dict[int, list[tuple[Any, int, int]]] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of the deepest part of `path` present in the document (1-based)."""
        node = self.data
        line = self.lines[id(node)][0] if id(node) in self.lines else 1
        for step in path:
            entry = self.lines.get(id(node)) if isinstance(node, dict | list) else None
            if entry is None or step not in entry[1]:
                break
            line, node = entry[1][step], node[step]
        return line

    def containers(self) -> Iterator[tuple[Path_, Any]]:
        """Every mapping and sequence with its path, each once (aliases may share them)."""
        seen: set[int] = set()
        todo: list[tuple[Path_, Any]] = [((), self.data)]
        while todo:
            path, node = todo.pop()
            if not isinstance(node, dict | list) or id(node) in seen:
                continue
            seen.add(id(node))
            yield path, node
            items = node.items() if isinstance(node, dict) else enumerate(node)
            todo.extend(((*path, key), value) for key, value in items)


@functools.lru_cache(maxsize=64)
def parse(text: str) -> Parsed:
    """Read YAML text, keeping lines (cached: the cross-file checks read each file again).

    Raises:
        YamlProblem: the YAML is malformed, too large or too deep, with the line where it
            went wrong.
    """
    try:
        _check_limits(text)
        loader = LineLoader(text)
    except yaml.YAMLError as err:
        raise _problem(err, text) from None
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        raise _problem(err, text) from None
    except RecursionError:
        raise YamlProblem(1, _("the YAML is nested too deeply")) from None
    finally:
        loader.dispose()
    return Parsed(data, loader.lines, loader.duplicates)


#: The YAML parser's (libyaml's or PyYAML's) commonest problems and contexts, so that they can
#: be translated; each msgid is the parser's own English text.
_YAML_TEXTS = frozenset((
    N_("could not find expected ':'"),
    N_("did not find expected key"),
    N_("did not find expected node content"),
    N_("did not find expected ',' or '}'"),
    N_("did not find expected ',' or ']'"),
    N_("did not find expected '-' indicator"),
    N_("did not find expected <document start>"),
    N_("did not find expected comment or line break"),
    N_("mapping values are not allowed in this context"),
    N_("mapping values are not allowed here"),
    N_("found character that cannot start any token"),
    N_("found unexpected end of stream"),
    N_("found undefined alias"),
    N_("found unknown escape character"),
    N_("found duplicate %YAML directive"),
    N_("while scanning a simple key"),
    N_("while parsing a block mapping"),
    N_("while parsing a flow mapping"),
    N_("while parsing a flow sequence"),
    N_("while parsing a block collection"),
    N_("while parsing a flow node"),
    N_("while parsing a block node"),
    N_("while scanning a block scalar"),
    N_("while scanning a quoted scalar"),
    N_("while parsing a quoted scalar"),
    N_("while scanning for the next token"),
))
_UNKNOWN_TAG = re.compile(r"^could not determine a constructor for the tag ('.*')$")


def _yaml_text(text: str) -> str:
    """A problem or context of the YAML parser, in the reader's language where it is known."""
    if text in _YAML_TEXTS:
        return _(text)
    unknown = _UNKNOWN_TAG.match(text)
    if unknown:
        return _("could not determine a constructor for the tag {tag}").format(tag=unknown[1])
    return text


def _problem(err: yaml.YAMLError, text: str) -> YamlProblem:
    if isinstance(err, yaml.reader.ReaderError):
        return YamlProblem(text[: err.position].count("\n") + 1,
                            _("invalid YAML: {problem}").format(problem=err.reason))
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = _yaml_text(getattr(err, "problem", None) or str(err))
    context = getattr(err, "context", None)
    if isinstance(err, ConstructorError) and context is None:
        message = problem  # one of ours (a bad date or value), or a tag YAML cannot read
    else:
        message = _("invalid YAML: {problem}").format(
            problem=f"{problem} ({_yaml_text(context)})" if context else problem)
    return YamlProblem(mark.line + 1 if mark else 1, message)


