"""One outgoing message, independent of the channel that carries it.

A `Message` is plain data, so the scheduler can store it in its outbox and hand the very same
message to a channel again after a crash. Its Message-ID is made from a stable key
(`make_message_id`): a message sent twice carries the same ID, so the second copy is
recognisable as a resend by people and by mail software, and the Maildir channel uses it to
write each message exactly once.

Headers are written by `email.message.EmailMessage` under `POLICY`, the standard library's
``email.policy.default`` with two corrections, because its folding of long headers is not
reliable (Python 3.11): it can drop the space between two encoded words of a long Dutch
subject, double a space at a fold, or split a word of a display name. `POLICY` folds the
Subject and the address headers itself, so that what a reader decodes (``email.policy.default``,
Thunderbird, Outlook) is exactly what was written; see `fold_text` and `fold_addresses`.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import (
    Address,
    BaseHeader,
    Group,
    HeaderRegistry,
    UniqueAddressHeader,
    UniqueUnstructuredHeader,
)
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as _default_policy
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any, cast

from onderwijsflow.clock import LOCAL
from onderwijsflow.errors import ConfigError
from onderwijsflow.i18n import _

# The headers `to_email` writes itself; a second copy in `Message.headers` would make the
# message ambiguous (which Subject wins depends on the reader).
_OWN_HEADERS = frozenset(
    {"message-id", "date", "from", "to", "subject"}
    | {"mime-version", "content-type", "content-transfer-encoding"}
)
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without the colon (RFC 5322 §2.2)
_SAFE_KEY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?=[A-Za-z0-9_-]))*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class Message:
    """A plain-text message to its recipients.

    Attributes:
        message_id: the RFC 5322 Message-ID, ``<local@domain>``; see `make_message_id`.
        sender: the From address, bare (``a@b.nl``) or with a name (``Onderwijsflow <a@b.nl>``).
        recipients: the To addresses, in the same two forms. May be empty: the scheduler
            still logs a reminder whose roles have no e-mail address, while the mail channels
            refuse it (`SmtpChannel` with a `PermanentDeliveryError`).
        subject: one line.
        body: the text, any Unicode; sent as UTF-8.
        headers: extra ``(name, value)`` headers, e.g. ``("X-Onderwijsflow-Reminder", "42")``.
        attachments: ``(filename, content_type, text)`` files sent with the text, e.g. the
            audit anchor as ``application/json``.

    Raises:
        ValueError: a malformed Message-ID, a line break in a header value
            (it would let text inject headers), or an extra header that `to_email` writes itself.
    """

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; stored as tuples so the message stays hashable.
        object.__setattr__(self, "recipients", _as_tuple(self.recipients, "recipients"))
        object.__setattr__(self, "headers", tuple(tuple(pair) for pair in self.headers))
        if not _MESSAGE_ID.fullmatch(self.message_id):
            raise ValueError(_("Message-ID {message_id!r} is not of the form <local@domain>")
                             .format(message_id=self.message_id))
        for value in (self.sender, self.subject, *self.recipients):
            _single_line(value)
        for name, value in self.headers:
            _check_extra_header(name, value)
        object.__setattr__(self, "attachments", tuple(tuple(item) for item in self.attachments))
        for filename, content_type, _text in self.attachments:
            _single_line(filename)
            if content_type.count("/") != 1:
                raise ValueError(_("{content_type!r} is not a content type").format(
                    content_type=content_type))

    def to_email(self, *, date: datetime | None = None) -> EmailMessage:
        """The message as a UTF-8 plain-text e-mail, ready for smtplib or a Maildir.

        Args:
            date: the moment for the Date header (aware); by default now. The Date header
                is written in Europe/Amsterdam time, the zone its readers live in.

        Returns:
            A new `EmailMessage`; changing it does not change this message.

        Raises:
            ValueError: `date` is naive.
        """
        moment = date or datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError(_("the Date of a message must be an aware datetime"))
        email = EmailMessage(policy=POLICY)
        email["Message-ID"] = self.message_id
        email["Date"] = format_datetime(moment.astimezone(LOCAL))
        email["From"] = self.sender
        if self.recipients:
            email["To"] = ", ".join(self.recipients)
        email["Subject"] = self.subject
        for name, value in self.headers:
            email[name] = value
        # Quoted-printable keeps mostly-Dutch text readable in the raw file and is safe for
        # servers without 8BITMIME.
        email.set_content(self.body, subtype="plain", charset="utf-8", cte="quoted-printable")
        for filename, content_type, text in self.attachments:
            maintype, subtype = content_type.split("/")
            email.add_attachment(text.encode("utf-8"), maintype=maintype, subtype=subtype,
                                 filename=filename)
        return email


def make_message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same every time for the same key and sender.

    The key must identify the message for ever, not only within one database: mail systems
    (Gmail among them) silently drop a second message whose Message-ID they have seen before,
    so a key such as ``reminder-42`` that a fresh database reuses would lose real reminders.
    Prefer a UUID or a key that includes one.

    Args:
        key: what the message is about, e.g. ``reminder-3f2a9c...``. A key made of letters,
            digits, ``-``, ``_`` and single inner dots is used as it is; any other key is
            reduced to those characters plus a hash of the whole key, so distinct keys stay
            distinct.
        sender: the From address; its domain becomes the right-hand side of the ID.

    Returns:
        ``<key@domain>``, e.g. ``<reminder-42@example.org>``.

    Raises:
        ValueError: the key is empty.
        ConfigError: the sender has no usable domain (it comes from ``notify.sender``).
    """
    return f"<{_local_part(key)}@{_domain_of(sender)}>"


def envelope_address(address: str) -> str:
    """The bare address of ``Name <a@b.nl>`` or ``a@b.nl``, as SMTP wants it."""
    return parseaddr(address)[1] or address


def _local_part(key: str) -> str:
    if not key:
        raise ValueError(_("a Message-ID key must not be empty"))
    if _SAFE_KEY.fullmatch(key):
        return key
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:60] or "id"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    return f"{readable}.{digest}"


@lru_cache(maxsize=64)  # one sender, a Message-ID per message
def _domain_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        domain = ""
    if not _DOMAIN.fullmatch(domain):
        raise ConfigError(_("notify.sender {sender!r} is not an e-mail address with a domain")
                          .format(sender=sender))
    return domain


def _as_tuple(values: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(_("{what} must be a sequence of addresses, not one string")
                         .format(what=what))
    return tuple(values)


#: What `str.splitlines` (and so the email package) takes for the end of a line.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _single_line(value: str) -> None:
    if not _LINE_BREAKS.isdisjoint(value):
        raise ValueError(_("a header value may not contain a line break: {value!r}")
                         .format(value=value))


def _check_extra_header(name: str, value: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(_("{name!r} is not a valid header name").format(name=name))
    if name.lower() in _OWN_HEADERS:
        raise ValueError(_("header {name} is written by Message itself and cannot be given twice")
                         .format(name=name))
    _single_line(value)


# ------------------------------------------------------------------------------- folding
#
# RFC 5322 §2.2.3: a long header is folded by putting a line break before white space that is
# already there; unfolding removes the line breaks and nothing else. RFC 2047: text that is
# not plain ASCII travels as encoded words (``=?utf-8?q?...?=``), at most 75 characters each,
# and white space *between* two encoded words is not part of the text. So a space that
# separates two words which both need encoding must travel inside an encoded word; the
# library sometimes puts it between them, and the reader drops it.

_EW_OPEN, _EW_CLOSE = "=?utf-8?q?", "?="
_EW_MAX = 75  # RFC 2047 §2
_EW_LINE_MAX = 76  # RFC 2047 §2: a line holding an encoded word
_EW_MIN_PAYLOAD = 8  # fewer characters left on a line: start the encoded word on the next
#: Characters an encoded word may carry as they are, wherever it stands (RFC 2047 §5 (3)).
_Q_LITERAL = frozenset(string.ascii_letters + string.digits + "!*+-/")
#: The characters of an atom in a display name (RFC 5322 §3.2.3).
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_WORD = re.compile(r"[^ ]+")


def _q(char: str) -> str:
    if char in _Q_LITERAL:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


class _Lines:
    """Header lines under construction: atoms joined by the white space before each."""

    def __init__(self, name: str, limit: int) -> None:
        self.done: list[str] = []
        self.line = f"{name}:"
        self.limit = limit
        self.empty = True  # nothing after the name yet: never fold before the first atom

    def room(self, space: str) -> int:
        return self.limit - len(self.line) - len(space)

    def add(self, space: str, atom: str) -> None:
        if not self.empty and len(atom) > self.room(space):
            self.fold()
        self.line += space + atom
        self.empty = False

    def fold(self) -> None:
        self.done.append(self.line)
        self.line = ""
        self.empty = True

    def add_encoded(self, space: str, text: str, *, whole: bool = False) -> None:
        """`text` as encoded words; the white space between them carries no text.

        With `whole`, `text` is one encoded word on a line of its own if need be, unless it
        is too long for one (75 characters).
        """
        pieces = [_q(char) for char in text]
        overhead = len(_EW_OPEN) + len(_EW_CLOSE)
        size = overhead + sum(map(len, pieces))
        if whole and size <= min(_EW_MAX, self.limit - len(space)):
            self.add(space, _EW_OPEN + "".join(pieces) + _EW_CLOSE)
            return
        while pieces:
            room = min(_EW_MAX, self.room(space))
            if not self.empty and room < overhead + max(len(pieces[0]), _EW_MIN_PAYLOAD):
                self.fold()
                room = min(_EW_MAX, self.room(space))
            size, taken = overhead + len(pieces[0]), 1  # at least one character per word
            while taken < len(pieces) and size + len(pieces[taken]) <= room:
                size += len(pieces[taken])
                taken += 1
            self.add(space, _EW_OPEN + "".join(pieces[:taken]) + _EW_CLOSE)
            del pieces[:taken]
            space = " "

    def text(self, linesep: str) -> str:
        return linesep.join([*self.done, self.line]) + linesep


def _limit(policy: Policy, encoded: bool) -> int:
    limit = policy.max_line_length or 998  # None or 0: no folding wanted; RFC 5322's hard limit
    return min(limit, _EW_LINE_MAX) if encoded else limit


def _plain_char(char: str, utf8: bool) -> bool:
    return "!" <= char <= "~" or (utf8 and char > "\x7f" and char.isprintable())


def _segments(text: str, plain: Callable[[str], bool]) -> list[tuple[str, str, bool]]:
    """(white space before, text, whether plain) for `text` split at spaces; neighbouring
    words that need encoding are one segment with the spaces between them inside."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return [("", text, False)] if text else []
    needs = [not plain(text[start:end]) for start, end in words]
    # Spaces at either end would be lost as folding white space: they go inside encoded words.
    if words[0][0] > 0:
        words[0], needs[0] = (0, words[0][1]), True
    if words[-1][1] < len(text):
        words[-1], needs[-1] = (words[-1][0], len(text)), True
    segments: list[tuple[int, int, bool]] = []
    for (start, end), encode in zip(words, needs, strict=True):
        if encode and segments and not segments[-1][2]:
            segments[-1] = (segments[-1][0], end, False)
        else:
            segments.append((start, end, not encode))
    out, previous = [], 0
    for start, end, is_plain in segments:
        out.append((text[previous:start], text[start:end], is_plain))
        previous = end
    return out


def fold_text(name: str, value: str, policy: Policy) -> str:
    """An unstructured header (the Subject) folded so that it reads back exactly as `value`.

    Words of printable ASCII stay as they are; runs of words that are not (``vóór``, ``—``)
    become encoded words that carry the spaces between them; lines break only before white
    space that is already there, at most ``policy.max_line_length`` long (76 where an encoded
    word stands, RFC 2047 §2). With ``policy.utf8`` (SMTPUTF8) UTF-8 text is written as it is.
    """
    utf8 = bool(getattr(policy, "utf8", False))

    def plain(word: str) -> bool:
        return all(_plain_char(c, utf8) for c in word) and "=?" not in word and "?=" not in word

    segments = _segments(value, plain)
    lines = _Lines(name, _limit(policy, any(not p for _, _, p in segments)))
    _emit(lines, segments)
    return lines.text(policy.linesep)


def fold_addresses(name: str, groups: Iterable[Group], policy: Policy) -> str | None:
    """An address header (From, To, Reply-To) folded between addresses and between the words
    of a display name, so that every display name reads back exactly; None for what this does
    not handle (a named group, a non-ASCII mailbox without SMTPUTF8): the library folds those.

    In a display name, neighbouring words that need encoding share one encoded word where it
    fits (75 characters): readers disagree about the space between two encoded words there
    (Python's keeps it, RFC 2047 drops it), so there is none unless a run is longer than that.
    """
    utf8 = bool(getattr(policy, "utf8", False))
    units: list[list[tuple[str, str, bool]]] = []
    for group in groups:
        if group.display_name is not None:
            return None
        for address in group.addresses:
            atoms = _address_atoms(address, utf8)
            if atoms is None:
                return None
            units.append(atoms)
    if not units:
        return None
    lines = _Lines(name, _limit(policy, any(not p for unit in units for _, _, p in unit)))
    for index, unit in enumerate(units):
        if index < len(units) - 1:  # the address itself ends each unit: the comma goes there
            space, text, is_plain = unit[-1]
            unit = [*unit[:-1], (space, text + ",", is_plain)]
        _emit(lines, unit, whole=True)
    return lines.text(policy.linesep)


def _address_atoms(address: Address, utf8: bool) -> list[tuple[str, str, bool]] | None:
    spec = address.addr_spec
    if not utf8 and not spec.isascii():
        return None
    display = address.display_name
    if not display:
        return [("", spec, True)]
    if all(" " <= c <= "~" for c in display) or (utf8 and display.isprintable()):
        return [("", str(Address(display_name=display, addr_spec=spec)), True)]  # quoted if need be

    def atom(word: str) -> bool:
        return all(c in _ATEXT for c in word) and "=?" not in word and "?=" not in word

    return [*_segments(display, atom), (" ", f"<{spec}>", True)]


def _emit(lines: _Lines, segments: list[tuple[str, str, bool]], *, whole: bool = False) -> None:
    for index, (space, text, is_plain) in enumerate(segments):
        if index == 0 and not space:
            space = " "  # after the colon or the comma before; readers take it as no text
        if not is_plain:
            lines.add_encoded(space, text, whole=whole)
            continue
        for match in _WORD.finditer(text):
            lines.add(space if match.start() == 0 else _space_before(text, match.start()),
                      match.group())


def _space_before(text: str, index: int) -> str:
    start = index
    while start > 0 and text[start - 1] == " ":
        start -= 1
    return text[start:index]


# The registry adds `BaseHeader` to these classes when it makes a header (its `base_class`);
# typeshed does not know that, hence the casts.


class _Subject(UniqueUnstructuredHeader):
    """The Subject, taken as the text it is and folded by `fold_text`."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        # The library decodes what looks like an encoded word ("=?utf-8?q?x?=" becomes "x"),
        # as it must for a header read from a message; a subject the program writes is text.
        kwds["decoded"] = value

    def fold(self, *, policy: Policy) -> str:
        return fold_text(cast(BaseHeader, self).name, str(self), policy)


class _Addresses(UniqueAddressHeader):
    """From, To, Cc and Reply-To, folded by `fold_addresses`."""

    def fold(self, *, policy: Policy) -> str:
        header = cast(BaseHeader, self)
        return (fold_addresses(header.name, self.groups, policy)
                or BaseHeader.fold(header, policy=policy))


def _header_factory() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("subject", cast(type[BaseHeader], _Subject))
    for name in ("from", "to", "cc", "reply-to"):
        registry.map_to_type(name, cast(type[BaseHeader], _Addresses))
    return registry


#: ``email.policy.default`` (LF line ends; smtplib sends CRLF) with headers folded so that
#: they read back exactly; see the module docstring. For writing messages: read them with
#: ``email.policy.default``, which decodes encoded words in the Subject.
POLICY = _default_policy.clone(header_factory=_header_factory())
