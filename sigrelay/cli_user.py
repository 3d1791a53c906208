"""`sigrelay user add|remove|list`: the users file that AUTH checks (argon2 hashes).

The password is read from a prompt (twice, hidden) or, with --password-stdin,
from the first line of standard input; never from the command line, where
other users of the machine can read it in the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from proxy.auth.backends import users_file_path
from proxy.auth.users import add_user, read_users, remove_user
from sigrelay.cliconfig import config_option, load_or_fail


def _users_path(config_dir: Path | None) -> Path:
    cfg = load_or_fail(config_dir)
    if cfg.relay.auth_backend != "users":
        click.echo(
            f"note: [relay] auth_backend is {cfg.relay.auth_backend!r}; "
            "the users file is not used for AUTH until it is 'users'",
            err=True,
        )
    return users_file_path(cfg)


@click.group()
def user() -> None:
    """Users allowed to authenticate (login = their mail address)."""


@user.command("add")
@config_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def add(config_dir: Path | None, name: str, password_stdin: bool) -> None:
    """Add NAME, or set a new password for it."""
    path = _users_path(config_dir)
    if password_stdin:
        password = sys.stdin.readline().removesuffix("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("an empty password is not allowed")
    new = add_user(path, name, password)  # a UsersFileError reaches the admin as it is (cli.py)
    click.echo(f"{'added' if new else 'changed password of'} {name.lower()} in {path}")


@user.command("remove")
@config_option
@click.argument("name")
def remove(config_dir: Path | None, name: str) -> None:
    """Remove NAME."""
    path = _users_path(config_dir)
    if not remove_user(path, name):
        raise click.ClickException(f"no user {name!r} in {path}")
    click.echo(f"removed {name.lower()} from {path}")


@user.command("list")
@config_option
def list_users(config_dir: Path | None) -> None:
    """Print the user names, one per line."""
    path = _users_path(config_dir)
    users = read_users(path)
    if not users:
        click.echo(f"no users in {path}; add one with `sigrelay user add ADDRESS`", err=True)
    for name in sorted(users):
        click.echo(name)
