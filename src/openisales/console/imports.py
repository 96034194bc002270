"""Import pages: upload a CSV or XLSX file of call data into a campaign, watch it load.

``GET /console/vdn/{vdn}/imports`` shows the form (supervisors) and the VDN's
recent imports; ``POST`` (OPERATE) checks the campaign -- a refusal is shown
next to the form with its code -- and starts the import in the background
(``console.importer``: the ``openisales import`` machinery, in a thread of its
own). ``/imports/{job}`` shows its progress (live while it runs) and outcome,
``/imports/{job}/rejects.csv`` the refused rows with their line, field, code
and reason, as ``openisales import --errors`` writes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from openisales.console import importer
from openisales.console.export import csv_line, download_headers
from openisales.console.page import Page, error_page, view
from openisales.domain.operator import Permission
from openisales.errors import OpenISalesError
from openisales.services import calldata as calldata_service
from openisales.store import import_jobs, lookup
from openisales.store.sql import reading

REFRESH_MS = 2000
REJECT_PAGE = 5_000


def registry(request: Request) -> importer.Imports:
    """The application's import jobs (made on first use)."""
    found = getattr(request.app.state, "console_imports", None)
    if found is None:
        found = importer.Imports()
        request.app.state.console_imports = found
    assert isinstance(found, importer.Imports)
    return found


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def _form_page(
    page: Page, status: int = 200, *, values: dict[str, str] | None = None, error: Any = None
) -> Response:
    assert page.vdn_id is not None
    async with reading(page.engine) as conn:
        campaigns = await lookup.campaign_names(conn, page.vdn_id)
    jobs = [
        importer.shown(j, registry(page.request), embedded=page.ctx.settings.embedded, now=page.now)
        for j in await importer.recent(page.engine, page.vdn_id)
    ]
    return page.render(
        "imports.html",
        status,
        section="imports",
        title="Import call data",
        campaigns=campaigns,
        jobs=jobs,
        modes=importer.MODES,
        values=values or {"version": "2", "mode": "all"},
        error=error,
        can_operate=page.may(Permission.OPERATE),
        limit_mb=page.ctx.settings.console_upload_bytes / 1_048_576,
    )


@view(Permission.READ)
async def imports(page: Page) -> Response:
    return await _form_page(page)


@view(Permission.OPERATE)
async def upload(page: Page) -> Response:
    assert page.vdn_id is not None
    form = await page.form(page.ctx.settings.console_upload_bytes)  # closed by page.view
    values = {k: _text(form, k) for k in ("campaign", "version", "mode")}
    file = form.get("file")
    try:
        if not values["campaign"].isdigit() or len(values["campaign"]) > 18:
            raise _Refused("choose the campaign to import into")
        if values["version"] not in {"1", "2"}:
            raise _Refused("choose the v1 or the v2 rules")
        if values["mode"] not in importer.MODES:
            raise _Refused("choose what to do with bad rows")
        if not isinstance(file, UploadFile) or not file.filename:
            raise _Refused("choose a file to import")
        if not file.filename.lower().endswith(importer.SUFFIXES):
            raise _Refused("only .csv and .xlsx files can be imported")
        async with reading(page.engine) as conn:
            await calldata_service.open_campaign(
                conn, page.vdn_id, int(values["campaign"]), page.now, lock=False
            )
        content = await file.read()
        if not content:
            raise _Refused("the file is empty (a header row is needed)")
        job = await importer.start(
            registry(page.request),
            settings=page.ctx.settings,
            engine=page.engine,
            ids=page.ctx.ids,
            clock=page.ctx.clock,
            actor=page.actor,
            upload=importer.Upload(
                page.vdn_id,
                int(values["campaign"]),
                file.filename,
                content,
                int(values["version"]),
                values["mode"],
            ),
        )
    except (_Refused, importer.Busy) as exc:
        return await _form_page(page, 400, values=values, error={"code": None, "text": str(exc)})
    except OpenISalesError as exc:
        error = {"code": exc.result_code, "text": exc.description}
        return await _form_page(page, 400, values=values, error=error)
    return page.redirect(page.vdn_path(f"/imports/{job.job_id}"))


class _Refused(Exception):
    """A form the import cannot start from (no result code: nothing reached a use case)."""


async def _job(page: Page) -> import_jobs.Job | None:
    raw = str(page.request.path_params["job"])
    if not raw.isdigit() or len(raw) > 18 or page.vdn_id is None:
        return None
    found = await importer.job_of(page.engine, page.vdn_id, int(raw))
    if found is None:
        return None
    imports = registry(page.request)
    return importer.shown(found, imports, embedded=page.ctx.settings.embedded, now=page.now)


async def _progress_values(page: Page, job: import_jobs.Job) -> dict[str, Any]:
    running = registry(page.request).get(job.vdn_id, job.job_id)
    first: list[Any]
    if running is not None:
        first = list(running.progress.first)
    else:
        async with reading(page.engine) as conn:
            first = await import_jobs.rejects(
                conn, job.vdn_id, job.job_id, 0, importer.SHOWN_REJECTS
            )
    return {"job": job, "first": first, "modes": importer.MODES, "kept": importer.REJECTS_KEPT}


@view(Permission.READ)
async def job_page(page: Page) -> Response:
    job = await _job(page)
    if job is None:
        return error_page(page.request, 404, "Not found", "No such import.")
    return page.render(
        "import_job.html",
        section="imports",
        title=f"Import {job.job_id}",
        refresh_ms=REFRESH_MS,
        **await _progress_values(page, job),
    )


@view(Permission.READ)
async def job_live(page: Page) -> Response:
    job = await _job(page)
    if job is None:
        return error_page(page.request, 404, "Not found", "No such import.")
    return page.render("_import_progress.html", **await _progress_values(page, job))


@view(Permission.READ)
async def rejects_csv(page: Page) -> Response:
    job = await _job(page)
    if job is None:
        return error_page(page.request, 404, "Not found", "No such import.")
    engine = page.engine

    async def rows() -> AsyncIterator[str]:
        yield csv_line(["line", "field", "code", "message"])
        after = 0
        while True:
            async with reading(engine) as conn:
                found = await import_jobs.rejects(conn, job.vdn_id, job.job_id, after, REJECT_PAGE)
            if not found:
                return
            yield "".join(csv_line([r.line, r.field, r.code, r.message]) for r in found)
            after = found[-1].line

    name = f"import-{job.vdn_id}-{job.job_id}-rejects.csv"
    return StreamingResponse(rows(), media_type="text/csv", headers=download_headers(name))


ROUTES: list[BaseRoute] = [
    Route("/console/vdn/{vdn}/imports", imports, methods=["GET"]),
    Route("/console/vdn/{vdn}/imports", upload, methods=["POST"]),
    Route("/console/vdn/{vdn}/imports/{job}", job_page, methods=["GET"]),
    Route("/console/vdn/{vdn}/imports/{job}/live", job_live, methods=["GET"]),
    Route("/console/vdn/{vdn}/imports/{job}/rejects.csv", rejects_csv, methods=["GET"]),
]
