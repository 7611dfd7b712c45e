"""Channels carry a `Message` out of onderwijsflow: the log, a Maildir, or an SMTP server.

Every channel answers `deliver` in one of two ways, and the scheduler relies on the difference:

- it returns a `DeliveryReport`: the message reached at least one recipient (or the channel
  keeps no recipients, like the log). Recipients the server refused for good are named in
  `DeliveryReport.refused`, never dropped in silence.
- it raises a `DeliveryError`: nobody got the message. `TemporaryDeliveryError` means trying
  again later may work; `PermanentDeliveryError` means a person must change something first;
  `UncertainDeliveryError` means the connection broke after the message was handed over, so it
  may have arrived: design §6 says such a message is marked `unknown`, never resent blindly.

Channels hold no state between messages, so one channel object can serve a whole worker.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from onderwijsflow.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from onderwijsflow.i18n import _
from onderwijsflow.notify.message import Message, envelope_address

if TYPE_CHECKING:  # importing the configuration means pydantic: 0.2 s the channels do not need
    from _typeshed import ReadableBuffer

    from onderwijsflow.config import ChannelConfig, NotifyConfig

log = logging.getLogger("onderwijsflow.notify")


@dataclass(frozen=True)
class DeliveryReport:
    """What a channel did with one message.

    Attributes:
        channel: the `Channel.name` that delivered it.
        accepted: the recipients that got the message (as written in `Message.recipients`).
        refused: recipients refused for good, each with the reason (e.g. the server's
            ``550 5.1.1 unknown user``); the rest of the message still went out.
    """

    channel: str
    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every recipient got the message."""
        return not self.refused


@runtime_checkable
class Channel(Protocol):
    """Anything that can deliver a message; see the module docstring for the contract."""

    name: str

    def deliver(self, message: Message) -> DeliveryReport:
        """Deliver `message` or raise a `DeliveryError` saying why nobody got it."""
        ...


# --------------------------------------------------------------------------------------- log


class LogChannel:
    """Writes one INFO line per message to the ``onderwijsflow.notify`` logger, and keeps nothing.

    The default channel: a fresh installation shows what it would send without mailing anyone.
    """

    name = "log"

    def deliver(self, message: Message) -> DeliveryReport:
        """Log the message's ID, recipients and subject on one line (Message forbids line breaks)."""
        recipients = ", ".join(message.recipients) or "(no recipients)"
        log.info("message %s to %s: %s", message.message_id, recipients, message.subject)
        return DeliveryReport(self.name, message.recipients)

    def __repr__(self) -> str:
        return "LogChannel()"


# ----------------------------------------------------------------------------------- maildir


class MaildirChannel:
    """Writes each message as one file into a standard Maildir (readable with `mailbox.Maildir`).

    Delivery is atomic: the file is written and synced in ``tmp/``, then hard-linked into
    ``new/``, so a reader never sees half a message. It is idempotent: the file name is a hash
    of the Message-ID, and a message already in ``new/`` or in ``cur/`` (where a mail reader
    moves it, adding ``:2,FLAGS``) is not written again. Readers only move files from ``new/``
    to ``cur/``, so looking in ``new/`` first and ``cur/`` second cannot miss a message that is
    being moved.

    Args:
        path: the Maildir; it and its ``tmp``, ``new`` and ``cur`` folders are created (mode
            0700, as `mailbox.Maildir` does) when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = f"maildir:{self.path}"

    def deliver(self, message: Message) -> DeliveryReport:
        """Write `message` into ``new/`` unless the Maildir already holds it.

        Raises:
            TemporaryDeliveryError: the disk or quota is full, or the file system is busy.
            PermanentDeliveryError: any other file-system error (permissions, not a folder).
        """
        name = maildir_file_name(message.message_id)
        try:
            self._make_folders()
            if self._holds(name):
                log.debug("%s already holds %s", self.name, message.message_id)
            else:
                self._write(name, message.to_email().as_bytes())
        except OSError as err:
            raise _file_system_error(err, self.name, message) from err
        return DeliveryReport(self.name, message.recipients)

    def _make_folders(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)

    def _holds(self, name: str) -> bool:
        flagged = name + ":"
        for sub in ("new", "cur"):  # in the direction readers move files; see the class docstring
            with os.scandir(self.path / sub) as entries:
                if any(entry.name == name or entry.name.startswith(flagged) for entry in entries):
                    return True
        return False

    def _write(self, name: str, content: bytes) -> None:
        temporary = self.path / "tmp" / f"{name}.{os.getpid()}.{uuid.uuid4().hex}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            _publish(temporary, self.path / "new" / name)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_folder(self.path / "new")

    def __repr__(self) -> str:
        return f"MaildirChannel({str(self.path)!r})"


def maildir_file_name(message_id: str) -> str:
    """The Maildir file name of a message: a hash of its Message-ID, safe on any file system."""
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]


def _publish(temporary: Path, final: Path) -> None:
    """Move a finished file into place without ever replacing one that is there."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        pass  # another worker delivered the same message a moment ago: same message, same file
    except PermissionError:
        # File systems without hard links answer EPERM; like mailbox.Maildir, fall back to rename.
        if not final.exists():
            os.rename(temporary, final)


def _sync_folder(folder: Path) -> None:
    """Make the new directory entry durable, so a crash right after delivery cannot undo it."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_PASSING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EBUSY, errno.EINTR})


def _file_system_error(err: OSError, channel: str, message: Message) -> DeliveryError:
    kind = TemporaryDeliveryError if err.errno in _PASSING_ERRNOS else PermanentDeliveryError
    return kind(
        _("{channel} cannot store message {message_id}: {error}").format(
            channel=channel, message_id=message.message_id, error=err.strerror or err),
        channel=channel,
        message_id=message.message_id,
    )


# -------------------------------------------------------------------------------------- smtp


class _TrackedSMTP(smtplib.SMTP):
    """Knows whether the message text has been handed to the server.

    smtplib's ``data()`` sends the DATA command, waits for 354, then sends the text and waits
    for the final reply. A connection lost after the text went out leaves the message's fate
    unknown: the server may have queued it. Counting the sends inside ``data()`` tells the two
    moments apart without copying smtplib's code.
    """

    handed_over = False
    _sends_in_data: int | None = None

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self._sends_in_data = 0
        try:
            return super().data(msg)
        finally:
            self._sends_in_data = None

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if self._sends_in_data is not None:
            self._sends_in_data += 1
            self.handed_over = self._sends_in_data >= 2


class _TrackedSMTPSSL(_TrackedSMTP, smtplib.SMTP_SSL):
    """SMTPS (TLS from the first byte) with the same hand-over tracking."""


@dataclass
class _Attempt:
    """The recipients one SMTP transaction settled, and those worth trying again."""

    accepted: list[str]
    refused: dict[str, str]
    retry: dict[str, str]


class _TryAgain(Exception):
    """Nobody got the message in this attempt, for a reason that may pass."""


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class SmtpChannel:
    """Sends messages through an SMTP server with smtplib, retrying what may pass.

    Temporary failures (connection refused or reset, timeouts, a dropped connection, any 4xx
    reply) are retried up to `attempts` times in all, waiting `backoff` seconds in between.
    5xx replies, a refused login, a server without STARTTLS when asked for it, or a certificate
    that does not verify fail at once: repeating them would not help. When some recipients were
    refused temporarily and others accepted, only the refused ones are tried again, so nobody
    gets the message twice.

    Args:
        host: the server's name or address.
        port: the server's port; by default 465 with `ssl`, else 25.
        starttls: upgrade the connection with STARTTLS before anything else.
        ssl: connect with TLS from the start (SMTPS). Not together with `starttls`.
        username: log in with this name (after STARTTLS, when asked for).
        password: the password for `username`; required with it.
        timeout: seconds for connecting and for each reply.
        attempts: how many times in all a message is tried, at least 1.
        backoff: seconds to wait before the 2nd, 3rd, ... attempt; the last value repeats.
        sleep: how to wait; tests pass a recorder so they never sleep.
        tls_context: certificates to trust for STARTTLS and SMTPS; by default the system's
            trust store with host-name checking.

    Raises:
        ConfigError: contradictory settings (both `ssl` and `starttls`, a user without a
            password, fewer than one attempt, a negative wait).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        starttls: bool = False,
        ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
        attempts: int = 4,
        backoff: Sequence[float] = (1, 4, 15),
        sleep: Callable[[float], None] = time.sleep,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_smtp_settings(starttls, ssl, username, password, attempts, backoff)
        self.host = host
        self.port = port if port is not None else (465 if ssl else 25)
        self.starttls = starttls
        self.ssl = ssl
        self.username = username
        self._password = password
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = tuple(backoff)
        self._sleep = sleep
        self._tls_context = tls_context
        self.name = f"smtp:{host}:{self.port}"
        if username is not None and not (starttls or ssl) and host not in _LOOPBACK:
            log.warning(_("{channel} logs in without TLS: the password crosses the network "
                          "readable").format(channel=self.name))

    def deliver(self, message: Message) -> DeliveryReport:
        """Send `message` to all its recipients, retrying temporary failures.

        Returns:
            The report; recipients refused for good (or still refused temporarily when the
            attempts ran out while others had the message) are in `refused`.

        Raises:
            TemporaryDeliveryError: nobody got the message and every attempt failed for a
                reason that may pass.
            PermanentDeliveryError: nobody got the message and trying again will not help,
                including a message without recipients.
            UncertainDeliveryError: the connection broke after the message was handed over.
        """
        if not message.recipients:
            raise PermanentDeliveryError(
                _("{channel} cannot send message {message_id}: it has no recipients").format(
                    channel=self.name, message_id=message.message_id),
                channel=self.name,
                message_id=message.message_id,
            )
        email = message.to_email()
        accepted: list[str] = []
        refused: dict[str, str] = {}
        pending = {recipient: "" for recipient in message.recipients}
        for attempt in range(1, self.attempts + 1):
            try:
                outcome = self._transaction(email, message, list(pending))
            except _TryAgain as err:
                pending = dict.fromkeys(pending, str(err))
            except PermanentDeliveryError as err:
                if not accepted:
                    raise
                refused.update(dict.fromkeys(pending, err.message))
                return DeliveryReport(self.name, tuple(accepted), refused)
            except UncertainDeliveryError as err:
                err.details.update(accepted=tuple(accepted), refused=dict(refused))
                raise
            else:
                accepted += outcome.accepted
                refused.update(outcome.refused)
                pending = outcome.retry
            if not pending:
                break
            if attempt < self.attempts:
                self._wait(attempt, message, pending)
        return self._conclude(message, accepted, refused, pending)

    def _wait(self, attempt: int, message: Message, pending: dict[str, str]) -> None:
        delay = self.backoff[min(attempt, len(self.backoff)) - 1] if self.backoff else 0
        reason = next(iter(pending.values()))
        log.warning(
            _("{channel}: attempt {attempt} of {attempts} for {message_id} failed ({reason}); "
              "trying again in {seconds} s").format(
                channel=self.name, attempt=attempt, attempts=self.attempts,
                message_id=message.message_id, reason=reason, seconds=delay)
        )
        self._sleep(delay)

    def _conclude(
        self, message: Message, accepted: list[str], refused: dict[str, str], pending: dict[str, str]
    ) -> DeliveryReport:
        if accepted:
            return DeliveryReport(self.name, tuple(accepted), {**refused, **pending})
        details = {"channel": self.name, "message_id": message.message_id, "refused": {**refused, **pending}}
        if pending:
            reason = next(iter(pending.values()))
            raise TemporaryDeliveryError(
                _("{channel} did not take message {message_id} after {attempts} attempts: "
                  "{reason}").format(channel=self.name, message_id=message.message_id,
                                     attempts=self.attempts, reason=reason),
                attempts=self.attempts,
                **details,
            )
        reasons = "; ".join(f"{who}: {why}" for who, why in refused.items())
        raise PermanentDeliveryError(
            _("{channel} refused every recipient of {message_id}: {reasons}").format(
                channel=self.name, message_id=message.message_id, reasons=reasons),
            **details,
        )

    def _transaction(self, email: EmailMessage, message: Message, recipients: list[str]) -> _Attempt:
        """One connection: greet, secure, log in, send to `recipients`, classify the outcome."""
        envelope = {envelope_address(recipient): recipient for recipient in recipients}
        try:
            smtp = self._connect()
        except OSError as err:  # smtplib's own exceptions are OSErrors too
            raise self._classify(err, False, message) from err
        try:
            self._secure_and_log_in(smtp)
            refused = smtp.send_message(
                email, from_addr=envelope_address(message.sender), to_addrs=list(envelope)
            )
            return _settle(recipients, {envelope[address]: reply for address, reply in refused.items()})
        except smtplib.SMTPRecipientsRefused as err:
            return _settle([], {envelope[address]: reply for address, reply in err.recipients.items()})
        except OSError as err:
            raise self._classify(err, smtp.handed_over, message) from err
        finally:
            _hang_up(smtp)

    def _connect(self) -> _TrackedSMTP:
        # Connecting in the constructor is smtplib's only way to learn the host name that TLS
        # checks the certificate against; it closes the socket itself when the greeting fails.
        if self.ssl:
            return _TrackedSMTPSSL(self.host, self.port, timeout=self.timeout, context=self._context())
        return _TrackedSMTP(self.host, self.port, timeout=self.timeout)

    def _secure_and_log_in(self, smtp: _TrackedSMTP) -> None:
        if self.starttls:
            smtp.ehlo()
            smtp.starttls(context=self._context())
            smtp.ehlo()
        if self.username is not None:
            smtp.login(self.username, self._password or "")

    def _context(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()

    def _classify(self, err: OSError, handed_over: bool, message: Message) -> Exception:
        """Turn what smtplib raised into the error the scheduler acts on.

        A reply from the server is an answer, even after the text was sent; only a lost
        connection or a timeout at that point leaves the message's fate unknown.
        """
        where = {"channel": self.name, "message_id": message.message_id}
        text = _describe(err)
        answered = isinstance(err, smtplib.SMTPResponseException)
        if handed_over and not answered:
            return UncertainDeliveryError(
                _("{channel} lost the connection after handing over message {message_id}, "
                  "which may have been delivered: {reason}").format(
                    channel=self.name, message_id=message.message_id, reason=text),
                **where,
            )
        if _is_permanent(err):
            return PermanentDeliveryError(
                _("{channel} refused message {message_id}: {reason}").format(
                    channel=self.name, message_id=message.message_id, reason=text),
                **where,
            )
        return _TryAgain(text)

    def __repr__(self) -> str:
        # Never show the password, not even in a traceback.
        return (
            f"SmtpChannel({self.host!r}, {self.port}, starttls={self.starttls}, ssl={self.ssl}, "
            f"username={self.username!r})"
        )


def _check_smtp_settings(
    starttls: bool,
    ssl: bool,
    username: str | None,
    password: str | None,
    attempts: int,
    backoff: Sequence[float],
) -> None:
    if starttls and ssl:
        raise ConfigError(_("an smtp channel uses either ssl or starttls, not both"))
    if username is not None and password is None:
        raise ConfigError(_("the smtp user {user!r} needs a password").format(user=username))
    if attempts < 1:
        raise ConfigError(_("an smtp channel needs at least 1 attempt, not {attempts}")
                          .format(attempts=attempts))
    if any(delay < 0 for delay in backoff):
        raise ConfigError(_("smtp backoff waits cannot be negative"))


def _settle(accepted_from: list[str], refusals: dict[str, tuple[int, bytes]]) -> _Attempt:
    """Split a transaction's refusals into permanent (5xx) and worth trying again (the rest)."""
    refused = {who: _reply(code, text) for who, (code, text) in refusals.items() if 500 <= code < 600}
    retry = {who: _reply(code, text) for who, (code, text) in refusals.items() if who not in refused}
    accepted = [who for who in accepted_from if who not in refusals]
    return _Attempt(accepted, refused, retry)


def _is_permanent(err: OSError) -> bool:
    """5xx replies, and what no waiting changes: the server's abilities, an untrusted certificate."""
    if isinstance(err, smtplib.SMTPResponseException):
        return 500 <= err.smtp_code < 600
    if isinstance(err, ssl.SSLCertVerificationError | smtplib.SMTPNotSupportedError):
        return True
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return False
    # Any other smtplib error (e.g. "no suitable authentication method found") is about what
    # this server can do; plain socket errors (refused, reset, timed out) may pass.
    return isinstance(err, smtplib.SMTPException)


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        return _reply(err.smtp_code, err.smtp_error)
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}"


def _hang_up(smtp: smtplib.SMTP) -> None:
    """Say QUIT if the line is still open, and close it whatever happens.

    A server that answers QUIT oddly must not turn a delivered message into an error, so the
    reply is ignored (smtplib's own ``with`` block would raise on it).
    """
    try:
        if smtp.sock is not None:
            smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


# ------------------------------------------------------------------------------ construction

_OPTIONS_OF = {
    "log": frozenset(),
    "maildir": frozenset({"path"}),
    "smtp": frozenset({"host", "port", "starttls", "ssl", "username", "password_env"}),
}


def build_channels(notify_config: NotifyConfig, environ: Mapping[str, str] = os.environ) -> list[Channel]:
    """The channels ``notify.channels`` describes, in their order.

    Args:
        notify_config: the ``notify`` section of the configuration.
        environ: where ``password_env`` variables are looked up; the process environment
            by default (secrets never live in the configuration file, design §5).

    Returns:
        One channel per entry.

    Raises:
        ConfigError: a channel misses what it needs (a Maildir path, an SMTP host, the
            environment variable holding the password), sets an option that does nothing for
            its type, contradicts itself, or duplicates another channel.
    """
    channels: list[Channel] = []
    for index, config in enumerate(notify_config.channels):
        where = f"notify.channels[{index}] ({config.type})"
        _refuse_foreign_options(where, config)
        channel = _build(where, config, environ)
        if any(other.name == channel.name for other in channels):
            raise ConfigError(_("{where}: the same channel is listed twice ({channel})")
                              .format(where=where, channel=channel.name))
        channels.append(channel)
    return channels


def _build(where: str, config: ChannelConfig, environ: Mapping[str, str]) -> Channel:
    if config.type == "log":
        return LogChannel()
    if config.type == "maildir":
        if not config.path:
            raise ConfigError(_("{where}: a maildir channel needs a path").format(where=where))
        return MaildirChannel(Path(config.path).expanduser())
    return _build_smtp(where, config, environ)


def _build_smtp(where: str, config: ChannelConfig, environ: Mapping[str, str]) -> SmtpChannel:
    if not config.host:
        raise ConfigError(_("{where}: an smtp channel needs a host").format(where=where))
    if config.password_env and config.username is None:
        raise ConfigError(_("{where}: password_env is set but there is no username to log in "
                            "with").format(where=where))
    if config.username is not None and not config.password_env:
        raise ConfigError(
            _("{where}: username {user!r} needs password_env, the environment variable that "
              "holds the password").format(where=where, user=config.username)
        )
    password = _password(where, config.password_env, environ) if config.password_env else None
    try:
        return SmtpChannel(
            config.host,
            config.port,
            starttls=config.starttls,
            ssl=config.ssl,
            username=config.username,
            password=password,
        )
    except ConfigError as err:
        raise ConfigError(f"{where}: {err.message}") from None


def _password(where: str, variable: str, environ: Mapping[str, str]) -> str:
    value = environ.get(variable)
    if value is None:
        raise ConfigError(_("{where}: the environment variable {variable} (password_env) is not "
                            "set").format(where=where, variable=variable))
    if not value:
        raise ConfigError(_("{where}: the environment variable {variable} (password_env) is "
                            "empty").format(where=where, variable=variable))
    return value


def _refuse_foreign_options(where: str, config: ChannelConfig) -> None:
    """An option that does nothing for this type is a mistake, like an unknown key (design §5)."""
    allowed = _OPTIONS_OF[config.type]
    for option, spec in type(config).model_fields.items():
        if option != "type" and option not in allowed and getattr(config, option) != spec.default:
            raise ConfigError(_("{where}: {option} does not apply to a {type} channel")
                              .format(where=where, option=option, type=config.type))
