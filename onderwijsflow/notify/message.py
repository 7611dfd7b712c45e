"""One outgoing message, independent of the channel that carries it.

A `Message` is plain data, so the scheduler can store it in its outbox and hand the very same
message to a channel again after a crash. Its Message-ID is made from a stable key
(`make_message_id`): a message sent twice carries the same ID, so the second copy is
recognisable as a resend by people and by mail software, and the Maildir channel uses it to
write each message exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from onderwijsflow.clock import LOCAL
from onderwijsflow.errors import ConfigError

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

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; stored as tuples so the message stays hashable.
        object.__setattr__(self, "recipients", _as_tuple(self.recipients, "recipients"))
        object.__setattr__(self, "headers", tuple(tuple(pair) for pair in self.headers))
        if not _MESSAGE_ID.fullmatch(self.message_id):
            raise ValueError(f"Message-ID {self.message_id!r} is not of the form <local@domain>")
        for value in (self.sender, self.subject, *self.recipients):
            _single_line(value)
        for name, value in self.headers:
            _check_extra_header(name, value)

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
            raise ValueError("the Date of a message must be an aware datetime")
        email = EmailMessage()
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
        raise ValueError("a Message-ID key must not be empty")
    if _SAFE_KEY.fullmatch(key):
        return key
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:60] or "id"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    return f"{readable}.{digest}"


def _domain_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        domain = ""
    if not _DOMAIN.fullmatch(domain):
        raise ConfigError(f"notify.sender {sender!r} is not an e-mail address with a domain")
    return domain


def _as_tuple(values: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"{what} must be a sequence of addresses, not one string")
    return tuple(values)


def _single_line(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a header value may not contain a line break: {value!r}")


def _check_extra_header(name: str, value: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid header name")
    if name.lower() in _OWN_HEADERS:
        raise ValueError(f"header {name} is written by Message itself and cannot be given twice")
    _single_line(value)
