"""`sigrelay admin hash|token`: credentials for the dashboard and the JSON API.

Only hashes go into sigrelay.toml: an argon2 hash per admin password, a
SHA-256 per API token (tokens are long and random, so a fast hash is safe).
"""

from __future__ import annotations

import sys

import click


@click.group()
def admin() -> None:
    """Dashboard logins and API tokens."""


@admin.command("hash")
@click.option("--name", default="admin", show_default=True, help="The admin's login name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
def hash_command(name: str, password_stdin: bool) -> None:
    """Ask for a password (twice, hidden) and print the [[admins]] entry with its argon2 hash."""
    from tracker.dashboard.auth import hash_password

    if password_stdin:  # never as an argument: the process list shows arguments
        password = sys.stdin.readline().removesuffix("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("use at least 12 characters for an admin password")
    click.echo("[[admins]]")
    click.echo(f'name = "{name}"')
    click.echo(f'password_hash = "{hash_password(password)}"')


@admin.command("token")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
def token_command(name: str) -> None:
    """Make a new API token; print it once (to stderr) and its [[api_tokens]] entry."""
    from tracker.dashboard.auth import hash_api_token, new_api_token

    token = new_api_token()
    click.echo(f"token (shown once, keep it secret): {token}", err=True)
    click.echo("[[api_tokens]]")
    click.echo(f'name = "{name}"')
    click.echo(f'token_hash = "{hash_api_token(token)}"')
