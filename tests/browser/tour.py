"""Every console page in a real browser, with data to show: the smoke test and the screenshots.

:func:`arrange` fills VDN 1 through the signed API (campaigns being dialled by
the simulator, one paused, business results written back, a blocklist,
holidays); :func:`visit` then opens each page of :data:`PAGES` as the admin,
checks that it answered 200 without a script error or a refused resource
(the CSP forbids inline code: a slip shows up here as a console error), and
saves a 1280×800 PNG of it. ``tests/browser/test_pages.py`` runs it into a
temporary directory; ``python -m tests.browser.screenshots`` into docs/console/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.live import Live, add_numbers, dialling_campaign, make_campaign, wait_for


@dataclass(frozen=True)
class Arranged:
    running: int  # a campaign being dialled, with results written back
    paused: int
    data_id: str  # a record of ``running`` with attempts
    called: str  # its number


def arrange(live: Live) -> Arranged:
    """Campaigns with attempts and results in VDN 1, a blocklist and holidays (a few seconds)."""
    with live.api(1) as api:
        for code, children in (("SOLD", ()), ("CALLBACK", ("EVENING", "WEEKEND")), ("NO", ())):
            reply = api.add_business_result(
                {
                    "name": code.title(),
                    "code": code,
                    "children": [{"name": c.title(), "code": c} for c in children],
                }
            )
            assert reply["resultCode"] in ("0200000", "0200034"), reply  # 0200034: already there
        policy = {
            "policyType": 0,
            "busiPolicy": [
                {"busiResultCode": "CALLBACK", "busiResultPolicy": 2, "callInterval": 3600}
            ],
        }
        running = dialling_campaign(
            api, "Spring sale", fields={"retryPolicy": policy}, concurrency=5, seed=7, ring_s=0.1
        )
        numbers = [str(13_900_000_000 + i) for i in range(40)]
        ids = add_numbers(api, running, numbers, customField="batch-0401")
        paused = make_campaign(api, "Renewals (paused)", initStatus=3)
        add_numbers(api, paused, [str(13_700_000_000 + i) for i in range(25)])
        reply = api.add_blocklist({"blocklist": ["13600000001", "13600000002"], "validityTime": 1})
        assert reply["resultCode"] == "0200000", reply
        api.add_holidays([{"date": "2030-10-01", "name": "National Day"}])

        # every record called once (no retry but CALLBACK's); write back the answered ones
        def all_called() -> bool:
            found = api.statistics(running)["countDetail"][0]
            return bool(found["unCallCount"] == 0 and found["totalCalledCount"] >= len(ids))

        wait_for(all_called, timeout=30, what="every record of the campaign called")
        outcomes = ["SOLD", "CALLBACK/EVENING", "NO", "SOLD"]
        for n, data_id in enumerate(ids):
            code, _, sub = outcomes[n % len(outcomes)].partition("/")
            body = {"busiResult": code, "workNo": "7", **({"subStatus": sub} if sub else {})}
            api.write_back(data_id, body)  # refused (not answered): the record shows no result
    return Arranged(running, paused, ids[0], numbers[0])


@dataclass(frozen=True)
class Stop:
    name: str  # the PNG's name in docs/console/
    title: str  # what docs/console.md calls it
    route: str  # the path, with {vdn}, {campaign}, {data_id}, {called} filled by :meth:`path`
    act: Callable[[Page, Arranged], None] | None = None  # done on the page before the picture
    shown: str = ""  # the route docs/console.md names, when ``act`` leads elsewhere

    def path(self, arranged: Arranged) -> str:
        return self.route.format(
            vdn=1, campaign=arranged.running, data_id=arranged.data_id, called=arranged.called
        )


DEMO_CSV = (
    "called,sessionId,customField\n"
    + "".join(f"1350000{i:04d},c-{i},batch-0402\n" for i in range(1, 9))
    + "1350000x009,c-9,batch-0402\n"
    + ",c-10,batch-0402\n"
)


def _import_with_bad_rows(page: Page, arranged: Arranged) -> None:
    """Upload a file with two bad rows into the paused campaign; wait until it is done."""
    form = page.get_by_role("form", name="Upload a file")
    form.get_by_label("Campaign").select_option(str(arranged.paused))
    form.get_by_label("File").set_input_files(
        {"name": "customers-0402.csv", "mimeType": "text/csv", "buffer": DEMO_CSV.encode()}
    )
    form.get_by_label("load the good rows").check()
    form.get_by_role("button", name="Import").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")


PAGES: list[Stop] = [
    Stop("overview", "Campaigns overview", "/console/vdn/{vdn}/campaigns"),
    Stop("campaign", "A campaign", "/console/vdn/{vdn}/campaigns/{campaign}"),
    Stop("campaign-new", "New campaign", "/console/vdn/{vdn}/campaigns/new"),
    Stop("calldata", "Call data search", "/console/vdn/{vdn}/calldata?by=batch&q=batch-0401"),
    Stop("record", "A record's timeline", "/console/vdn/{vdn}/calldata/{data_id}"),
    Stop("imports", "Import", "/console/vdn/{vdn}/imports"),
    Stop(
        "import-job",
        "An import with refused rows",
        "/console/vdn/{vdn}/imports",
        act=_import_with_bad_rows,
        shown="/console/vdn/{vdn}/imports/{job}",
    ),
    Stop("blocklist", "Blocklist", "/console/vdn/{vdn}/blocklist"),
    Stop("export", "Export", "/console/vdn/{vdn}/export"),
    Stop("pushes", "Result pushes", "/console/vdn/{vdn}/pushes"),
    Stop("admin-vdns", "Administration: VDNs", "/console/admin/vdns"),
    Stop("admin-keys", "Administration: API keys", "/console/admin/keys"),
    Stop("admin-holidays", "Administration: holidays", "/console/admin/holidays"),
    Stop("admin-operators", "Administration: operators", "/console/admin/operators"),
    Stop("admin-operator", "Administration: an operator", "/console/admin/operators/sup1"),
    Stop("audit", "Audit log", "/console/audit"),
]
LOGIN = Stop("login", "Log in", "/console/login")


DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
# What a reader of the page would trip over: a control without a name, a page wider than
# the window (tables scroll in their .table-wrap, the page does not), no single h1.
CHECKS = """() => {
  const found = [];
  const named = (el) => (el.labels && el.labels.length) || el.getAttribute("aria-label")
    || el.getAttribute("aria-labelledby") || el.getAttribute("title");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
    if (!named(el)) found.push("no label: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("button, a[href], input[type=submit]")) {
    const text = (el.innerText || el.value || "").trim();
    if (!text && !el.getAttribute("aria-label") && !el.getAttribute("title"))
      found.push("no name: " + el.outerHTML.slice(0, 120));
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    found.push("wider than the window: " + document.documentElement.scrollWidth + "px");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) found.push(h1 + " h1 elements");
  return found;
}"""


@dataclass
class Visit:
    """What the browser reported on one page."""

    status: int
    problems: list[str]


def _watch(page: Page, problems: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            None
            if request.failure == "net::ERR_ABORTED"  # a live refresh cut short by leaving the page
            else problems.append(f"failed: {request.url} {request.failure}")
        ),
    )


def visit(
    page: Page, arranged: Arranged, out: Path, log_in: Callable[[Page, str], None]
) -> dict[str, Visit]:
    """Each page of :data:`PAGES` as root (the login form first): statuses, problems, PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Visit] = {}
    problems: list[str] = []
    _watch(page, problems)

    page.goto(LOGIN.path(arranged))
    page.get_by_label("Name").fill("root")
    page.screenshot(path=out / f"{LOGIN.name}.png")
    seen[LOGIN.name] = Visit(200, [])
    log_in(page, "root")

    for stop in PAGES:
        problems.clear()
        reply = page.goto(stop.path(arranged))
        assert reply is not None
        status = reply.status
        if stop.act is not None and status == 200:
            stop.act(page, arranged)
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.mouse.move(0, 0)  # no hover effect in the picture
        page.screenshot(path=out / f"{stop.name}.png")
        problems += page.evaluate(CHECKS)
        page.set_viewport_size(TABLET)
        problems += [f"on a tablet: {p}" for p in page.evaluate(CHECKS) if "wider" in p]
        page.set_viewport_size(DESKTOP)
        seen[stop.name] = Visit(status, list(problems))
    return seen


def markdown(out: Path, doc: Path) -> str:
    """The "Screenshots" section of docs/console.md for the PNGs in ``out``."""
    lines = [
        "## Screenshots",
        "",
        "At 1280×800, as the admin, on a demo VDN being dialled by the simulator; made by",
        "`python -m tests.browser.screenshots` (docs/console/).",
        "",
    ]
    for stop in [LOGIN, *PAGES]:
        image = out / f"{stop.name}.png"
        if image.exists():
            rel = image.relative_to(doc.parent)
            route = (stop.shown or stop.route).split("?")[0]
            route = route.replace("{campaign}", "{id}").replace("{data_id}", "{dataId}")
            lines += [f"**{stop.title}** (`{route}`)", "", f"![{stop.title}]({rel})", ""]
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    """``text`` with its "## Screenshots" section (up to the next "## ") replaced by ``section``."""
    pattern = re.compile(r"^## Screenshots\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
    return text.rstrip("\n") + ("\n\n" if text.strip() else "") + section.rstrip("\n") + "\n"
