"""The ``push`` group: list result pushes and queue them again."""

from __future__ import annotations

import click

from openisales.cli.common import json_option, pass_settings, print_list, run_job
from openisales.config import Settings


@click.group()
def push() -> None:
    """Inspect and resend result pushes to campaigns' callBackUrl (see docs/push.md)."""


@push.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "failed"]),
    default=None,
    help="Only pushes with this status.",
)
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="At most this many pushes.",
)
@json_option
@pass_settings
def push_list(
    settings: Settings, status: str | None, vdn_id: int | None, limit: int, as_json: bool
) -> None:
    """List pushes, newest first.

    Columns: pushId, VDN, campaign, status, pushes made, the next push time
    (pending) or the delivery time (delivered) in UTC, URL, last error.
    """
    from openisales.services import pushes as pusher

    found = run_job(
        settings, lambda e: pusher.list_pushes(e, status=status, vdn_id=vdn_id, limit=limit)
    )
    items = [
        {
            "pushId": item.push_id,
            "vdnId": item.vdn_id,
            "campaignId": item.campaign_id,
            "status": item.status_name,
            "pushes": item.attempts,
            "nextPushAt": item.next_attempt_at,
            "deliveredAt": item.delivered_at,
            "url": item.url,
            "lastError": item.last_error,
        }
        for item in found
    ]
    if not as_json:  # one time column: the one that matters for the status
        items = [{**item, "when": item["deliveredAt"] or item["nextPushAt"]} for item in items]
    columns = [
        ("pushId", "PUSH ID"),
        ("vdnId", "VDN"),
        ("campaignId", "CAMPAIGN"),
        ("status", "STATUS"),
        ("pushes", "PUSHES"),
        ("when", "NEXT/DELIVERED (UTC)"),
        ("url", "URL"),
        ("lastError", "LAST ERROR"),
    ]
    print_list(items, columns, as_json)


@push.command("resend")
@click.option("--vdn", "vdn_id", type=int, default=None, help="Only this VDN.")
@click.option("--push-id", default=None, help="One push, DATAID.SEQ (failed or delivered).")
@click.option("--all-failed", is_flag=True, help="Every failed push.")
@pass_settings
def push_resend(
    settings: Settings, vdn_id: int | None, push_id: str | None, all_failed: bool
) -> None:
    """Queue pushes again, now, with their pushIds unchanged (receivers de-duplicate)."""
    from openisales.clock import SystemClock
    from openisales.services import pushes as pusher
    from openisales.services.audit import CLI

    if (push_id is None) == (not all_failed):
        raise click.UsageError("give exactly one of --push-id and --all-failed")
    try:
        count = run_job(
            settings,
            lambda e: pusher.resend(
                e, now=SystemClock().now(), actor=CLI, vdn_id=vdn_id, push_id=push_id
            ),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if push_id is not None and not count:
        raise click.ClickException(f"no failed or delivered push {push_id}")
    click.echo(f"{count} push(es) queued again")
