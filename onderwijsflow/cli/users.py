"""Commands on who may use a database and on its policy (issue 9): ``user``, ``policy``."""

from __future__ import annotations

import click

from onderwijsflow.cli import Settings, pass_settings
from onderwijsflow.cli.output import emit_json, json_option, say, table
from onderwijsflow.i18n import _


@click.group()
def user() -> None:
    """Add, list and remove the users of the database (administrators)."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, metavar="ROLE",
              help="coordinator, override, auditor, admin, landelijk or scheduler; repeatable.")
@click.option("--email", metavar="EMAIL", help="The user's e-mail address.")
@click.option("--password-env", metavar="VAR",
              help="PostgreSQL: the environment variable holding the new login's password.")
@json_option
@pass_settings
def add(settings: Settings, name: str, roles: tuple[str, ...], email: str | None,
        password_env: str | None, as_json: bool) -> None:
    """Add user NAME with its roles (on PostgreSQL: a login role in the group roles)."""
    result = settings.app.add_user(name, roles=roles, email=email, password_env=password_env)
    if as_json:
        emit_json(result)
        return
    say(_("user {name} added with roles {roles}").format(name=name, roles=", ".join(result["roles"])))


@user.command("list")
@json_option
@pass_settings
def list_users(settings: Settings, as_json: bool) -> None:
    """List the users, removed ones included."""
    result = settings.app.list_users()
    if as_json:
        emit_json(result)
        return
    table(_("Users"), [_("Name"), _("Roles"), _("E-mail"), _("Active")],
          [(u["name"], ", ".join(u["roles"]), u["email"] or "", _("yes") if u["active"] else _("no"))
           for u in result["users"]],
          empty=_("no users: everyone who can open the database may do everything"))


@user.command("remove")
@click.argument("name")
@json_option
@pass_settings
def remove(settings: Settings, name: str, as_json: bool) -> None:
    """Remove user NAME: no more writing or logging in; the history keeps the name."""
    result = settings.app.remove_user(name)
    if as_json:
        emit_json(result)
        return
    say(_("user {name} removed").format(name=name))


@click.group()
def policy() -> None:
    """Show and change the database's policy (administrators change it)."""


@policy.command("show")
@json_option
@pass_settings
def show(settings: Settings, as_json: bool) -> None:
    """Show whether this is a practice database, its write scope, and who you are."""
    result = settings.app.policy()
    if as_json:
        emit_json(result)
        return
    say(_("practice database: {answer}").format(answer=_("yes") if result["practice"] else _("no")))
    say(_("write scope: {scope}").format(scope=result["write_scope"]))
    say(_("you are: {actor}").format(actor=result["actor"]))


@policy.command("write-scope")
@click.argument("scope", type=click.Choice(["all", "own"]))
@click.option("--reason", metavar="TEXT", help="Why the scope changes (kept in the policy events).")
@json_option
@pass_settings
def write_scope(settings: Settings, scope: str, reason: str | None, as_json: bool) -> None:
    """Set the write scope: all, or own (a coordinator writes only their regions)."""
    result = settings.app.set_write_scope(scope, reason=reason)
    if as_json:
        emit_json(result)
        return
    say(_("write scope is now {scope}").format(scope=result["write_scope"]))


@policy.command("events")
@json_option
@pass_settings
def events(settings: Settings, as_json: bool) -> None:
    """List the policy events and check their hash chain."""
    from onderwijsflow.errors import IntegrityError

    result = settings.app.policy_events()
    if as_json:
        emit_json(result)
    else:
        table(_("Policy events"), [_("Seq"), _("Kind"), _("Actor"), _("At")],
              [(e["seq"], e["kind"], e["actor"], e["at"]) for e in result["events"]],
              empty=_("no policy events"))
    if not result["ok"]:
        raise IntegrityError(_("policy chain broken at event {seq}").format(seq=result["broken"][0]))


COMMANDS = [user, policy]
