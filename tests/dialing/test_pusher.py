"""The result pusher against MockTransport receivers, on the rig's fixed clock."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from openisales.auth import signing
from openisales.clock import FixedClock
from openisales.dialing.pusher import PUSH_IDS_HEADER, Pusher, PushSettings
from openisales.metrics import Metrics
from openisales.services import pushes as pushes_service
from openisales.services.audit import CLI
from openisales.store import pushes
from openisales.store.outbox import DELIVERED, FAILED, PENDING
from openisales.store.tables import push_outbox
from tests.dialing.conftest import Rig
from tests.helpers import add_numbers, campaign_body

CRM = "https://crm.example/isales/push"
OK = {"retCode": "0", "retMsg": "success"}
TIMEOUT = "timeout"
Answer = int | dict[str, Any] | str  # a status (with an empty body), a 200 JSON body, TIMEOUT


class Receiver:
    """A callBackUrl: answers from a script (then OK) and remembers every request."""

    def __init__(self, clock: FixedClock, answers: Iterable[Answer] = ()) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sent_at: list[datetime] = []
        self.acknowledged: list[str] = []  # pushIds of the batches answered with retCode 0

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.sent_at.append(self.clock.now())
        answer: Answer = self.answers.pop(0) if self.answers else OK
        if answer == TIMEOUT:
            raise httpx.ReadTimeout("the receiver took too long", request=request)
        if isinstance(answer, int):
            return httpx.Response(answer)
        assert isinstance(answer, dict)
        if answer.get("retCode") == "0":
            self.acknowledged += [item["pushId"] for item in json.loads(request.content)]
        return httpx.Response(200, json=answer)

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        return [json.loads(r.content) for r in self.requests]


def make_pusher(
    rig: Rig, receiver: Receiver, metrics: Metrics | None = None, **settings: Any
) -> Pusher:
    return Pusher(
        rig.api.ctx.engine,
        receiver.http(),
        rig.clock,
        PushSettings(housekeeping_s=0, **settings),
        metrics,
    )


async def queue(
    engine: AsyncEngine,
    now: datetime,
    data_ids: Iterable[int],
    url: str = CRM,
    *,
    seq: int = 1,
    vdn_id: int = 1,
) -> list[str]:
    """Outbox rows as ``store.outbox`` writes them (a minimal payload); returns their pushIds."""
    rows = [
        {
            "vdn_id": vdn_id,
            "data_id": data_id,
            "seq": seq,
            "campaign_id": 7,
            "url": url,
            "payload": json.dumps({"pushId": f"{data_id}.{seq}", "dataId": str(data_id)}),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for data_id in data_ids
    ]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(push_outbox), rows)
    return [f"{r['data_id']}.{seq}" for r in rows]


async def outbox(engine: AsyncEngine) -> dict[str, sa.Row[Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(push_outbox))).all()
    return {f"{r.data_id}.{r.seq}": r for r in rows}


async def drain(p: Pusher) -> int:
    total = 0
    while pushed := await p.tick():
        total += pushed
    return total


async def test_a_campaigns_results_reach_the_receiver_exactly_once_despite_failures(
    rig: Rig,
) -> None:
    async with rig.client() as client:
        body = campaign_body("Pushed", callBackUrl=CRM)
        body["strBeginTime"] = rig.clock.now().strftime("%Y-%m-%d 00:00:00")
        reply = await client.create_campaign(body)
        assert reply["resultCode"] == "0200000", reply
        cid = reply["returnObject"]["id"]
        ids = await add_numbers(client, cid, "5001", "5002", "5003")
    await rig.configure(cid, mix={"00603": 1})  # no answer, no retry: each record completes
    assert await rig.dispatcher.tick() == 3
    assert [(await rig.record(i)).status for i in ids] == [3, 3, 3]

    receiver = Receiver(rig.clock, [500, {"retCode": "1", "retMsg": "busy"}, TIMEOUT])
    p = make_pusher(rig, receiver)
    for _ in range(10):
        await drain(p)
        if len(receiver.acknowledged) == 3:
            break
        rig.clock.advance(600)
    assert len(receiver.requests) == 4  # 500, retry at once, retCode 1, +10 min timeout, +10 min
    assert all(len(batch) == 3 for batch in receiver.batches)  # one URL: one array per push
    assert sorted(receiver.acknowledged) == sorted(f"{i}.1" for i in ids)  # each exactly once
    assert Counter(i["pushId"] for b in receiver.batches for i in b) == {f"{i}.1": 4 for i in ids}
    first = {item["dataId"]: item for item in receiver.batches[0]}
    for batch in receiver.batches[1:]:  # a resend is the same record, byte for byte
        assert {item["dataId"]: item for item in batch} == first
    item = first[ids[0]]
    assert item["campaignId"] == str(cid) and item["called"] == "5001"
    assert (item["failCode"], item["vdnId"], item["completeReason"]) == ("00603", 1, "exhausted")
    rows = await outbox(rig.api.ctx.engine)
    assert {r.status for r in rows.values()} == {DELIVERED}
    assert {r.attempts for r in rows.values()} == {4}
    assert await drain(p) == 0
    rig.clock.advance(3600)
    assert await drain(p) == 0  # delivered: never pushed again


async def test_a_second_try_at_once_then_every_ten_minutes_then_failed(rig: Rig) -> None:
    t0 = rig.clock.now()
    (pid,) = await queue(rig.api.ctx.engine, t0, [101])
    receiver = Receiver(rig.clock, [500] * 10)
    p = make_pusher(rig, receiver)
    assert await p.tick() == 1
    assert await p.tick() == 1  # the immediate second try
    assert await p.tick() == 0
    rig.clock.advance(599)
    assert await p.tick() == 0
    for step in (1, 600, 600, 600):
        rig.clock.advance(step)
        assert await p.tick() == 1
        assert await p.tick() == 0
    rig.clock.advance(3600)
    assert await p.tick() == 0
    offsets = [(at - t0).total_seconds() for at in receiver.sent_at]
    assert offsets == [0, 0, 600, 1200, 1800, 2400]  # 6 pushes in all
    row = (await outbox(rig.api.ctx.engine))[pid]
    assert (row.status, row.attempts, row.last_error) == (FAILED, 6, "HTTP 500")
    assert row.next_attempt_at is None and row.delivered_at is None


async def test_after_max_pushes_it_is_listed_as_failed_and_resend_delivers_it(rig: Rig) -> None:
    engine = rig.api.ctx.engine
    pid, other = await queue(engine, rig.clock.now(), [201, 202])
    receiver = Receiver(rig.clock, [{"retCode": "9", "retMsg": "no such task"}] * 2)
    p = make_pusher(rig, receiver, max_pushes=2)
    assert await drain(p) == 4  # both records, twice (max 2)
    failed = await pushes_service.list_pushes(engine, status="failed")
    assert [f.push_id for f in failed] == [other, pid]  # newest first
    assert {(f.attempts, f.last_error, f.status_name) for f in failed} == {
        (2, "retCode '9': no such task", "failed")
    }
    assert await pushes_service.list_pushes(engine, status="pending") == []
    assert await pushes_service.list_pushes(engine, status="failed", vdn_id=2) == []

    assert await pushes_service.resend(engine, now=rig.clock.now(), actor=CLI, push_id=pid) == 1
    (again,) = await pushes_service.list_pushes(engine, status="pending")
    assert (again.push_id, again.attempts, again.last_error) == (pid, 0, None)
    assert await drain(p) == 1
    assert receiver.acknowledged == [pid]  # the same pushId as before
    assert await pushes_service.resend(engine, now=rig.clock.now(), actor=CLI, push_id="999.1") == 0

    assert await pushes_service.resend(engine, now=rig.clock.now(), actor=CLI, vdn_id=2) == 0
    assert (
        await pushes_service.resend(engine, now=rig.clock.now(), actor=CLI) == 1
    )  # every failed one
    assert await drain(p) == 1
    assert receiver.acknowledged == [pid, other]
    assert {r.status for r in (await outbox(engine)).values()} == {DELIVERED}


async def test_a_push_whose_pusher_stopped_is_sent_again_after_the_lease(rig: Rig) -> None:
    engine = rig.api.ctx.engine
    pid, last = await queue(engine, rig.clock.now(), [301, 302])
    async with engine.begin() as conn:  # 302 already made 5 of its 6 pushes
        await conn.execute(
            sa.update(push_outbox).where(push_outbox.c.data_id == 302).values(attempts=5)
        )
    async with engine.begin() as conn:  # a pusher claims both, then dies
        claimed = await pushes.claim_due(
            conn,
            now=rig.clock.now(),
            lease_until=rig.clock.now() + timedelta(seconds=60),
            limit=10,
            max_pushes=6,
        )
    assert [c.push_id for c in claimed] == [pid, last]
    receiver = Receiver(rig.clock)
    p = make_pusher(rig, receiver)
    rig.clock.advance(59)
    assert await p.tick() == 0  # leased: never sent by two pushers at once
    rig.clock.advance(1)
    assert await p.tick() == 1
    assert receiver.acknowledged == [pid]
    rows = await outbox(engine)
    assert (rows[pid].status, rows[pid].attempts) == (DELIVERED, 2)
    assert (rows[last].status, rows[last].last_error) == (
        FAILED,
        "outcome of the last push unknown",
    )


async def test_a_later_completion_waits_for_the_earlier_one(rig: Rig) -> None:
    engine = rig.api.ctx.engine
    (first,) = await queue(engine, rig.clock.now(), [401])
    (second,) = await queue(engine, rig.clock.now(), [401], seq=2)
    receiver = Receiver(rig.clock, [500, 500])
    p = make_pusher(rig, receiver)
    assert await drain(p) == 2  # 401.1 twice; 401.2 waits
    assert [item["pushId"] for b in receiver.batches for item in b] == [first, first]
    rig.clock.advance(600)
    assert await drain(p) == 2  # 401.1 delivered, then 401.2
    assert receiver.acknowledged == [first, second]


async def test_rows_are_grouped_by_url_and_batches_are_capped(rig: Rig) -> None:
    engine = rig.api.ctx.engine
    now = rig.clock.now()
    await queue(engine, now, range(1000, 1005), "https://a.example/push")
    await queue(engine, now, range(2000, 2003), "https://b.example/push")
    receiver = Receiver(rig.clock)
    metrics = Metrics()
    p = make_pusher(rig, receiver, metrics, batch_size=4)
    assert await drain(p) == 8
    sizes = sorted((str(r.url), len(json.loads(r.content))) for r in receiver.requests)
    assert sizes == [
        ("https://a.example/push", 1),
        ("https://a.example/push", 4),
        ("https://b.example/push", 3),
    ]
    for request in receiver.requests:
        assert request.headers["content-type"].startswith("application/json")
        assert "authorization" not in request.headers  # signing is off by default
    text = metrics.render().decode()
    assert "openisales_pushes_sent_total 8.0" in text
    assert "openisales_pushes_delivered_total 8.0" in text
    await p.tick()  # housekeeping counts what is left
    assert "openisales_pushes_pending 0.0" in metrics.render().decode()


async def test_signed_pushes_verify_and_carry_their_push_ids(rig: Rig) -> None:
    sk = "push-secret-key-0001"
    pids = await queue(rig.api.ctx.engine, rig.clock.now(), [501, 502, 503])
    receiver = Receiver(rig.clock, [500])
    p = make_pusher(rig, receiver, push_ak="pushak01", push_sk=sk)
    assert await drain(p) == 6
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        wire = signing.Request(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode(),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.content,
        )
        auth = signing.parse_authorization(request.headers["authorization"])
        assert auth.ak == "pushak01"
        signing.verify(wire, auth, sk=sk, now=rig.clock.now(), window=timedelta(minutes=15))
        with pytest.raises(signing.SignatureError):
            signing.verify(
                wire, auth, sk="another-secret-0001", now=rig.clock.now(), window=timedelta(1)
            )
        body_ids = [item["pushId"] for item in json.loads(request.content)]
        assert request.headers[PUSH_IDS_HEADER].split(",") == body_ids == pids
        # The ids header is signed too: a receiver can trust it before parsing the body.
        assert "x-openisales-push-ids" in auth.signed_headers
        forged = {**wire.headers, "x-openisales-push-ids": "1.1"}
        with pytest.raises(signing.SignatureError):
            signing.verify(
                dataclasses.replace(wire, headers=forged),
                auth,
                sk=sk,
                now=rig.clock.now(),
                window=timedelta(minutes=15),
            )


async def test_two_pushers_never_send_a_row_twice_at_once(rig: Rig) -> None:
    """On SQLite and, with OPENISALES_TEST_PG_URL, on PostgreSQL (SKIP LOCKED)."""
    engine = rig.api.ctx.engine
    now = rig.clock.now()
    for n, url in enumerate(["https://a.example/p", "https://b.example/p", "https://c.example/p"]):
        await queue(engine, now, range(10_000 * (n + 1), 10_000 * (n + 1) + 100), url)
    in_flight: set[str] = set()
    clashes: list[str] = []
    sent: list[str] = []
    acknowledged: list[str] = []
    calls = 0

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        ids = request.headers[PUSH_IDS_HEADER].split(",")
        clashes.extend(i for i in ids if i in in_flight)
        in_flight.update(ids)
        sent.extend(ids)
        await asyncio.sleep(0)
        in_flight.difference_update(ids)
        if calls % 3 == 0:
            return httpx.Response(503)  # tried again at once
        acknowledged.extend(ids)
        return httpx.Response(200, json=OK)

    workers = [
        Pusher(
            engine,
            httpx.AsyncClient(transport=httpx.MockTransport(handle)),
            rig.clock,
            PushSettings(batch_size=25, housekeeping_s=0),
        )
        for _ in range(2)
    ]
    for _ in range(4):  # a row answered 503 twice in a row is due again in 10 minutes
        await asyncio.gather(*(drain(w) for w in workers))
        rig.clock.advance(600)
    assert clashes == []
    assert sorted(acknowledged) == sorted(set(sent))
    assert len(acknowledged) == len(set(acknowledged)) == 300
    assert max(Counter(sent).values()) <= 6
    assert {r.status for r in (await outbox(engine)).values()} == {DELIVERED}


async def test_run_pushes_until_stopped(rig: Rig) -> None:
    (pid,) = await queue(rig.api.ctx.engine, rig.clock.now(), [601])
    stop = asyncio.Event()
    receiver = Receiver(rig.clock)
    original = receiver.handle

    async def handle_then_stop(request: httpx.Request) -> httpx.Response:
        response = await original(request)
        stop.set()
        return response

    receiver.handle = handle_then_stop  # type: ignore[method-assign]
    await asyncio.wait_for(make_pusher(rig, receiver).run(stop), 30)
    assert receiver.acknowledged == [pid]


class Running:
    """Pushers a test starts; whatever a failed test left in flight is cancelled after it."""

    def __init__(self) -> None:
        self.pushers: list[Pusher] = []
        self.tasks: list[asyncio.Task[None]] = []

    def track(self, p: Pusher) -> Pusher:
        self.pushers.append(p)
        return p

    def run(self, p: Pusher, stop: asyncio.Event) -> asyncio.Task[None]:
        task = asyncio.create_task(self.track(p).run(stop))
        self.tasks.append(task)
        return task

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for p in self.pushers:
            await p.settle(0)


@pytest.fixture
async def running(rig: Rig) -> AsyncIterator[Running]:
    started = Running()
    yield started
    await started.close()  # before the rig's database goes


BLACK_HOLE = "https://black-hole.example/push"
HEALTHY = ("https://a.example/push", "https://b.example/push")


class Receivers:
    """Several callBackUrls behind one transport: OK, an HTTP status, or never answering.

    Counts the POSTs open per URL and in all, and every pushId posted while
    the same pushId was still open.
    """

    def __init__(self, answers: dict[str, Answer | None]) -> None:
        self.answers = answers  # None: never answers (a black hole)
        self.open: Counter[str] = Counter()
        self.most: Counter[str] = Counter()  # most POSTs open at once, per URL
        self.most_in_all = 0
        self.posts: Counter[str] = Counter()
        self.clashes: list[str] = []
        self.acknowledged: list[str] = []
        self.entered = asyncio.Event()  # a black hole holds a POST
        self.done = asyncio.Event()
        self.expect = 0  # done is set once this many pushIds were acknowledged
        self._open_ids: set[str] = set()

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        ids = request.headers[PUSH_IDS_HEADER].split(",")
        self.clashes += [i for i in ids if i in self._open_ids]
        self._open_ids.update(ids)
        self.posts[url] += 1
        self.open[url] += 1
        self.most[url] = max(self.most[url], self.open[url])
        self.most_in_all = max(self.most_in_all, sum(self.open.values()))
        try:
            answer = self.answers[url]
            if answer is None:
                self.entered.set()
                await asyncio.Future()  # until the POST is cancelled (its timeout, a stop)
            for _ in range(3):  # let other POSTs overlap this one
                await asyncio.sleep(0)
            if isinstance(answer, int):
                return httpx.Response(answer)
            self.acknowledged += ids
            if self.expect and len(self.acknowledged) >= self.expect:
                self.done.set()
            return httpx.Response(200, json=OK)
        finally:
            self.open[url] -= 1
            self._open_ids.difference_update(ids)


async def test_a_black_hole_delays_only_its_own_pushes_and_its_rows_come_due_after_the_lease(
    rig: Rig, running: Running
) -> None:
    engine = rig.api.ctx.engine
    t0 = rig.clock.now()
    held = await queue(engine, t0, range(1, 31), BLACK_HOLE)  # oldest: first in every claim
    healthy = [
        p
        for n, url in enumerate(HEALTHY)
        for p in await queue(engine, t0, range(1000 * (n + 1), 1000 * (n + 1) + 50), url)
    ]
    receivers = Receivers({BLACK_HOLE: None, HEALTHY[0]: OK, HEALTHY[1]: OK})
    receivers.expect = len(healthy)
    p = Pusher(
        engine,
        receivers.http(),
        rig.clock,
        PushSettings(
            batch_size=10,
            max_per_destination=2,
            max_in_flight=20,
            timeout_s=50,  # the black hole is still hanging when the test looks
            lease_s=60,
            poll_interval_s=0.05,
            housekeeping_s=0,
        ),
    )
    pushing = running.run(p, asyncio.Event())
    await asyncio.wait_for(receivers.done.wait(), 30)
    assert sorted(receivers.acknowledged) == sorted(healthy)  # every healthy push, once
    assert receivers.open[BLACK_HOLE] == 2  # while the black hole still holds both its POSTs
    assert receivers.posts[BLACK_HOLE] == 2  # and no more: its other rows waited in the outbox
    assert max(receivers.most.values()) == 2  # max_per_destination, reached and kept
    assert receivers.most_in_all <= 6  # two per destination
    assert receivers.clashes == []
    rows = await outbox(engine)
    lease_end = t0 + timedelta(seconds=60)
    in_flight = [pid for pid in held if rows[pid].attempts == 1]
    assert len(in_flight) == 20  # two POSTs of batch_size
    for pid in held:
        assert rows[pid].status == PENDING and rows[pid].delivered_at is None
        assert rows[pid].next_attempt_at == (lease_end if pid in in_flight else t0)

    pushing.cancel()  # the pusher dies with the black hole's POSTs open
    with pytest.raises(asyncio.CancelledError):
        await pushing
    assert receivers.open[BLACK_HOLE] == 0 and p.in_flight == 0

    after = Receiver(rig.clock)  # the black hole's owner fixed it; a new pusher takes over
    successor = make_pusher(rig, after)
    rig.clock.advance(59)
    await drain(successor)
    assert sorted(after.acknowledged) == sorted(set(held) - set(in_flight))  # never leased
    rig.clock.advance(1)
    await drain(successor)
    assert sorted(after.acknowledged) == sorted(held)  # the leased ones, once their lease ended
    rows = await outbox(engine)
    assert {rows[pid].status for pid in held} == {DELIVERED}
    assert {rows[pid].attempts for pid in in_flight} == {2}  # the lost push counts


async def test_a_row_still_in_flight_is_never_posted_again_by_its_pusher(
    rig: Rig, running: Running
) -> None:
    engine = rig.api.ctx.engine
    held = await queue(engine, rig.clock.now(), [1, 2, 3], BLACK_HOLE)
    receivers = Receivers({BLACK_HOLE: None})
    p = running.track(
        Pusher(
            engine,
            receivers.http(),
            rig.clock,
            PushSettings(max_per_destination=2, timeout_s=50, lease_s=60, housekeeping_s=0),
        )
    )
    assert await p.dispatch() == 3
    await asyncio.wait_for(receivers.entered.wait(), 10)
    rig.clock.advance(61)  # the wall clock stepped past the lease while the POST hangs
    assert await p.dispatch() == 3  # leased again (the destination has a free slot) ...
    assert p.in_flight == 1  # ... but not posted a second time at once
    rows = await outbox(engine)
    assert {rows[pid].attempts for pid in held} == {2}  # due again after the new lease
    await p.settle(0)  # cancels the hanging POST
    assert receivers.posts[BLACK_HOLE] == 1 and receivers.clashes == []
    assert p.in_flight == 0


async def test_max_in_flight_bounds_the_posts_open_in_all(rig: Rig, running: Running) -> None:
    engine = rig.api.ctx.engine
    holes = [f"https://hole-{n}.example/push" for n in range(4)]
    for n, url in enumerate(holes):
        await queue(engine, rig.clock.now(), range(10 * n + 1, 10 * n + 6), url)
    receivers = Receivers(dict.fromkeys(holes))
    p = running.track(
        Pusher(
            engine,
            receivers.http(),
            rig.clock,
            PushSettings(max_in_flight=3, max_per_destination=2, timeout_s=50, housekeeping_s=0),
        )
    )
    leased = 0
    while pushed := await p.dispatch():
        leased += pushed
    # A claim leases no more rows than there are free slots: 3 rows, 2, then 1.
    assert p.in_flight == 3 and leased == 6
    for _ in range(1000):  # let the three POSTs reach their receivers (bounded)
        if sum(receivers.open.values()) == 3:
            break
        await asyncio.sleep(0.01)
    assert sum(receivers.open.values()) == 3
    assert receivers.posts == {holes[0]: 2, holes[1]: 1}
    assert await p.dispatch() == 0
    await p.settle(0)
    assert receivers.most_in_all == 3 and sum(receivers.open.values()) == 0


async def test_a_failing_destination_is_held_back_without_taking_the_others_batch_slots(
    rig: Rig,
) -> None:
    engine = rig.api.ctx.engine
    t0 = rig.clock.now()
    down = "https://down.example/push"
    first = await queue(engine, t0, [1, 2, 3], down)
    healthy = await queue(engine, t0, range(101, 107), HEALTHY[0])
    receivers = Receivers({down: 503, HEALTHY[0]: OK})
    metrics = Metrics()
    p = Pusher(
        engine,
        receivers.http(),
        rig.clock,
        PushSettings(batch_size=2, circuit_failures=2, circuit_open_s=300, housekeeping_s=0),
        metrics,
    )
    assert await p.tick() == 2  # 1 and 2: 503
    assert await p.tick() == 2  # 1 and 2 at once again: 503, the second failure in a row
    assert await drain(p) == 6  # then only the healthy URL's rows, two per claim
    assert receivers.posts == {down: 2, HEALTHY[0]: 3}
    assert sorted(receivers.acknowledged) == sorted(healthy)
    rows = await outbox(engine)
    held_until = t0 + timedelta(seconds=300)
    assert (rows[first[2]].attempts, rows[first[2]].next_attempt_at) == (0, held_until)
    assert {rows[pid].next_attempt_at for pid in first[:2]} == {t0 + timedelta(seconds=600)}
    assert "openisales_push_destinations_held_back_total 1.0" in metrics.render().decode()

    (late,) = await queue(engine, t0, [4], down)  # completed while the destination is held
    assert await drain(p) == 0
    assert receivers.posts[down] == 2

    receivers.answers[down] = OK  # the receiver is back
    rig.clock.advance(300)
    assert await drain(p) == 2  # the probe: 3 and 4, in one POST
    rig.clock.advance(300)
    assert await drain(p) == 2  # 1 and 2 on their own schedule
    assert receivers.posts[down] == 4
    assert sorted(receivers.acknowledged) == sorted([*healthy, *first, late])
    assert {r.status for r in (await outbox(engine)).values()} == {DELIVERED}


async def test_on_stop_a_push_in_flight_is_answered_and_recorded_before_run_returns(
    rig: Rig, running: Running
) -> None:
    (pid,) = await queue(rig.api.ctx.engine, rig.clock.now(), [701])
    entered, release = asyncio.Event(), asyncio.Event()
    receiver = Receiver(rig.clock)
    answer = receiver.handle

    async def slow(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        return await answer(request)

    receiver.handle = slow  # type: ignore[method-assign]
    stop = asyncio.Event()
    pushing = running.run(make_pusher(rig, receiver, timeout_s=50), stop)
    await asyncio.wait_for(entered.wait(), 10)
    stop.set()
    await asyncio.wait({pushing}, timeout=0.2)
    assert not pushing.done()  # waits for the POST in flight
    release.set()
    await asyncio.wait_for(pushing, 30)
    assert receiver.acknowledged == [pid]
    assert (await outbox(rig.api.ctx.engine))[pid].status == DELIVERED


async def test_on_stop_a_black_hole_is_left_after_the_timeout(rig: Rig, running: Running) -> None:
    engine = rig.api.ctx.engine
    (pid,) = await queue(engine, rig.clock.now(), [801], BLACK_HOLE)
    receivers = Receivers({BLACK_HOLE: None})
    p = Pusher(
        engine,
        receivers.http(),
        rig.clock,
        PushSettings(timeout_s=0.2, housekeeping_s=0, poll_interval_s=0.05),
    )
    stop = asyncio.Event()
    pushing = running.run(p, stop)
    await asyncio.wait_for(receivers.entered.wait(), 10)
    stop.set()
    await asyncio.wait_for(pushing, 30)
    assert p.in_flight == 0 and receivers.open[BLACK_HOLE] == 0
    row = (await outbox(engine))[pid]
    assert row.status == PENDING and row.delivered_at is None  # pushed again later


def test_push_settings_are_read_from_settings_and_checked() -> None:
    from openisales.config import ConfigError, Settings
    from openisales.dialing.pusher import push_settings

    mapped = push_settings(
        Settings.from_env(
            {
                "OPENISALES_PUSH_MAX_IN_FLIGHT": "40",
                "OPENISALES_PUSH_MAX_PER_DESTINATION": "3",
                "OPENISALES_PUSH_CIRCUIT_FAILURES": "0",
                "OPENISALES_PUSH_CIRCUIT_OPEN_S": "120",
            }
        )
    )
    assert (mapped.max_in_flight, mapped.max_per_destination) == (40, 3)
    assert (mapped.circuit_failures, mapped.circuit_open_s) == (0, 120)
    defaults = push_settings(Settings())
    assert (defaults.max_in_flight, defaults.max_per_destination) == (100, 2)
    assert (defaults.circuit_failures, defaults.circuit_open_s) == (5, 60)
    for bad in (
        {"OPENISALES_PUSH_MAX_PER_DESTINATION": "0"},
        {"OPENISALES_PUSH_MAX_PER_DESTINATION": "101"},
        {"OPENISALES_PUSH_MAX_IN_FLIGHT": "10001", "OPENISALES_PUSH_MAX_PER_DESTINATION": "1"},
        {"OPENISALES_PUSH_CIRCUIT_FAILURES": "-1"},
        {"OPENISALES_PUSH_CIRCUIT_OPEN_S": "0"},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
    for wrong in (
        {"max_per_destination": 0},
        {"max_per_destination": 3, "max_in_flight": 2},
        {"circuit_failures": -1},
        {"circuit_open_s": 0},
    ):
        with pytest.raises(ValueError):
            PushSettings(**wrong)
