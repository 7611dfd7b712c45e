"""The Maildir channel: each message one file, atomic and idempotent (same message, same file)."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import model_validator

from onderwijsflow.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from onderwijsflow.i18n import _
from onderwijsflow.notify.base import ChannelSettings, DeliveryReport
from onderwijsflow.notify.message import Message

log = logging.getLogger("onderwijsflow.notify")



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

    def __init__(self, path: str | os.PathLike[str], *, batch_size: int = 500) -> None:
        self.path = Path(path)
        self.name = f"maildir:{self.path}"
        self.batch_size = batch_size

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




class MaildirConfig(ChannelSettings):
    """``{type: maildir, path: DIR}``: a standard Maildir (readable with `mailbox.Maildir`).

    A Maildir delivery is idempotent, so a batch may be large: a crash leaves its messages
    ``unknown`` although each is there at most once.
    """

    type: Literal["maildir"] = "maildir"
    path: str | None = None
    batch: int = 500

    @model_validator(mode="after")
    def _needs_a_path(self) -> MaildirConfig:
        if not self.path:
            raise ValueError(_("a maildir channel needs a path"))
        return self

    def identity(self) -> str:
        """The channel's name: ``maildir:PATH``."""
        return f"maildir:{Path(self.path or '').expanduser()}"

    def build(self, environ: Mapping[str, str]) -> MaildirChannel:
        """A `MaildirChannel` on `path` (``~`` expanded)."""
        return MaildirChannel(Path(self.path or "").expanduser(), batch_size=self.batch)
