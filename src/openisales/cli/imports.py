"""The ``import`` command: load call data from a CSV or XLSX file into a campaign."""

from __future__ import annotations

import click

from openisales.cli.common import pass_settings, run_job
from openisales.config import Settings
from openisales.errors import OpenISalesError


@click.command("import")
@click.option("--vdn", "vdn_id", type=click.IntRange(1, 9999), required=True, help="VDN id.")
@click.option(
    "--campaign", "campaign_id", type=click.IntRange(1), required=True, help="Campaign id."
)
@click.option(
    "--api-version",
    "version",
    type=click.Choice(["1", "2"]),
    default="2",
    show_default=True,
    help="Check rows with the rules of the v1 or the v2 add-call-data API.",
)
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Load the good rows, leave the bad ones out (default: a bad row loads nothing).",
)
@click.option("--check", "check_only", is_flag=True, help="Check file and campaign; load nothing.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write every refused row to this CSV file (line,field,code,message).",
)
@click.option(
    "--show-errors",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Refused rows to print on the terminal.",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_settings
def import_calldata(
    settings: Settings,
    vdn_id: int,
    campaign_id: int,
    version: str,
    skip_bad: bool,
    check_only: bool,
    errors_path: str | None,
    show_errors: int,
    progress: bool,
    file: str,
) -> None:
    """Import call data from a CSV or XLSX FILE into a campaign (docs/import.md)."""
    import contextlib
    from pathlib import Path

    from openisales import importing
    from openisales.clock import SystemClock
    from openisales.services.audit import CLI
    from openisales.store.ids import IdAllocator

    request = importing.ImportRequest(
        vdn_id=vdn_id,
        campaign_id=campaign_id,
        path=Path(file),
        version=int(version),
        skip_bad=skip_bad,
        check_only=check_only,
        max_unfinished=settings.max_unfinished_per_campaign,
    )
    with contextlib.ExitStack() as stack:
        errors = (
            stack.enter_context(open(errors_path, "w", newline="", encoding="utf-8"))
            if errors_path
            else None
        )
        reporter = stack.enter_context(
            importing.ConsoleReporter(progress=progress, show=show_errors, errors=errors)
        )
        try:
            outcome = run_job(
                settings,
                lambda e: importing.run(
                    e, IdAllocator(e), request, clock=SystemClock(), actor=CLI, reporter=reporter
                ),
            )
        except importing.ImportFileError as exc:
            raise click.ClickException(str(exc)) from None
        except OpenISalesError as exc:
            raise click.ClickException(f"{exc.result_code} {exc.description}") from None
    if outcome.refused > reporter.shown:
        more = outcome.refused - reporter.shown
        hint = "" if errors_path else " (--errors FILE lists them all)"
        click.echo(f"... and {more} more refused row(s){hint}", err=True)
    rate = f"{outcome.rate:,.0f}"
    click.echo(
        f"rows read {outcome.read:,}, loaded {outcome.loaded:,}, refused {outcome.refused:,}; "
        f"{outcome.elapsed:.1f} s, {rate} rows/s"
    )
    if outcome.refusal is not None:
        raise click.ClickException(
            f"nothing loaded: {outcome.refusal.result_code} {outcome.refusal.description}"
        )
    if outcome.refused and not skip_bad:
        raise click.ClickException(
            f"nothing loaded: {outcome.refused:,} bad row(s); fix them, or load the others "
            "with --skip-bad"
        )
    if check_only:
        click.echo(f"check passed: {outcome.valid:,} row(s) can be loaded")
    else:
        click.echo(f"{outcome.loaded:,} record(s) added to campaign {campaign_id} of VDN {vdn_id}")
