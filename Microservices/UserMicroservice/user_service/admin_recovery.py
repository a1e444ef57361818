"""The way back when no enabled admin is left: `flask --app user_service promote-admin <username>`."""

import click

from user_service import accounts


@click.command("promote-admin")
@click.argument("username")
def promote_admin_command(username: str) -> None:
    """Make USERNAME an enabled admin (keeping their other roles), for an operator who lost every admin."""
    user = accounts.promote_to_admin(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r} (ignoring case); nothing was changed")
    click.echo(f"{user.username} is now an enabled admin.")
