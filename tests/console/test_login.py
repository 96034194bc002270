"""Logging in and out, sessions, CSRF and roles, through the console's HTTP surface."""

from __future__ import annotations

from tests.console.conftest import PASSWORD, Console


async def test_login_lands_on_the_first_vdns_campaigns(console: Console) -> None:
    browser = await console.login("sup1")
    page = await browser.get("/console/vdn/1/campaigns")
    assert page.status_code == 200
    assert "sup1" in page.text and "Campaigns" in page.text
    cookie = next(iter(browser.http.cookies.jar))
    # the test server speaks TLS (the default): the cookie is Secure, host-only
    assert cookie.name == "__Host-openisales_session"
    assert cookie.secure and cookie.path == "/" and not cookie.domain_specified
    assert cookie.has_nonstandard_attr("HttpOnly")


async def test_wrong_password_is_refused(console: Console) -> None:
    browser = console.browser()
    reply = await browser.http.post(
        "/console/login", data={"username": "sup1", "password": "nope nope nope"}
    )
    assert reply.status_code == 401
    assert "wrong name or password" in reply.text
    assert not browser.http.cookies


async def test_pages_need_a_session(console: Console) -> None:
    browser = console.browser()
    reply = await browser.http.get("/console/vdn/1/campaigns")
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/console/login?next=")


async def test_logout_ends_the_session(console: Console) -> None:
    browser = await console.login("sup1")
    reply = await browser.post("/console/logout")
    assert reply.status_code == 303
    again = await browser.http.get("/console/vdn/1/campaigns")
    assert again.status_code == 303


async def test_another_vdn_is_not_found(console: Console) -> None:
    browser = await console.login("sup1")
    assert (await browser.get("/console/vdn/2/campaigns")).status_code == 404
    assert (await browser.get("/console/vdn/1/campaigns")).status_code == 200


async def test_post_without_csrf_is_refused(console: Console) -> None:
    browser = await console.login("sup1")
    reply = await browser.http.post("/console/logout", data={"csrf": "forged"})
    assert reply.status_code == 403
    assert (await browser.get("/console/vdn/1/campaigns")).status_code == 200


async def test_security_headers(console: Console) -> None:
    browser = await console.login("root")
    page = await browser.get("/console/vdn/1/campaigns")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert PASSWORD not in page.text
