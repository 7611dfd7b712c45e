"""Notification channels against real collaborators: an SMTP server, a Maildir, the log.

The SMTP server is aiosmtpd, started by a fixture on a free local port; its handlers refuse
temporarily, permanently, per recipient, or drop the line after the message, to drive every
branch of `SmtpChannel`. Nothing waits: a channel reports a temporary failure at once and the
scheduler tries again at a later pass (tests/test_scheduler.py); `naps` stays empty because
nothing may sleep (`time.sleep` is patched to record).
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import os
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given
from hypothesis import strategies as st
from support import free_port

import onderwijsflow.notify as notify
from onderwijsflow.config import NotifyConfig
from onderwijsflow.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from onderwijsflow.notify import (
    Channel,
    DeliveryReport,
    LogChannel,
    MaildirChannel,
    Message,
    SmtpChannel,
    build_channels,
    make_message_id,
)
from onderwijsflow.notify.log import LogConfig
from onderwijsflow.notify.maildir import MaildirConfig
from onderwijsflow.notify.smtp import SmtpConfig

SENDER = "Onderwijsflow <onderwijsflow@example.org>"
ANNE = "anne@example.org"
PIET = "piet@example.org"
BODY = "Beste Anne,\n\nDe deadline van de subsidieaanvraag is over één week: 15 oktober om 16:00.\n"


def a_message(key: str = "reminder-42", recipients: tuple[str, ...] = (ANNE,)) -> Message:
    return Message(
        message_id=make_message_id(key, SENDER),
        sender=SENDER,
        recipients=recipients,
        subject="Herinnering: deadline subsidieaanvraag over één week",
        body=BODY,
        headers=(("X-Onderwijsflow-Reminder", key),),
    )


def parse(raw: bytes) -> email.message.EmailMessage:
    """Read a message as stored (LF) or as it crossed SMTP (CRLF)."""
    return email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)


# ------------------------------------------------------------------------------ SMTP servers


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, _encrypted(server), login)
        )
        return "250 2.0.0 OK"


def _encrypted(server) -> bool:
    """Whether the line is TLS now, after STARTTLS as well as from the start (SMTPS)."""
    return server.transport.get_extra_info("cipher") is not None


@dataclass
class Refusing(Recorder):
    """Answers RCPT and DATA with scripted replies first, then accepts.

    `rcpt` maps an address to the replies it gets in turn (then it is accepted); `data` is the
    list of replies the DATA stage gets in turn.
    """

    rcpt: dict[str, list[str]] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        if self.mail:
            return self.mail.pop(0)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        replies = self.rcpt.get(address, [])
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.data:
            return self.data.pop(0)
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Vanishing(Recorder):
    """Takes the message, then hangs up instead of answering: its fate is unknown to the client."""

    async def handle_DATA(self, server, session, envelope) -> str:
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 OK"


class Authenticator:
    """Accepts one user and password, and remembers every attempt."""

    def __init__(self, user: str = "anne", password: str = "geheim") -> None:
        self.expected = (user, password)
        self.attempts: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        tried = (auth_data.login.decode(), auth_data.password.decode())
        self.attempts.append(tried)
        return AuthResult(success=tried == self.expected, handled=False, auth_data=auth_data)





@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every `time.sleep` anything asked for; nobody really sleeps, and a channel never asks."""
    import time

    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


def channel_for(controller: Controller, naps: list[float], **options: object) -> SmtpChannel:
    return SmtpChannel(controller.hostname, controller.port, timeout=5, **options)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (skips when the openssl command is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


# ----------------------------------------------------------------------------------- Message


def test_message_id_is_stable_and_uses_the_senders_domain() -> None:
    assert make_message_id("reminder-42", SENDER) == "<reminder-42@example.org>"
    assert make_message_id("reminder-42", "ONDERWIJSFLOW@Example.ORG") == "<reminder-42@example.org>"
    assert make_message_id("reminder-42", SENDER) == make_message_id("reminder-42", SENDER)


def test_message_id_of_an_awkward_key_is_hashed_so_distinct_keys_stay_distinct() -> None:
    first = make_message_id("herinnering 42/één", SENDER)
    second = make_message_id("herinnering 42/een", SENDER)
    assert first != second
    assert first.startswith("<herinnering-42-") and first.endswith("@example.org>")


@given(st.text(min_size=1, max_size=80))
def test_any_key_gives_a_message_id_that_survives_an_email_header(key: str) -> None:
    message_id = make_message_id(key, SENDER)
    assert make_message_id(key, SENDER) == message_id
    message = Message(message_id, SENDER, (ANNE,), "Onderwerp", "tekst")
    assert parse(message.to_email().as_bytes())["Message-ID"] == message_id


@pytest.mark.parametrize("sender", ["onderwijsflow", "", "Onderwijsflow <>", "a@-x.org", "a@x_y.org"])
def test_message_id_needs_a_sender_with_a_domain(sender: str) -> None:
    with pytest.raises(ConfigError, match=r"notify\.sender"):
        make_message_id("reminder-42", sender)


def test_message_id_key_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        make_message_id("", SENDER)


def test_to_email_is_utf8_plain_text_with_every_header() -> None:
    moment = datetime(2024, 10, 8, 7, 0, tzinfo=UTC)
    parsed = parse(a_message(recipients=(ANNE, f"Piet <{PIET}>")).to_email(date=moment).as_bytes())
    assert parsed["Message-ID"] == "<reminder-42@example.org>"
    assert parsed["From"] == SENDER
    assert parsed["To"] == f"{ANNE}, Piet <{PIET}>"
    assert parsed["Subject"] == "Herinnering: deadline subsidieaanvraag over één week"
    assert parsed["X-Onderwijsflow-Reminder"] == "reminder-42"
    assert parsedate_to_datetime(parsed["Date"]) == moment
    assert parsed["Date"].endswith("+0200")  # Europe/Amsterdam summer time, where readers live
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content() == BODY


def test_to_email_without_a_date_uses_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamped = parsedate_to_datetime(a_message().to_email()["Date"])
    assert before <= stamped <= datetime.now(UTC)


def test_to_email_refuses_a_naive_date() -> None:
    with pytest.raises(ValueError, match="aware"):
        a_message().to_email(date=datetime(2024, 10, 8, 9, 0))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"message_id": "reminder-42@example.org"}, "not of the form"),
        ({"message_id": "<reminder-42>"}, "not of the form"),
        ({"recipients": ANNE}, "not one string"),
        ({"subject": "Herinnering\nBcc: iedereen@example.org"}, "line break"),
        ({"recipients": (f"{ANNE}\r\nBcc: x@example.org",)}, "line break"),
        ({"headers": (("Subject", "nog een"),)}, "written by Message"),
        ({"headers": (("X Bad", "waarde"),)}, "not a valid header name"),
        ({"headers": (("X-Ok", "a\nb"),)}, "line break"),
    ],
)
def test_a_malformed_message_is_refused_when_it_is_made(changes: dict, problem: str) -> None:
    fields = {"message_id": "<reminder-42@example.org>", "sender": SENDER, "recipients": (ANNE,)}
    fields |= {"subject": "Onderwerp", "body": "tekst"} | changes
    with pytest.raises(ValueError, match=problem):
        Message(**fields)


def test_message_keeps_recipients_as_a_tuple_and_stays_hashable() -> None:
    message = Message("<a@example.org>", SENDER, [ANNE, PIET], "Onderwerp", "tekst")  # type: ignore[arg-type]
    assert message.recipients == (ANNE, PIET)
    assert hash(message) == hash(Message("<a@example.org>", SENDER, (ANNE, PIET), "Onderwerp", "tekst"))


# -------------------------------------------------------------------------------------- SMTP


def test_smtp_delivers_recipients_subject_message_id_and_dutch_body(smtp_server, naps) -> None:
    recorder = Recorder()
    channel = channel_for(smtp_server(recorder), naps)
    report = channel.deliver(a_message(recipients=(ANNE, f"Piet <{PIET}>")))

    assert report == DeliveryReport(channel.name, (ANNE, f"Piet <{PIET}>"), {})
    assert report.complete
    [received] = recorder.received
    assert received.mail_from == "onderwijsflow@example.org"
    assert received.rcpt_tos == [ANNE, PIET]
    parsed = parse(received.content)
    assert parsed["Subject"] == "Herinnering: deadline subsidieaanvraag over één week"
    assert parsed["Message-ID"] == "<reminder-42@example.org>"
    assert parsed.get_content() == BODY
    assert naps == []


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_smtp_temporary_refusal_is_reported_at_once_without_waiting(smtp_server, naps, stage) -> None:
    refusals = ["451 4.3.0 try again"]
    handler = Refusing(rcpt={ANNE: refusals}) if stage == "rcpt" else Refusing(data=refusals)
    channel = channel_for(smtp_server(handler), naps)

    with pytest.raises(TemporaryDeliveryError, match=r"451 4\.3\.0 try again"):
        channel.deliver(a_message())
    assert handler.received == []
    assert channel.deliver(a_message()).accepted == (ANNE,)  # the next pass tries again
    assert naps == []
    assert len(handler.received) == 1


@pytest.mark.parametrize(
    ("handler", "reply"),
    [
        (Refusing(rcpt={ANNE: ["550 5.1.1 no such user"]}), "550 5.1.1 no such user"),
        (Refusing(mail=["553 5.7.1 sender not allowed"]), "553 5.7.1 sender not allowed"),
        (Refusing(data=["554 5.6.0 message refused"]), "554 5.6.0 message refused"),
    ],
    ids=["recipient", "sender", "data"],
)
def test_smtp_permanent_refusal_fails_at_once(smtp_server, naps, handler, reply) -> None:
    channel = channel_for(smtp_server(handler), naps)
    with pytest.raises(PermanentDeliveryError, match=reply):
        channel.deliver(a_message())
    assert naps == []
    assert handler.received == []


def test_smtp_partial_refusal_is_reported_not_dropped(smtp_server, naps) -> None:
    handler = Refusing(rcpt={PIET: ["550 5.1.1 no such user"]})
    channel = channel_for(smtp_server(handler), naps)

    report = channel.deliver(a_message(recipients=(ANNE, PIET)))

    assert report.accepted == (ANNE,)
    assert report.refused == {PIET: "550 5.1.1 no such user"}
    assert not report.complete
    assert [r.rcpt_tos for r in handler.received] == [[ANNE]]
    assert naps == []


def test_smtp_defers_only_the_recipients_refused_temporarily(smtp_server, naps) -> None:
    handler = Refusing(rcpt={PIET: ["452 4.2.2 mailbox full"]})
    channel = channel_for(smtp_server(handler), naps)

    report = channel.deliver(a_message(recipients=(ANNE, PIET)))

    assert report == DeliveryReport(channel.name, (ANNE,), {}, {PIET: "452 4.2.2 mailbox full"})
    assert not report.complete
    assert [r.rcpt_tos for r in handler.received] == [[ANNE]]
    assert naps == []


def test_smtp_with_every_recipient_refused_for_good_or_for_now_is_temporary(
    smtp_server, naps
) -> None:
    handler = Refusing(rcpt={ANNE: ["550 5.1.1 no such user"], PIET: ["451 4.3.0 try again"]})
    channel = channel_for(smtp_server(handler), naps)

    with pytest.raises(TemporaryDeliveryError, match="451") as caught:
        channel.deliver(a_message(recipients=(ANNE, PIET)))
    assert caught.value.details["refused"] == {ANNE: "550 5.1.1 no such user", PIET: "451 4.3.0 try again"}
    assert handler.received == []


def test_message_without_recipients_is_logged_but_not_mailed(caplog, naps) -> None:
    message = Message("<a@example.org>", SENDER, (), "Onderwerp", "tekst")
    assert "To" not in message.to_email()
    with caplog.at_level(logging.INFO, logger="onderwijsflow.notify"):
        assert LogChannel().deliver(message).accepted == ()
    assert "message <a@example.org> to (no recipients): Onderwerp" in caplog.text
    with pytest.raises(PermanentDeliveryError, match="no recipients"):
        SmtpChannel("127.0.0.1", free_port()).deliver(message)
    assert naps == []


def test_smtp_with_nothing_listening_fails_the_whole_batch_at_once(naps) -> None:
    channel = SmtpChannel("127.0.0.1", free_port())
    outcomes = channel.deliver_many([a_message(f"reminder-{n}") for n in range(5)])
    assert all(isinstance(o, TemporaryDeliveryError) for o in outcomes)
    assert "ConnectionRefusedError" in str(outcomes[0])
    assert channel.connections == 1  # the server is down: no dialling per message
    assert naps == []


def test_smtp_server_that_never_greets_times_out_within_the_connect_timeout(naps) -> None:
    with socket.socket() as silent:  # listens, so the kernel accepts, but never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        channel = SmtpChannel("127.0.0.1", silent.getsockname()[1], connect_timeout=0.2)
        with pytest.raises(TemporaryDeliveryError, match=r"Timeout|timed out"):
            channel.deliver(a_message())
    assert naps == []


@dataclass
class Counting(Recorder):
    """Remembers the connection (the client's address and port) each message came over."""

    peers: list[tuple[str, int]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def test_smtp_sends_a_batch_over_one_connection(smtp_server, naps) -> None:
    handler = Counting()
    channel = channel_for(smtp_server(handler), naps)
    outcomes = channel.deliver_many([a_message(f"reminder-{n}") for n in range(20)])
    assert all(isinstance(o, DeliveryReport) for o in outcomes)
    assert len(handler.received) == 20
    assert len(set(handler.peers)) == 1
    assert channel.connections == 1


@dataclass
class Dropping(Counting):
    """Hangs up when MAIL FROM comes for the n-th time (before the message is handed over)."""

    drop_at: tuple[int, ...] = ()
    mails: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        self.mails += 1
        if self.mails in self.drop_at:
            server.transport.close()
        envelope.mail_from = address
        return "250 OK"


def test_smtp_dials_again_once_when_the_line_drops_before_a_message(smtp_server, naps) -> None:
    handler = Dropping(drop_at=(3,))
    channel = channel_for(smtp_server(handler), naps)
    outcomes = channel.deliver_many([a_message(f"reminder-{n}") for n in range(5)])
    assert all(isinstance(o, DeliveryReport) for o in outcomes)
    assert len(handler.received) == 5
    assert len(set(handler.peers)) == 2
    assert channel.connections == 2


def test_smtp_gives_the_rest_of_the_batch_back_when_the_line_drops_twice(smtp_server, naps) -> None:
    handler = Dropping(drop_at=(2, 4))
    channel = channel_for(smtp_server(handler), naps)
    outcomes = channel.deliver_many([a_message(f"reminder-{n}") for n in range(5)])
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["DeliveryReport", "DeliveryReport"] + ["TemporaryDeliveryError"] * 3
    assert len(handler.received) == 2
    assert channel.connections == 2


def test_smtp_connection_lost_after_the_message_is_uncertain_and_not_retried(smtp_server, naps) -> None:
    handler = Vanishing()
    channel = channel_for(smtp_server(handler), naps)

    with pytest.raises(UncertainDeliveryError, match="may have been delivered") as caught:
        channel.deliver(a_message())

    assert len(handler.received) == 1  # the server has it; sending again would duplicate it
    assert naps == []
    assert caught.value.details["message_id"] == "<reminder-42@example.org>"


def test_smtp_logs_in_when_a_username_is_set(smtp_server, naps) -> None:
    recorder, authenticator = Recorder(), Authenticator()
    controller = smtp_server(recorder, authenticator=authenticator, auth_require_tls=False)
    channel = channel_for(controller, naps, username="anne", password="geheim")

    channel.deliver(a_message())

    assert authenticator.attempts == [("anne", "geheim")]
    assert recorder.received[0].login == "anne"


def test_smtp_refused_login_is_permanent(smtp_server, naps) -> None:
    recorder, authenticator = Recorder(), Authenticator()
    controller = smtp_server(recorder, authenticator=authenticator, auth_require_tls=False)
    channel = channel_for(controller, naps, username="anne", password="fout")

    with pytest.raises(PermanentDeliveryError, match="535"):
        channel.deliver(a_message())

    # One connection only: smtplib itself tries each mechanism the server offers (PLAIN, LOGIN).
    assert set(authenticator.attempts) == {("anne", "fout")}
    assert len(authenticator.attempts) <= 2
    assert recorder.received == []
    assert naps == []


def test_smtp_starttls_then_login(smtp_server, naps, server_tls, client_tls) -> None:
    recorder, authenticator = Recorder(), Authenticator()
    controller = smtp_server(
        recorder, tls_context=server_tls, require_starttls=True, authenticator=authenticator
    )
    channel = channel_for(
        controller, naps, starttls=True, username="anne", password="geheim", tls_context=client_tls
    )

    channel.deliver(a_message())

    [received] = recorder.received
    assert received.tls
    assert received.login == "anne"


def test_smtp_over_ssl(smtp_server, naps, server_tls, client_tls) -> None:
    recorder = Recorder()
    channel = channel_for(
        smtp_server(recorder, ssl_context=server_tls), naps, ssl=True, tls_context=client_tls
    )

    channel.deliver(a_message())

    assert recorder.received[0].tls


def test_smtp_starttls_on_a_server_without_it_is_permanent(smtp_server, naps) -> None:
    channel = channel_for(smtp_server(Recorder()), naps, starttls=True)
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        channel.deliver(a_message())
    assert naps == []


def test_smtp_untrusted_certificate_is_permanent(smtp_server, naps, server_tls) -> None:
    recorder = Recorder()
    channel = channel_for(smtp_server(recorder, tls_context=server_tls), naps, starttls=True)
    with pytest.raises(PermanentDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        channel.deliver(a_message())
    assert recorder.received == []
    assert naps == []


def test_smtp_never_shows_its_password() -> None:
    channel = SmtpChannel("127.0.0.1", 2525, username="anne", password="geheim")
    assert "geheim" not in repr(channel)
    assert channel.name == "smtp:127.0.0.1:2525"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"starttls": True, "ssl": True}, "not both"),
        ({"username": "anne"}, "needs a password"),
        ({"timeout": 0}, "more than 0 seconds"),
        ({"connect_timeout": -1}, "more than 0 seconds"),
    ],
)
def test_smtp_refuses_contradictory_settings(options: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        SmtpChannel("127.0.0.1", 25, **options)


# ----------------------------------------------------------------------------------- Maildir


def maildir_files(path: Path) -> list[str]:
    return sorted(f"{sub}/{name}" for sub in ("new", "cur") for name in os.listdir(path / sub))


def test_maildir_delivery_is_readable_with_mailbox(tmp_path) -> None:
    channel = MaildirChannel(tmp_path / "outbox")
    report = channel.deliver(a_message())

    assert report == DeliveryReport(f"maildir:{tmp_path / 'outbox'}", (ANNE,), {})
    [stored] = mailbox.Maildir(tmp_path / "outbox", factory=None, create=False)
    parsed = parse(stored.as_bytes())
    assert parsed["Message-ID"] == "<reminder-42@example.org>"
    assert parsed["Subject"] == "Herinnering: deadline subsidieaanvraag over één week"
    assert parsed.get_content() == BODY
    assert os.listdir(tmp_path / "outbox" / "tmp") == []  # nothing half-written left behind


def test_maildir_delivers_the_same_message_once(tmp_path) -> None:
    channel = MaildirChannel(tmp_path)
    channel.deliver(a_message())
    first = maildir_files(tmp_path)

    channel.deliver(a_message())
    MaildirChannel(tmp_path).deliver(a_message())  # another worker, same outbox

    assert maildir_files(tmp_path) == first
    assert len(first) == 1


def test_maildir_message_moved_to_cur_with_flags_still_counts(tmp_path) -> None:
    channel = MaildirChannel(tmp_path)
    channel.deliver(a_message())
    box = mailbox.Maildir(tmp_path, factory=None, create=False)
    [key] = box.keys()
    stored = box[key]
    stored.set_subdir("cur")
    stored.add_flag("S")  # a reader opened it: it moves to cur/ as NAME:2,S
    box[key] = stored

    channel.deliver(a_message())

    [only] = maildir_files(tmp_path)
    assert only.startswith("cur/") and only.endswith(":2,S")


def test_maildir_keeps_different_messages_apart(tmp_path) -> None:
    channel = MaildirChannel(tmp_path)
    channel.deliver(a_message("reminder-1"))
    channel.deliver(a_message("reminder-2"))
    ids = sorted(message["Message-ID"] for message in mailbox.Maildir(tmp_path, create=False))
    assert ids == ["<reminder-1@example.org>", "<reminder-2@example.org>"]


def test_maildir_that_cannot_be_made_is_a_permanent_error(tmp_path) -> None:
    blocker = tmp_path / "bestand"
    blocker.write_text("geen map")
    with pytest.raises(PermanentDeliveryError, match=r"cannot store message <reminder-42@example\.org>"):
        MaildirChannel(blocker).deliver(a_message())


# --------------------------------------------------------------------------------------- log


def test_log_channel_logs_one_line_per_message(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="onderwijsflow.notify"):
        report = LogChannel().deliver(a_message(recipients=(ANNE, PIET)))

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "message <reminder-42@example.org> to anne@example.org, piet@example.org: "
        "Herinnering: deadline subsidieaanvraag over één week"
    )
    assert report == DeliveryReport("log", (ANNE, PIET), {})


# ----------------------------------------------------------------------------- build_channels


def test_every_channel_is_a_channel(tmp_path) -> None:
    for channel in (LogChannel(), MaildirChannel(tmp_path), SmtpChannel("127.0.0.1", 25)):
        assert isinstance(channel, Channel)


def test_default_configuration_gives_the_log_channel() -> None:
    [channel] = build_channels(NotifyConfig(), environ={})
    assert isinstance(channel, LogChannel)


def notify_config(*channels: dict) -> NotifyConfig:
    return NotifyConfig.model_validate({"channels": list(channels)})


def test_build_channels_from_configuration(tmp_path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("uit-een-bestand\n")
    config = notify_config(
        {"type": "log"},
        {"type": "maildir", "path": str(tmp_path / "outbox")},
        {"type": "smtp", "host": "mail.example.org", "username": "x", "password_env": "SMTP_PW"},
        {"type": "smtp", "host": "smtps.example.org", "ssl": True},
        {"type": "smtp", "host": "submit.example.org", "port": 587, "starttls": True, "batch": 5,
         "username": "y", "password_file": str(secret)},
    )
    kinds = [LogConfig, MaildirConfig, SmtpConfig, SmtpConfig, SmtpConfig]
    assert [type(c) for c in config.channels] == kinds
    log_channel, maildir, smtp, smtps, submit = build_channels(config, environ={"SMTP_PW": "geheim"})

    assert isinstance(log_channel, LogChannel)
    assert isinstance(maildir, MaildirChannel) and maildir.path == tmp_path / "outbox"
    assert isinstance(smtp, SmtpChannel)
    assert (smtp.host, smtp.port, smtp.username, smtp._password) == ("mail.example.org", 25, "x", "geheim")
    assert (smtp.batch_size, maildir.batch_size) == (20, 500)  # SMTP small: a crash leaves few unknown
    assert (smtp.connect_timeout, smtp.timeout) == (2, 30)
    assert isinstance(smtps, SmtpChannel) and (smtps.port, smtps.ssl) == (465, True)
    assert isinstance(submit, SmtpChannel) and (submit.port, submit.starttls) == (587, True)
    assert (submit.batch_size, submit._password) == (5, "uit-een-bestand")


@pytest.mark.parametrize(
    ("channel", "environ", "problem"),
    [
        (
            {"type": "smtp", "host": "h", "username": "x", "password_env": "SMTP_PW"},
            {},
            r"notify.channels\[0\] \(smtp\): the environment variable SMTP_PW \(password_env\) is not set",
        ),
        ({"type": "smtp", "host": "h", "username": "x", "password_env": "SMTP_PW"}, {"SMTP_PW": ""}, "empty"),
        ({"type": "smtp", "host": "h", "username": "x", "password_file": "/nonexistent/pw"}, {},
         r"password file /nonexistent/pw \(password_file\) cannot be read"),
        ({"type": "smtp", "username": "x"}, {}, "needs a host"),
        ({"type": "smtp", "host": "h", "username": "x"}, {}, "needs password_env"),
        ({"type": "smtp", "host": "h", "password_env": "SMTP_PW"}, {"SMTP_PW": "p"}, "no username"),
        ({"type": "smtp", "host": "h", "username": "x", "password_env": "A", "password_file": "B"}, {},
         "not both"),
        ({"type": "smtp", "host": "h", "ssl": True, "starttls": True}, {}, "not both"),
        ({"type": "smtp", "host": "h", "path": "outbox"}, {}, "path does not apply to a smtp channel"),
        ({"type": "maildir"}, {}, r"notify.channels.0.maildir: a maildir channel needs a path"),
        ({"type": "maildir", "path": "outbox", "host": "h"}, {}, "host does not apply"),
        ({"type": "log", "starttls": True}, {}, "starttls does not apply to a log channel"),
        ({"type": "log", "batch": 0}, {}, "at least 1 message"),
        ({"type": "log", "colour": "blue"}, {}, r"notify.channels.0.log.colour: unknown key"),
        ({"type": "fax", "number": "070"}, {}, r"notify.channels.0"),
    ],
)
def test_configuration_refuses_channels_that_cannot_work(tmp_path, channel: dict, environ: dict,
                                                        problem: str) -> None:
    """Through the configuration file, as a user meets it: one sentence naming the entry."""
    import json

    from onderwijsflow.config import load_config

    path = tmp_path / "onderwijsflow.yaml"
    path.write_text(json.dumps({"notify": {"channels": [channel]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        build_channels(load_config(path).notify, environ=environ)


def test_build_channels_refuses_the_same_channel_twice() -> None:
    config = notify_config({"type": "log"}, {"type": "log"})
    with pytest.raises(ConfigError, match=r"channels\[1\] \(log\): the same channel is listed twice"):
        build_channels(config, environ={})


def test_build_channels_reads_the_process_environment_by_default(monkeypatch) -> None:
    monkeypatch.setenv("ONDERWIJSFLOW_TEST_SMTP_PASSWORD", "geheim")
    config = notify_config(
        {"type": "smtp", "host": "h", "username": "x", "password_env": "ONDERWIJSFLOW_TEST_SMTP_PASSWORD"}
    )
    [channel] = build_channels(config)
    assert isinstance(channel, SmtpChannel) and channel._password == "geheim"


@pytest.mark.parametrize(
    ("notify", "problem"),
    [
        ({"operators": {"to": [], "channel": {"type": "maildir", "path": "ops"}}}, "at least one address"),
        ({"operators": {"to": ["geen-adres"], "channel": {"type": "maildir", "path": "ops"}}},
         "notify.operators.to"),
        ({"channels": [{"type": "maildir", "path": "ops"}],
          "operators": {"to": ["beheer@example.org"], "channel": {"type": "maildir", "path": "ops"}}},
         "another channel"),
        ({"anchor_mail": {"to": ["auditor@example.org"], "at": "25:00"}}, "notify.anchor_mail.at"),
        ({"retry": {"max_attempts": 0}}, "notify.retry.max_attempts"),
    ],
)
def test_operators_anchor_mail_and_retry_are_validated(tmp_path, notify: dict, problem: str) -> None:
    import json

    from onderwijsflow.config import load_config

    path = tmp_path / "onderwijsflow.yaml"
    path.write_text(json.dumps({"notify": notify}), encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(path)


def test_the_retry_waits_grow_exponentially_up_to_the_longest() -> None:
    from datetime import timedelta

    from onderwijsflow.config import RetryConfig

    retry = RetryConfig(first=60, factor=5, longest=3600)
    assert [retry.wait(n) for n in (1, 2, 3, 4)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25), timedelta(hours=1)]


def test_the_shipped_configurations_still_load() -> None:
    from onderwijsflow.config import load_config

    shipped = Path(__file__).parent / "data" / "config-2024" / "onderwijsflow.yaml"
    for config in (load_config(), load_config(shipped)):
        assert [c.type for c in config.notify.channels] == ["log"]


# -------------------------------------------------------------------------------- public API


def test_public_api_is_exactly_what_is_documented() -> None:
    assert sorted(notify.__all__) == [
        "Channel",
        "DeliveryReport",
        "LogChannel",
        "MaildirChannel",
        "Message",
        "SmtpChannel",
        "build_channels",
        "make_message_id",
    ]
    for name in notify.__all__:
        assert getattr(notify, name).__doc__, f"{name} has no docstring"


def test_delivery_errors_share_one_base() -> None:
    for kind in (TemporaryDeliveryError, PermanentDeliveryError, UncertainDeliveryError):
        assert issubclass(kind, DeliveryError)
