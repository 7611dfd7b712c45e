"""The log channel: one INFO line per message, nothing kept (the default)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from onderwijsflow.notify.base import ChannelSettings, DeliveryReport
from onderwijsflow.notify.message import Message

log = logging.getLogger("onderwijsflow.notify")


class LogChannel:
    """Writes one INFO line per message to the ``onderwijsflow.notify`` logger, and keeps nothing.

    The default channel: a fresh installation shows what it would send without mailing anyone.
    """

    name = "log"

    def __init__(self, *, batch_size: int = 500) -> None:
        self.batch_size = batch_size

    def deliver(self, message: Message) -> DeliveryReport:
        """Log the message's ID, recipients and subject on one line (Message forbids line breaks)."""
        recipients = ", ".join(message.recipients) or "(no recipients)"
        log.info("message %s to %s: %s", message.message_id, recipients, message.subject)
        return DeliveryReport(self.name, message.recipients)

    def __repr__(self) -> str:
        return "LogChannel()"


class LogConfig(ChannelSettings):
    """``{type: log}``: messages are only logged."""

    type: Literal["log"] = "log"
    batch: int = 500

    def identity(self) -> str:
        """Every log channel is the same channel."""
        return LogChannel.name

    def build(self, environ: Mapping[str, str]) -> LogChannel:
        """A `LogChannel`."""
        return LogChannel(batch_size=self.batch)
