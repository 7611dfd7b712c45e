"""Channels carry a `Message` out of onderwijsflow: the log, a Maildir, or an SMTP server.

One module per channel (`onderwijsflow.notify.log`, `.maildir`, `.smtp`), each with its
channel class and its configuration model; `ChannelConfig` is their discriminated union on
``type``, and `build_channels` makes the channels ``notify.channels`` lists. The contract every
channel keeps is in `onderwijsflow.notify.base`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from onderwijsflow.errors import ConfigError
from onderwijsflow.i18n import _
from onderwijsflow.notify.base import (
    Channel,
    ChannelSettings,
    DeliveryReport,
    batch_size,
    deliver_batch,
)
from onderwijsflow.notify.log import LogChannel, LogConfig
from onderwijsflow.notify.maildir import MaildirChannel, MaildirConfig, maildir_file_name
from onderwijsflow.notify.smtp import SmtpChannel, SmtpConfig

if TYPE_CHECKING:
    from onderwijsflow.config import NotifyConfig

__all__ = [
    "Channel",
    "ChannelConfig",
    "ChannelSettings",
    "DeliveryReport",
    "LogChannel",
    "LogConfig",
    "MaildirChannel",
    "MaildirConfig",
    "SmtpChannel",
    "SmtpConfig",
    "batch_size",
    "build_channel",
    "build_channels",
    "deliver_batch",
    "maildir_file_name",
]

#: The configuration of one channel: the model its ``type`` names.
ChannelConfig = Annotated[LogConfig | MaildirConfig | SmtpConfig, Field(discriminator="type")]


def build_channels(notify_config: NotifyConfig, environ: Mapping[str, str] = os.environ) -> list[Channel]:
    """The channels ``notify.channels`` describes, in their order.

    Args:
        notify_config: the ``notify`` section of the configuration.
        environ: where ``password_env`` variables are looked up; the process environment
            by default (secrets never live in the configuration file, design §5).

    Raises:
        ConfigError: a channel's password cannot be found, or a channel is listed twice.
    """
    channels: list[Channel] = []
    for index, config in enumerate(notify_config.channels):
        where = f"notify.channels[{index}] ({config.type})"
        channel = build_channel(config, where, environ)
        if any(other.name == channel.name for other in channels):
            raise ConfigError(_("{where}: the same channel is listed twice ({channel})")
                              .format(where=where, channel=channel.name))
        channels.append(channel)
    return channels


def build_channel(config: ChannelSettings, where: str,
                  environ: Mapping[str, str] = os.environ) -> Channel:
    """The channel of one configuration entry; errors name the entry (`where`).

    Raises:
        ConfigError: what the channel needs cannot be found or contradicts itself.
    """
    try:
        return config.build(environ)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err.message}") from None
