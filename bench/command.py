"""Command path: gRPC EnrolParticipant end to end, on SQLite and on PostgreSQL.

For each store (a SQLite file in the run's temporary directory; a fresh
PostgreSQL database, created for the run and dropped after it) the enrolment
gRPC server is started in-process the way ``bench.workloads.start_grpc``
builds it - the service's interceptor (bearer token verified against a
throwaway signing key, roles checked, rate limiter lifted), the servicer, the
``EnrolmentApplication`` (validation, registration index, two aggregates,
personal fields sealed under a throwaway KEK, envelope) - and a grpc.aio
client on the loopback, in a process of its own as a real caller is (so the
server does not share its interpreter lock with the client's work), sends
valid EnrolParticipant requests, each for a new employee, and waits for the
answer:

- at 1 in flight (one caller, one request at a time) and at 50 in flight
  (50 callers sharing one channel): calls per second over the whole batch,
  and each call's latency (request sent -> answer received), p50 and p99;
- the baseline, on the same store: a raw eventsourcing ``Application``
  saving one-field aggregates one at a time (one event, one transaction
  each), sequentially in a thread - the library's single-event save rate.
  SQLite: a second file beside the service's (SQLite's events table has one
  name); PostgreSQL: the same database (tables are named after the
  application). Timed before and after the gRPC batches; the baseline is
  their mean, so a drift of the shared machine shows in both.

Each figure's ratio is calls per second over raw saves per second (the
issue's target: at least 0.7).

The floor, on the same server and channel: the gRPC health check (no
authentication, no store) at 1 and at 50 in flight. Its ratio to the raw save
is the highest any command could reach here with an application that cost
nothing: it tells how much of the gap is the RPC layer itself. A few calls
and saves warm each path up first (channel, key cache, prepared statements)
and are not timed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import postgres
from bench.workloads import KEK, Note, Raw, enrol_request, sqlite_env, start_grpc
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc

ONE_CALLS = 300
MANY_CALLS = 1_000
RAW_SAVES = 1_000
WARM_UP = 20
MANY = 50
MIN_CALLS = 50


@dataclass(frozen=True)
class Batch:
    """``calls`` calls made ``in_flight`` at a time: rate and latency percentiles."""

    in_flight: int
    calls: int
    seconds: float
    latencies: list[float]

    @property
    def per_s(self) -> float:
        return self.calls / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def figures(self) -> dict[str, Any]:
        return {
            "in_flight": self.in_flight,
            "calls": self.calls,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.percentile(0.50) * 1000, 2),
            "p99_ms": round(self.percentile(0.99) * 1000, 2),
            "max_ms": round(max(self.latencies) * 1000, 2),
        }


async def batch(calls: int, in_flight: int, call: Callable[[int], Awaitable[Any]]) -> Batch:
    """``calls`` calls of ``call(n)`` with ``in_flight`` callers; every call's latency."""
    queue = iter(range(calls))
    latencies: list[float] = []

    async def caller() -> None:
        for n in queue:
            started = time.perf_counter()
            await call(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    return Batch(in_flight, calls, time.perf_counter() - started, latencies)


@dataclass(frozen=True)
class Client:
    """Where the client process calls: the server, its token, the programme."""

    address: str
    auth: tuple[tuple[str, str], ...]
    programme_id: str


def client_batch(client: Client, rpc: str, calls: int, in_flight: int, first: int) -> Batch:
    """Run in the client process: ``calls`` calls of ``rpc`` ("enrol": a new
    employee each, numbered from ``first``; "health": the health check)."""
    return asyncio.run(_client_batch(client, rpc, calls, in_flight, first))


async def _client_batch(client: Client, rpc: str, calls: int, in_flight: int, first: int) -> Batch:
    async with grpc.aio.insecure_channel(client.address) as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        check = health_pb2.HealthCheckRequest(service="")
        requests = (
            [enrol_request(client.programme_id, f"C{first + n}", n) for n in range(calls)]
            if rpc == "enrol"
            else []
        )

        async def call(n: int) -> Any:
            if rpc == "enrol":
                return await stub.EnrolParticipant(requests[n], metadata=client.auth)
            return await health.Check(check)

        await batch(min(WARM_UP, calls), 1, call) if rpc == "health" else None
        return await batch(calls, in_flight, call)


def raw_saves(raw: Raw, saves: int) -> float:
    """Single-event saves per second: one ``Note`` aggregate per transaction."""
    started = time.perf_counter()
    for n in range(saves):
        raw.save(Note(text=f"note {n}"))
    return saves / (time.perf_counter() - started)


async def measure_store(
    store: str, env: dict[str, str], raw_env: dict[str, str], work: Path, scale: float
) -> dict[str, Any]:
    """Every command-path figure on one store."""
    server, app, address, programme_id, auth = await start_grpc(work, env)
    raw = Raw(env={**KEK, **raw_env})
    client = Client(address, auth, programme_id)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()
    employees = count(step=100_000)

    async def run(rpc: str, calls: int, in_flight: int) -> Batch:
        first = next(employees)
        return await loop.run_in_executor(pool, client_batch, client, rpc, calls, in_flight, first)

    sizes = {1: _size(ONE_CALLS, scale), MANY: _size(MANY_CALLS, scale)}
    saves = _size(RAW_SAVES, scale)
    try:
        await run("enrol", WARM_UP, 1)
        await asyncio.to_thread(raw_saves, raw, WARM_UP)
        _progress(f"command path ({store}): raw single-event saves x{saves} ...")
        before = await asyncio.to_thread(raw_saves, raw, saves)
        batches, floor = {}, {}
        for in_flight, calls in sizes.items():
            _progress(f"command path ({store}): EnrolParticipant x{calls}, {in_flight} in flight")
            batches[in_flight] = await run("enrol", calls, in_flight)
            _progress(f"command path ({store}): health check x{calls}, {in_flight} in flight")
            floor[in_flight] = await run("health", calls, in_flight)
        after = await asyncio.to_thread(raw_saves, raw, saves)
    finally:
        pool.shutdown()
        await server.stop()
        app.close()
        raw.close()
    raw_rate = (before + after) / 2
    return {
        "store": store,
        "raw_save_per_s": round(raw_rate, 1),
        "raw_save_before_after": [round(before, 1), round(after, 1)],
        "grpc": {
            str(n): {**b.figures(), "ratio": round(b.per_s / raw_rate, 3)}
            for n, b in batches.items()
        },
        "rpc_floor": {
            str(n): {**b.figures(), "ratio": round(b.per_s / raw_rate, 3)} for n, b in floor.items()
        },
    }


def _size(base: int, scale: float) -> int:
    return max(round(base * scale), MIN_CALLS)


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


async def measure(work: Path, scale: float) -> dict[str, Any]:
    """SQLite, then PostgreSQL when reachable (a fresh database, dropped after)."""
    stores = [
        await measure_store(
            "SQLite",
            sqlite_env(work / "command.sqlite"),
            sqlite_env(work / "command-raw.sqlite"),
            work,
            scale,
        )
    ]
    if not postgres.reachable():
        _progress(f"command path: PostgreSQL {postgres.server_version()}; left out")
        return {"stores": stores, "postgres": "not reachable"}
    with postgres.fresh_database() as env:
        stores.append(await measure_store("PostgreSQL", env, env, work, scale))
    return {"stores": stores}


def run(work: Path, scale: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``command_path`` section."""
    section = asyncio.run(measure(work, scale))
    return table_rows(section), section


def table_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for store in section["stores"]:
        for in_flight, figures in store["grpc"].items():
            rows.append(
                {
                    "benchmark": f"command EnrolParticipant ({in_flight} in flight, "
                    f"{store['store']}) vs raw save",
                    "unit": "commands",
                    "ours_per_s": figures["per_s"],
                    "raw_per_s": store["raw_save_per_s"],
                    "ratio": figures["ratio"],
                    "ours_count": figures["calls"],
                    "raw_count": None,
                    "target": 0.7,
                }
            )
        for in_flight, figures in store.get("rpc_floor", {}).items():
            rows.append(
                {
                    "benchmark": f"RPC floor: gRPC health check ({in_flight} in flight, "
                    f"{store['store']}) vs raw save",
                    "unit": "calls",
                    "ours_per_s": figures["per_s"],
                    "raw_per_s": store["raw_save_per_s"],
                    "ratio": figures["ratio"],
                    "ours_count": figures["calls"],
                    "raw_count": None,
                }
            )
    return rows


def print_section(section: dict[str, Any]) -> None:
    print("\ncommand path: gRPC EnrolParticipant end to end (auth, validation, store, answer)")
    print(
        f"{'store':<12}{'in flight':>10}{'calls':>7}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'raw saves/s':>13}{'ratio':>7}  target >= 0.7"
    )
    for store in section["stores"]:
        for in_flight, f in store["grpc"].items():
            print(
                f"{store['store']:<12}{in_flight:>10}{f['calls']:>7}{f['per_s']:>10,.0f}"
                f"{f['p50_ms']:>9.1f}{f['p99_ms']:>9.1f}{store['raw_save_per_s']:>13,.0f}"
                f"{f['ratio']:>7.2f}  {'met' if f['ratio'] >= 0.7 else 'missed'}"
            )
    print("the RPC floor: gRPC health check on the same server (no auth, no store) vs raw save")
    for store in section["stores"]:
        for in_flight, f in store.get("rpc_floor", {}).items():
            print(
                f"{store['store']:<12}{in_flight:>10}{f['calls']:>7}{f['per_s']:>10,.0f}"
                f"{f['p50_ms']:>9.1f}{f['p99_ms']:>9.1f}{store['raw_save_per_s']:>13,.0f}"
                f"{f['ratio']:>7.2f}  the highest ratio a command can reach"
            )
    if "postgres" in section:
        print(f"PostgreSQL: {section['postgres']}")
