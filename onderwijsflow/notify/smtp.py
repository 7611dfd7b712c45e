"""The SMTP channel: smtplib, one connection per batch, never a wait.

A batch of messages goes over one connection (greeting, STARTTLS and login once); a line that
drops before a message was handed over is dialled again once per batch. Nothing is retried on
a clock here: a temporary failure (a 4xx reply, connection refused, a timeout) is reported as
a `TemporaryDeliveryError` and the scheduler tries again at a later pass. A server that cannot
be reached fails the whole batch at once, within the connect timeout (2 s by default).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from onderwijsflow.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from onderwijsflow.i18n import _
from onderwijsflow.notify.base import ChannelSettings, DeliveryReport
from onderwijsflow.notify.message import Message, envelope_address

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("onderwijsflow.notify")


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


class _Dropped(Exception):
    """The line went before this message was handed over: dialling again may help."""


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class SmtpChannel:
    """Sends messages through an SMTP server with smtplib.

    Temporary failures (connection refused or reset, timeouts, a dropped connection, any 4xx
    reply) raise `TemporaryDeliveryError` at once: the scheduler tries again later. 5xx
    replies, a refused login, a server without STARTTLS when asked for it, or a certificate
    that does not verify are permanent. When some recipients are refused temporarily and
    others accepted, the report names the refused ones in `DeliveryReport.deferred`, so that
    only they are tried again and nobody gets the message twice.

    Args:
        host: the server's name or address.
        port: the server's port; by default 465 with `ssl`, else 25.
        starttls: upgrade the connection with STARTTLS before anything else.
        ssl: connect with TLS from the start (SMTPS). Not together with `starttls`.
        username: log in with this name (after STARTTLS, when asked for).
        password: the password for `username`; required with it.
        timeout: seconds for each reply once connected.
        connect_timeout: seconds for connecting and the greeting: a server that is down
            fails a pass this fast.
        batch_size: how many messages the scheduler hands over at once (one connection).
        tls_context: certificates to trust for STARTTLS and SMTPS; by default the system's
            trust store with host-name checking.

    Raises:
        ConfigError: contradictory settings (both `ssl` and `starttls`, a user without a
            password, a timeout that is not positive).
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
        connect_timeout: float = 2,
        batch_size: int = 20,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_smtp_settings(starttls, ssl, username, password, (timeout, connect_timeout))
        self.host = host
        self.port = port if port is not None else (465 if ssl else 25)
        self.starttls = starttls
        self.ssl = ssl
        self.username = username
        self._password = password
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.batch_size = batch_size
        self._tls_context = tls_context
        self.name = f"smtp:{host}:{self.port}"
        #: Connections opened so far (for the operator's log line and for tests).
        self.connections = 0
        if username is not None and not (starttls or ssl) and host not in _LOOPBACK:
            log.warning(_("{channel} logs in without TLS: the password crosses the network "
                          "readable").format(channel=self.name))

    def deliver(self, message: Message) -> DeliveryReport:
        """Send `message` to all its recipients over a connection of its own.

        Returns:
            The report; recipients refused for good are in `refused`, those refused for now
            (while others have the message) in `deferred`.

        Raises:
            TemporaryDeliveryError: nobody got the message, for a reason that may pass.
            PermanentDeliveryError: nobody got the message and trying again will not help,
                including a message without recipients.
            UncertainDeliveryError: the connection broke after the message was handed over.
        """
        [outcome] = self.deliver_many([message])
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome

    def deliver_many(self, messages: Sequence[Message]) -> list[DeliveryReport | DeliveryError]:
        """Send `messages` over one connection; one outcome per message, in order.

        The connection is dialled again once when it drops; after that, or when the server
        cannot be reached at all, the messages not yet sent get the same temporary (or, for a
        refused login or certificate, permanent) error without another try.
        """
        outcomes: list[DeliveryReport | DeliveryError] = []
        with self._line() as line:
            for message in messages:
                outcomes.append(line.send(message))
        return outcomes

    @contextmanager
    def _line(self) -> Iterator[_Line]:
        line = _Line(self)
        try:
            yield line
        finally:
            line.hang_up()

    def connect(self) -> _TrackedSMTP:
        """Connect, greet, secure and log in; the connect timeout covers the greeting."""
        # Connecting in the constructor is smtplib's only way to learn the host name that TLS
        # checks the certificate against; it closes the socket itself when the greeting fails.
        self.connections += 1
        smtp: _TrackedSMTP
        if self.ssl:
            smtp = _TrackedSMTPSSL(self.host, self.port, timeout=self.connect_timeout,
                                   context=self._context())
        else:
            smtp = _TrackedSMTP(self.host, self.port, timeout=self.connect_timeout)
        smtp.timeout = self.timeout
        if smtp.sock is not None:
            smtp.sock.settimeout(self.timeout)
        try:
            if self.starttls:
                smtp.ehlo()
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self._password or "")
        except BaseException:
            _hang_up(smtp)
            raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()

    def transaction(self, smtp: _TrackedSMTP, message: Message) -> DeliveryReport:
        """One message on an open connection.

        Raises:
            _Dropped: the line went before the message was handed over.
            DeliveryError: as for `deliver`.
        """
        where = {"channel": self.name, "message_id": message.message_id}
        if not message.recipients:
            raise self.no_recipients(message)
        envelope = {envelope_address(recipient): recipient for recipient in message.recipients}
        smtp.handed_over = False
        try:
            refusals = smtp.send_message(message.to_email(), from_addr=envelope_address(message.sender),
                                         to_addrs=list(envelope))
        except smtplib.SMTPRecipientsRefused as err:
            refusals = err.recipients
        except smtplib.SMTPServerDisconnected as err:
            if smtp.handed_over:
                raise self._uncertain(err, message) from err
            raise _Dropped(_describe(err)) from err
        except OSError as err:
            if smtp.handed_over and not isinstance(err, smtplib.SMTPResponseException):
                raise self._uncertain(err, message) from err
            if not isinstance(err, smtplib.SMTPException):
                raise _Dropped(_describe(err)) from err  # reset, timed out: the line is gone
            raise self.refusal(err, message) from err
        refused = {envelope[address]: _reply(code, text) for address, (code, text) in refusals.items()
                   if 500 <= code < 600}
        deferred = {envelope[address]: _reply(code, text) for address, (code, text) in refusals.items()
                    if not 500 <= code < 600}
        accepted = tuple(r for r in message.recipients if r not in refused and r not in deferred)
        if accepted:
            return DeliveryReport(self.name, accepted, refused, deferred)
        details = {**where, "refused": {**refused, **deferred}}
        if deferred:
            raise TemporaryDeliveryError(
                _("{channel} did not take message {message_id}: {reason}").format(
                    channel=self.name, message_id=message.message_id,
                    reason=next(iter(deferred.values()))), deferred=deferred, **details)
        reasons = "; ".join(f"{who}: {why}" for who, why in refused.items())
        raise PermanentDeliveryError(
            _("{channel} refused every recipient of {message_id}: {reasons}").format(
                channel=self.name, message_id=message.message_id, reasons=reasons), **details)

    def no_recipients(self, message: Message) -> PermanentDeliveryError:
        """The error of a message nobody can be sent (no connection is made for it)."""
        return PermanentDeliveryError(
            _("{channel} cannot send message {message_id}: it has no recipients").format(
                channel=self.name, message_id=message.message_id),
            channel=self.name, message_id=message.message_id)

    def _uncertain(self, err: BaseException, message: Message) -> UncertainDeliveryError:
        return UncertainDeliveryError(
            _("{channel} lost the connection after handing over message {message_id}, "
              "which may have been delivered: {reason}").format(
                channel=self.name, message_id=message.message_id, reason=_describe(err)),
            channel=self.name, message_id=message.message_id)

    def refusal(self, err: OSError, message: Message) -> DeliveryError:
        """What a reply (or a failure to connect, secure or log in) means for `message`."""
        where = {"channel": self.name, "message_id": message.message_id}
        text = _describe(err)
        if _is_permanent(err):
            return PermanentDeliveryError(
                _("{channel} refused message {message_id}: {reason}").format(
                    channel=self.name, message_id=message.message_id, reason=text), **where)
        return TemporaryDeliveryError(
            _("{channel} did not take message {message_id}: {reason}").format(
                channel=self.name, message_id=message.message_id, reason=text), **where)

    def __repr__(self) -> str:
        # Never show the password, not even in a traceback.
        return (
            f"SmtpChannel({self.host!r}, {self.port}, starttls={self.starttls}, ssl={self.ssl}, "
            f"username={self.username!r})"
        )


class _Line:
    """The connection of one batch: dialled when first needed, dialled again once."""

    def __init__(self, channel: SmtpChannel) -> None:
        self.channel = channel
        self.smtp: _TrackedSMTP | None = None
        self.dials = 0
        #: Why the rest of the batch is not tried (the server is down, the login refused).
        self.broken: OSError | _Dropped | None = None

    def send(self, message: Message) -> DeliveryReport | DeliveryError:
        if not message.recipients:
            return self.channel.no_recipients(message)
        while True:
            if self.broken is not None:
                return self._given_up(message)
            if self.smtp is None:
                if self.dials >= 2:
                    self.broken = self.broken or _Dropped(_("the connection dropped again"))
                    continue
                self.dials += 1
                try:
                    self.smtp = self.channel.connect()
                except OSError as err:  # smtplib's own exceptions are OSErrors too
                    self.broken = err
                    continue
            try:
                report = self.channel.transaction(self.smtp, message)
            except _Dropped as err:
                self.hang_up()
                if self.dials >= 2:
                    self.broken = err
                continue
            except UncertainDeliveryError as err:
                self.hang_up()
                return err
            except DeliveryError as err:
                if self.smtp is not None and self.smtp.sock is None:  # e.g. 421: the server hung up
                    self.smtp = None
                return err
            return report

    def _given_up(self, message: Message) -> DeliveryError:
        assert self.broken is not None
        if isinstance(self.broken, OSError):
            return self.channel.refusal(self.broken, message)
        return TemporaryDeliveryError(
            _("{channel} did not take message {message_id}: {reason}").format(
                channel=self.channel.name, message_id=message.message_id, reason=self.broken),
            channel=self.channel.name, message_id=message.message_id)

    def hang_up(self) -> None:
        if self.smtp is not None:
            _hang_up(self.smtp)
            self.smtp = None


def _check_smtp_settings(
    starttls: bool, ssl: bool, username: str | None, password: str | None,
    timeouts: Sequence[float],
) -> None:
    if starttls and ssl:
        raise ConfigError(_("an smtp channel uses either ssl or starttls, not both"))
    if username is not None and password is None:
        raise ConfigError(_("the smtp user {user!r} needs a password").format(user=username))
    if any(seconds <= 0 for seconds in timeouts):
        raise ConfigError(_("smtp timeouts must be more than 0 seconds"))


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


# ------------------------------------------------------------------------------ configuration


class SmtpConfig(ChannelSettings):
    """``{type: smtp, host: H, ...}``: an SMTP server.

    The password never lives in the configuration: `password_env` names the environment
    variable that holds it, or `password_file` a file (e.g. a systemd credential) whose first
    line it is. A small batch (20 by default) bounds how many messages can become ``unknown``
    when the worker dies mid-batch.
    """

    type: Literal["smtp"] = "smtp"
    host: str | None = None
    port: int | None = None
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    timeout: float = 30
    connect_timeout: float = 2
    batch: int = 20

    @model_validator(mode="after")
    def _consistent(self) -> SmtpConfig:
        if not self.host:
            raise ValueError(_("an smtp channel needs a host"))
        if self.password_env and self.password_file:
            raise ValueError(_("give the password in password_env or password_file, not both"))
        secret = self.password_env or self.password_file
        if secret and self.username is None:
            option = "password_env" if self.password_env else "password_file"
            raise ValueError(_("{option} is set but there is no username to log in with")
                             .format(option=option))
        if self.username is not None and not secret:
            raise ValueError(
                _("username {user!r} needs password_env, the environment variable that holds "
                  "the password (or password_file)").format(user=self.username))
        if self.starttls and self.ssl:
            raise ValueError(_("an smtp channel uses either ssl or starttls, not both"))
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError(_("smtp timeouts must be more than 0 seconds"))
        return self

    def identity(self) -> str:
        """The channel's name: ``smtp:HOST:PORT``."""
        return f"smtp:{self.host}:{self.port if self.port is not None else (465 if self.ssl else 25)}"

    def build(self, environ: Mapping[str, str]) -> SmtpChannel:
        """An `SmtpChannel`, with the password read from its variable or file now.

        Raises:
            ConfigError: the variable is not set or empty, the file cannot be read or is empty.
        """
        password = None
        if self.password_env:
            password = _password_from_env(self.password_env, environ)
        elif self.password_file:
            password = _password_from_file(self.password_file)
        return SmtpChannel(self.host or "", self.port, starttls=self.starttls, ssl=self.ssl,
                           username=self.username, password=password, timeout=self.timeout,
                           connect_timeout=self.connect_timeout, batch_size=self.batch)


def _password_from_env(variable: str, environ: Mapping[str, str]) -> str:
    value = environ.get(variable)
    if value is None:
        raise ConfigError(_("the environment variable {variable} (password_env) is not set")
                          .format(variable=variable))
    if not value:
        raise ConfigError(_("the environment variable {variable} (password_env) is empty")
                          .format(variable=variable))
    return value


def _password_from_file(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(_("the password file {path} (password_file) cannot be read: {error}")
                          .format(path=path, error=getattr(err, "strerror", None) or err)) from None
    value = text.splitlines()[0] if text.strip() else ""
    if not value:
        raise ConfigError(_("the password file {path} (password_file) is empty").format(path=path))
    return value
