"""One leader per service among its replicas (``revmentor.kernel.leadership``).

What must hold, on a real PostgreSQL: of three replicas of a service exactly
one runs the singleton duties (a timer ticking here), a replica of another
service leads its own; when the leader goes (its connection closes, as when
the process dies), another takes over within a few polls and the old duty has
stopped; a duty that fails is run again; on SQLite a process always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from support import eventually

from revmentor.kernel.leadership import Leadership

POLL = 0.1


def settings(database: dict[str, str]) -> Callable[[str], str | None]:
    return database.get


@contextlib.asynccontextmanager
async def replicas(
    service: str, database: dict[str, str], count: int, ticks: dict[int, int]
) -> AsyncIterator[tuple[list[Leadership], list[asyncio.Event]]]:
    """``count`` replicas, each ticking its own counter while it leads."""
    leads = [Leadership(service, settings(database), poll_seconds=POLL) for _ in range(count)]
    stops = [asyncio.Event() for _ in leads]

    def timer(index: int) -> Any:
        async def duty(stop: asyncio.Event) -> None:
            while not stop.is_set():
                ticks[index] = ticks.get(index, 0) + 1
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL / 2)

        return duty

    tasks = []
    for index, (lead, stop) in enumerate(zip(leads, stops, strict=True)):
        tasks.append(asyncio.create_task(lead.run(stop)))
        tasks.append(asyncio.create_task(lead.lead(timer(index), stop)))
    try:
        yield leads, stops
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


def leaders(leads: list[Leadership]) -> list[int]:
    return [i for i, lead in enumerate(leads) if lead.leading]


async def test_one_replica_leads_and_another_takes_over_when_it_goes(
    postgres_database: dict[str, str],
) -> None:
    ticks: dict[int, int] = {}
    async with replicas("ledger", postgres_database, 3, ticks) as (leads, stops):

        async def one_leader() -> bool:
            return len(leaders(leads)) == 1

        await eventually(one_leader, timeout=10, interval=POLL, what="a leader")
        await asyncio.sleep(10 * POLL)
        [first] = leaders(leads)
        assert set(ticks) == {first}, "only the leader's timer ticks"

        stops[first].set()  # the leader goes: its connection closes, the lock with it
        await eventually(
            lambda: _async(len(leaders(leads)) == 1 and first not in leaders(leads)),
            timeout=10,
            interval=POLL,
            what="a new leader",
        )
        [second] = leaders(leads)
        before = dict(ticks)
        await asyncio.sleep(10 * POLL)
        assert ticks[first] == before[first], "the old leader's duty stopped"
        assert ticks[second] > before.get(second, 0)
        assert len(leaders(leads)) == 1


async def test_each_service_has_its_own_leader(postgres_database: dict[str, str]) -> None:
    ticks: dict[int, int] = {}
    async with (
        replicas("ledger", postgres_database, 2, ticks) as (ledger, _),
        replicas("journal", postgres_database, 2, {}) as (journal, _),
    ):

        async def both_led() -> bool:
            return len(leaders(ledger)) == 1 and len(leaders(journal)) == 1

        await eventually(both_led, timeout=10, interval=POLL, what="a leader each")


async def test_a_failing_duty_is_run_again(postgres_database: dict[str, str]) -> None:
    lead = Leadership("ledger", settings(postgres_database), poll_seconds=POLL)
    stop = asyncio.Event()
    runs: list[int] = []

    async def flaky(term: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")
        await term.wait()

    tasks = [asyncio.create_task(lead.run(stop)), asyncio.create_task(lead.lead(flaky, stop))]
    try:
        await eventually(lambda: _async(len(runs) >= 3), timeout=10, interval=POLL, what="retries")
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert len(runs) == 3


async def test_on_sqlite_a_process_always_leads(tmp_path: Any) -> None:
    sqlite = {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
    lead = Leadership("ledger", sqlite.get)
    assert lead.leading
    stop = asyncio.Event()
    ran = asyncio.Event()

    async def duty(term: asyncio.Event) -> None:
        ran.set()
        await term.wait()

    task = asyncio.create_task(lead.lead(duty, stop))
    await asyncio.wait_for(ran.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)


async def _async(value: bool) -> bool:
    return value
