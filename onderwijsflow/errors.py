"""The one exception hierarchy of onderwijsflow.

Every error a user can cause is one of these; the CLI maps each class, once, to its
exit code and prints the message as one sentence::

    OnderwijsflowError            exit 1
    ├── ConfigError               exit 1   configuration file or option is wrong
    ├── DatabaseError             exit 1   database unreachable, schema out of date
    ├── IntegrityError            exit 1   audit chain broken, stored data inconsistent
    ├── DefinitionError           exit 1   a workflow file is invalid
    ├── UsageError                exit 2   a value given on the command line is malformed
    ├── Refused                   exit 3   requirements unmet, trigger impossible, not permitted
    ├── NotFound                  exit 4   region, workflow, trigger or case does not exist
    ├── Conflict                  exit 5   the case changed under you; nothing was written
    └── DeliveryError             exit 1   a notification channel could not deliver a message
        ├── TemporaryDeliveryError         nothing delivered; trying again later may work
        ├── PermanentDeliveryError         nothing delivered; trying again will not help
        └── UncertainDeliveryError         the server may have accepted it: a person decides
"""

from __future__ import annotations

from typing import Any


class OnderwijsflowError(Exception):
    """Base of every error onderwijsflow raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigError(OnderwijsflowError):
    """The configuration (file, option or environment variable) is invalid."""


class DatabaseError(OnderwijsflowError):
    """The database cannot be reached or its schema does not match the code."""


class IntegrityError(OnderwijsflowError):
    """Stored data is inconsistent, e.g. a broken audit hash chain."""


class DefinitionError(OnderwijsflowError):
    """A workflow definition is invalid; the message names file, line and item."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class UsageError(OnderwijsflowError):
    """A value given by the user is malformed (a date, a duration, a fact value)."""

    exit_code = 2


class Refused(OnderwijsflowError):
    """The engine refused: requirements unmet, trigger impossible, actor not permitted."""

    exit_code = 3


class NotFound(OnderwijsflowError):
    """A region, workflow, trigger, case or other named thing does not exist."""

    exit_code = 4


class Conflict(OnderwijsflowError):
    """A concurrent change won the race; nothing was written, try again."""

    exit_code = 5


class DeliveryError(OnderwijsflowError):
    """A notification channel did not deliver a message; `details` holds what is known."""


class TemporaryDeliveryError(DeliveryError):
    """No recipient got the message, and the cause may pass (4xx reply, server unreachable).

    The caller may deliver the same message again later.
    """


class PermanentDeliveryError(DeliveryError):
    """No recipient got the message, and repeating it will not help (5xx reply, login refused).

    A person has to change something (an address, the configuration) first.
    """


class UncertainDeliveryError(DeliveryError):
    """The connection broke after the message was handed over: it may have arrived or not.

    Exactly-once over SMTP is impossible (design §6); such a message is marked `unknown` and
    sent again only when a person decides, never automatically.
    """
