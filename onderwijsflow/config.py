"""Configuration: the shipped `config/onderwijsflow.yaml`, with a user's file on top (design §5).

Unknown keys are errors (a misspelt `simulated_clok` must not silently do nothing), and
secrets never live in the file: channels name the environment variable that holds them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from onderwijsflow.errors import ConfigError
from onderwijsflow.i18n import _
from onderwijsflow.notify.channels import ChannelConfig, LogConfig
from onderwijsflow.resources import shipped
from onderwijsflow.vocabulary import ACTOR_ROLES, require_member


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActorConfig(_Strict):
    """A user of onderwijsflow and the roles they hold."""

    roles: tuple[str, ...] = ()
    email: str | None = None

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        from onderwijsflow.validation import check_mailbox

        return check_mailbox(value) if value is not None else None

    @field_validator("roles")
    @classmethod
    def _known(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        for role in roles:
            if problem := require_member("actor role", role, ACTOR_ROLES):
                raise ValueError(problem)
        return roles


class RoundConfig(_Strict):
    """A subsidy round: which workflow it opens and the parameters it fills."""

    workflow: str
    label: str | None = None
    params: dict[str, Any] = {}


class RetryConfig(_Strict):
    """How the scheduler tries a delivery again after a temporary failure.

    The n-th wait is ``first × factor^(n-1)`` seconds, at most `longest`; after
    `max_attempts` attempts in all the delivery is ``failed`` (and escalated).
    """

    max_attempts: int = Field(default=5, ge=1, le=100)
    first: float = Field(default=60, gt=0)
    factor: float = Field(default=5, ge=1)
    longest: float = Field(default=4 * 3600, gt=0)

    def wait(self, attempts: int) -> dt.timedelta:
        """The wait after the `attempts`-th failed attempt (1 for the first)."""
        seconds = min(self.first * self.factor ** max(0, attempts - 1), self.longest)
        return dt.timedelta(seconds=seconds)


def _mailboxes(values: tuple[str, ...]) -> tuple[str, ...]:
    from onderwijsflow.validation import check_mailbox

    if not values:
        raise ValueError(_("needs at least one address"))
    return tuple(check_mailbox(value) for value in values)


class OperatorsConfig(_Strict):
    """Who hears of a delivery that ended ``failed`` or ``unknown``, and through which channel.

    The channel is a channel of its own, not one of ``notify.channels``: an alert about a
    failing channel must not depend on that channel.
    """

    to: tuple[str, ...]
    channel: ChannelConfig

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _mailboxes(values)


class AnchorMailConfig(_Strict):
    """The daily audit anchor (``audit anchor``) mailed to the auditors, once a day at `at`."""

    to: tuple[str, ...]
    at: dt.time = dt.time(7, 0)

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _mailboxes(values)


class NotifyConfig(_Strict):
    """Who mail comes from, who signs it, where replies go, and how it leaves."""

    sender: str = "onderwijsflow@example.org"
    #: Who signs every message (the line under the greeting).
    team: str = "Realisatie-Eenheid Onderwijsregio's"
    #: Where replies go (the Reply-To header); None: to the sender.
    reply_to: str | None = None
    #: More lines under the team's name: a telephone number, a web address.
    signature: str | None = None
    channels: tuple[ChannelConfig, ...] = (LogConfig(),)
    #: Trying again after temporary failures (backoff, and when to give up).
    retry: RetryConfig = RetryConfig()
    #: Operators told once of every delivery that ended failed or unknown.
    operators: OperatorsConfig | None = None
    #: The audit anchor mailed daily to the auditors (through `channels`).
    anchor_mail: AnchorMailConfig | None = None

    @model_validator(mode="after")
    def _operators_elsewhere(self) -> NotifyConfig:
        if self.operators is not None:
            theirs = self.operators.channel.identity()
            if any(channel.identity() == theirs for channel in self.channels):
                raise ValueError(_("operators.channel must be another channel than those in "
                                   "notify.channels ({channel}): an alert must not go through "
                                   "the channel that failed").format(channel=theirs))
        return self

    @field_validator("team", "reply_to")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and len(value.splitlines()) > 1:
            raise ValueError(_("must be one line"))
        return value.strip() if value is not None else None

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        from onderwijsflow.validation import check_mailbox

        return check_mailbox(value) if value is not None else None

    @field_validator("signature")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return value.strip("\n") or None if value is not None else None


class Config(_Strict):
    """The whole configuration, validated."""

    database: str = "sqlite:///onderwijsflow.db"
    #: The language of every text a person reads, unless --lang or ONDERWIJSFLOW_LANG says otherwise.
    language: Literal["nl", "en"] = "nl"
    timezone: Literal["Europe/Amsterdam"] = "Europe/Amsterdam"
    reminder_time: dt.time = dt.time(9, 0)
    #: Allows --now only together with a practice database (``init --practice``, issue 9): the
    #: database's policy decides, so a file cannot switch a simulated clock on in production.
    simulated_clock: bool = False
    start_with_region: tuple[str, ...] = ("regiovorming",)
    #: Roles by actor, read only while the database stores no users (``user add``) and never on
    #: PostgreSQL for a login that is not the owner; it cannot allow --actor (a practice
    #: database does) nor give more than an empty list, which is single-user mode.
    actors: dict[str, ActorConfig] = Field(default_factory=dict)
    rounds: dict[str, RoundConfig] = Field(default_factory=dict)
    notify: NotifyConfig = NotifyConfig()

    @property
    def single_user(self) -> bool:
        """No actors listed: everyone may do everything."""
        return not self.actors

    def roles_of(self, actor: str) -> frozenset[str] | None:
        """The roles of `actor`; None in single-user mode (all roles)."""
        if self.single_user:
            return None
        found = self.actors.get(actor)
        return frozenset(found.roles) if found else frozenset()


def load_config(path: str | Path | None = None) -> Config:
    """Read the shipped defaults and, when given, a user's file on top of them.

    Raises:
        ConfigError: a file that is missing, not YAML, or has unknown keys or bad values.
    """
    data = _read(shipped("config") / "onderwijsflow.yaml")
    if path is not None:
        data = _merge(data, _read(Path(path)))
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = _("unknown key")
        raise ConfigError(_("configuration {file}: {key}: {problem}").format(
            file=path or _("defaults"), key=where, problem=msg)) from None


def _read(path: Path) -> dict[str, Any]:
    """One configuration file, read as safely as a workflow (:mod:`onderwijsflow.yamlsafe`:
    size, nesting and alias limits, dates within 1900-2200, duplicate keys refused).

    Raises:
        ConfigError: one sentence naming the file and, where there is one, the line.
    """
    from onderwijsflow.yamlsafe import YamlProblem, parse, read_limited

    try:
        parsed = parse(read_limited(path).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(_("configuration file {file} does not exist").format(file=path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(_("cannot read configuration file {file}: {error}").format(
            file=path, error=err)) from None
    except YamlProblem as err:
        raise ConfigError(_("configuration file {file} is not valid: {problem}").format(
            file=f"{path}:{err.line}", problem=err)) from None
    duplicates = [found for found_in in parsed.duplicates.values() for found in found_in]
    if duplicates:
        key, line, first = min(duplicates, key=lambda found: found[1])
        raise ConfigError(_("configuration file {file}: duplicate key '{key}' (first at line "
                            "{first})").format(file=f"{path}:{line}", key=key, first=first))
    data = parsed.data if parsed.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(_("configuration file {file} must be a mapping of keys to values")
                          .format(file=path))
    return data


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Keys of `top` win; top-level mappings (rounds, notify) merge key by key, one level deep.

    A round the user's file names replaces the shipped round of that name as a whole: its
    params must not be mixed with the shipped round's (they may be for another workflow).
    `actors` is never merged: the user's list is the list of who may write.
    """
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "actors":
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
