"""The ``openisales`` command line: reads options, calls the factories, holds no logic.

Settings are built when a command needs them (``cli/common.pass_settings``).
"""

from __future__ import annotations

import logging

import click

from openisales.cli.admin import holiday, keys, migrate, vdn
from openisales.cli.common import CliState, as_path, setting_option
from openisales.cli.imports import import_calldata
from openisales.cli.operators import operator
from openisales.cli.push import push
from openisales.cli.serve import serve, simulate, worker

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT)
@setting_option("database_url", "--database-url")
@setting_option("data_dir", "--data-dir", type=click.Path(file_okay=False))
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, data_dir: str | None) -> None:
    """openisales: an outbound-campaign server speaking the CC-iSales OpenAPI.

    Settings come from OPENISALES_* environment variables (docs/operations.md);
    --database-url and --data-dir override two of them for every command.
    `openisales COMMAND -h` explains a command.
    """
    ctx.obj = CliState(database_url=database_url, data_dir=as_path(data_dir) if data_dir else None)


for _command in (
    migrate,
    serve,
    vdn,
    holiday,
    keys,
    operator,
    worker,
    simulate,
    push,
    import_calldata,
):
    cli.add_command(_command)


def _explain(command: click.Command) -> None:
    """``--version`` on every command, as on the root group (``-h`` is inherited)."""
    click.version_option(
        None, "--version", "show_version", package_name="openisales", prog_name="openisales"
    )(command)  # named apart from `import --api-version`'s "version"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _explain(sub)


_explain(cli)


def main() -> None:
    # Commands that do not set up logging (all but serve and worker) must not
    # get Python's last-resort handler, which prints a traceback with a record:
    # their failures are one line on stderr (the ClickExceptions above).
    logging.getLogger("openisales").addHandler(logging.NullHandler())
    cli(prog_name="openisales")


if __name__ == "__main__":
    main()
