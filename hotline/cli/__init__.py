"""The `hotline` command, one module per command group.

It is a FlaskGroup, so `hotline run` serves the app as `flask run` would. The
rotation commands (cli/rotation.py) need only the file; the operations commands
(cli/ops.py) and the records commands (cli/records.py) build the app.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from hotline.cli import callout, ops, records, rotation
from hotline.dashboard.accounts import dashboard_user


def _create_app():
    from hotline.app import create_app
    return create_app()


class HotlineGroup(FlaskGroup):
    """Every command is registered here, none by the app. So listing them (`--help`, a
    bare `hotline`, a mistyped name) never builds the app, which refuses to start
    without production settings: help must work on a bare machine."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(super(FlaskGroup, self).list_commands(ctx))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        return super(FlaskGroup, self).get_command(ctx, name)


@click.group(cls=HotlineGroup, create_app=_create_app, add_version_option=False,
             load_dotenv=False)
def cli():
    """Police peer-support line router."""


for _command in (rotation.check, rotation.oncall, rotation.schedule, rotation.ics,
                 ops.db, ops.doctor, ops.twilio, ops.clock_command, ops.sender_command,
                 records.stats, records.purge, records.audit, dashboard_user,
                 callout.callout):
    cli.add_command(_command)
