"""The ``openisales`` command line: builds settings, calls the factories, holds no logic."""

from __future__ import annotations

import click

from openisales.cli.admin import holiday, keys, migrate, vdn
from openisales.cli.common import as_path
from openisales.cli.imports import import_calldata
from openisales.cli.push import push
from openisales.cli.serve import serve, simulate, worker
from openisales.config import ConfigError, Settings


@click.group()
@click.option(
    "--database-url",
    envvar="OPENISALES_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL; empty = embedded SQLite in the data directory.",
)
@click.option(
    "--data-dir",
    envvar="OPENISALES_DATA_DIR",
    default=None,
    help="Directory for the embedded database, keys and certificate.",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, data_dir: str | None) -> None:
    """openisales: an outbound-campaign server speaking the CC-iSales OpenAPI."""
    try:
        ctx.obj = Settings.from_env(
            database_url=database_url, data_dir=data_dir and as_path(data_dir)
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


cli.add_command(migrate)
cli.add_command(serve)
cli.add_command(vdn)
cli.add_command(holiday)
cli.add_command(keys)
cli.add_command(worker)
cli.add_command(simulate)
cli.add_command(push)
cli.add_command(import_calldata)


def main() -> None:
    cli(prog_name="openisales")


if __name__ == "__main__":
    main()
