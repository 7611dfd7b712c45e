"""Notifications: what a message is and the channels that carry it (design §5, §6).

The scheduler builds a `Message` per reminder, keeps it in its outbox, and hands batches of
them to each channel from `build_channels`. A channel either reports what it delivered or
raises a `DeliveryError` saying whether trying again may help; see `onderwijsflow.notify.base`.
Each channel lives in a module of its own with its configuration model: `onderwijsflow.notify.log`,
`onderwijsflow.notify.maildir`, `onderwijsflow.notify.smtp`.
"""

from __future__ import annotations

from onderwijsflow.notify.channels import (
    Channel,
    DeliveryReport,
    LogChannel,
    MaildirChannel,
    SmtpChannel,
    build_channels,
)
from onderwijsflow.notify.message import Message, make_message_id

__all__ = [
    "Channel",
    "DeliveryReport",
    "LogChannel",
    "MaildirChannel",
    "Message",
    "SmtpChannel",
    "build_channels",
    "make_message_id",
]
