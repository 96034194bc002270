"""The ``push`` group: list result pushes and queue them again."""

from __future__ import annotations

import click

from openisales.cli.common import run_job
from openisales.clock import SystemClock
from openisales.config import Settings


@click.group()
def push() -> None:
    """Inspect and resend result pushes to campaigns' callBackUrl (see docs/push.md)."""


@push.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "failed"]),
    default=None,
    help="Only pushes in this state.",
)
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def push_list(settings: Settings, status: str | None, vdn_id: int | None, limit: int) -> None:
    """List pushes, newest first: pushId, VDN, campaign, state, pushes made, when, URL, error."""
    from openisales.services import pushes as pusher

    found = run_job(
        settings, lambda e: pusher.list_pushes(e, status=status, vdn_id=vdn_id, limit=limit)
    )
    for item in found:
        when = item.delivered_at or item.next_attempt_at
        fields = [
            item.push_id,
            f"vdn={item.vdn_id}",
            f"campaign={item.campaign_id}",
            item.status_name,
            f"pushes={item.attempts}",
            f"{when:%Y-%m-%d %H:%M:%S}" if when else "-",
            item.url,
            item.last_error or "",
        ]
        click.echo("\t".join(fields).rstrip("\t"))


@push.command("resend")
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option("--push-id", default=None, help="One push, DATAID.SEQ (failed or delivered).")
@click.option("--all-failed", is_flag=True, help="Every failed push.")
@click.pass_obj
def push_resend(
    settings: Settings, vdn_id: int | None, push_id: str | None, all_failed: bool
) -> None:
    """Queue pushes again, now, with their pushIds unchanged (receivers de-duplicate)."""
    from openisales.services import pushes as pusher

    if (push_id is None) == (not all_failed):
        raise click.UsageError("give exactly one of --push-id and --all-failed")
    try:
        count = run_job(
            settings,
            lambda e: pusher.resend(e, now=SystemClock().now(), vdn_id=vdn_id, push_id=push_id),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if push_id is not None and not count:
        raise click.ClickException(f"no failed or delivered push {push_id}")
    click.echo(f"{count} push(es) queued again")
