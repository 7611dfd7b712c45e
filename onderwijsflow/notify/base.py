"""What every channel shares: the report of a delivery, the `Channel` protocol, batches, and
the base of the channels' configuration (one pydantic model per channel type, a discriminated
union on ``type``; see `onderwijsflow.notify.log`, `.maildir` and `.smtp`).

Every channel answers `deliver` in one of two ways, and the scheduler relies on the difference:

- it returns a `DeliveryReport`: the message reached at least one recipient (or the channel
  keeps no recipients, like the log). Recipients the server refused for good are named in
  `DeliveryReport.refused`, those refused for now in `DeliveryReport.deferred`; never dropped
  in silence.
- it raises a `DeliveryError`: nobody got the message. `TemporaryDeliveryError` means trying
  again later may work; `PermanentDeliveryError` means a person must change something first;
  `UncertainDeliveryError` means the connection broke after the message was handed over, so it
  may have arrived: design §6 says such a message is marked `unknown`, never resent blindly.

A channel never waits and never retries on a clock of its own: the scheduler reschedules a
temporary failure (``next_attempt_at``), so a pass never sleeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_validator

from onderwijsflow.errors import DeliveryError
from onderwijsflow.i18n import _

if TYPE_CHECKING:
    from onderwijsflow.notify.message import Message


@dataclass(frozen=True)
class DeliveryReport:
    """What a channel did with one message.

    Attributes:
        channel: the `Channel.name` that delivered it.
        accepted: the recipients that got the message (as written in `Message.recipients`).
        refused: recipients refused for good, each with the reason (e.g. the server's
            ``550 5.1.1 unknown user``); the rest of the message still went out.
        deferred: recipients refused for now (a 4xx reply), each with the reason: the
            scheduler tries them again later, and only them.
    """

    channel: str
    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every recipient got the message."""
        return not self.refused and not self.deferred


@runtime_checkable
class Channel(Protocol):
    """Anything that can deliver a message; see the module docstring for the contract.

    A channel may also offer ``deliver_many(messages)`` (one connection for a batch) and a
    ``batch_size`` (how many messages the scheduler hands it at once); `deliver_batch` uses
    them when present.
    """

    name: str

    def deliver(self, message: Message) -> DeliveryReport:
        """Deliver `message` or raise a `DeliveryError` saying why nobody got it."""
        ...


#: How many messages a channel without its own `batch_size` gets at once.
DEFAULT_BATCH = 200


def batch_size(channel: Channel) -> int:
    """How many messages the scheduler hands `channel` at once (at least 1)."""
    return max(1, int(getattr(channel, "batch_size", DEFAULT_BATCH)))


def deliver_batch(channel: Channel, messages: Sequence[Message]) -> list[DeliveryReport | DeliveryError]:
    """Hand `messages` to `channel`; one outcome per message, in order.

    A channel with ``deliver_many`` gets the batch as a whole (one SMTP connection); any other
    gets the messages one by one. Errors other than a `DeliveryError` (a crash) propagate.
    """
    many = getattr(channel, "deliver_many", None)
    if many is not None:
        outcomes: list[DeliveryReport | DeliveryError] = list(many(messages))
        return outcomes
    results: list[DeliveryReport | DeliveryError] = []
    for message in messages:
        try:
            results.append(channel.deliver(message))
        except DeliveryError as err:
            results.append(err)
    return results


class ChannelSettings(BaseModel):
    """The configuration of one channel type: `type` names it, `build` makes the channel.

    Subclasses declare their options as fields. An option of another channel type (``path`` on
    an smtp channel) is refused with "does not apply" rather than "unknown key": it is a
    mistake of type, not of spelling.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    _options: ClassVar[set[str]] = set()

    #: How many messages one batch holds: how many can become ``unknown`` after a crash.
    batch: int = DEFAULT_BATCH

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ChannelSettings._options.update(name for name in cls.__annotations__ if not name.startswith("_"))

    @model_validator(mode="before")
    @classmethod
    def _foreign_options(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            kind = data.get("type")
            for option in data:
                if option in ChannelSettings._options and option not in cls.model_fields:
                    raise ValueError(_("{option} does not apply to a {type} channel")
                                     .format(option=option, type=kind))
            batch = data.get("batch")
            if isinstance(batch, int) and not isinstance(batch, bool) and batch < 1:
                raise ValueError(_("a channel's batch holds at least 1 message"))
        return data

    def identity(self) -> str:
        """What two entries that are the same channel share (the name of the built channel)."""
        raise NotImplementedError

    def build(self, environ: Mapping[str, str]) -> Channel:
        """The channel this configuration describes.

        Raises:
            ConfigError: what is needed cannot be found (a password's variable or file).
        """
        raise NotImplementedError
