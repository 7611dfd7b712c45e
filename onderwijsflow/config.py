"""Configuration: the shipped `config/onderwijsflow.yaml`, with a user's file on top (design §5).

Unknown keys are errors (a misspelt `simulated_clok` must not silently do nothing), and
secrets never live in the file: channels name the environment variable that holds them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from onderwijsflow.errors import ConfigError
from onderwijsflow.i18n import _
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


class ChannelConfig(_Strict):
    """A notification channel (the scheduler uses these)."""

    type: Literal["log", "smtp", "maildir"]
    host: str | None = None
    port: int | None = None
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    path: str | None = None


class NotifyConfig(_Strict):
    """Who mail comes from, who signs it, where replies go, and how it leaves."""

    sender: str = "onderwijsflow@example.org"
    #: Who signs every message (the line under the greeting).
    team: str = "Realisatie-Eenheid Onderwijsregio's"
    #: Where replies go (the Reply-To header); None: to the sender.
    reply_to: str | None = None
    #: More lines under the team's name: a telephone number, a web address.
    signature: str | None = None
    channels: tuple[ChannelConfig, ...] = (ChannelConfig(type="log"),)

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
