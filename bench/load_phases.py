"""The phases of the load scenario (:mod:`bench.load`): what each one sends, and what it measures.

Every call goes through :func:`call`, which times it (``perf_counter`` around
the awaited RPC, errors included) into its :class:`Phase` and files a failed
call under its gRPC status code. Waiting for another service to catch up
(polling until a read model shows something) is measured apart: the polls are
counted, not timed into the phase, and the catch-up itself is a *propagation*
row (time from the command's answer, or the event's timestamp, to the first
poll that sees its effect).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.feedback.v1 import feedback_pb2_grpc as fpb_grpc
from revmentor.kernel import tls
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc
from revmentor.training.v1 import training_pb2 as tpb
from revmentor.training.v1 import training_pb2_grpc as tpb_grpc

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]
#: A round's answer lists every proposal; let the client take what the server may send.
MAX_RECEIVE = 64 * 1024 * 1024
CALL_TIMEOUT = 30.0
POLL_INTERVAL = 0.05


class ScenarioError(Exception):
    """A step the rest of the scenario depends on failed."""


def say(text: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(text, file=sys.stderr, flush=True)


# -- measuring -----------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class Phase:
    """One phase: its calls' latencies (seconds), errors by code, wall time, and notes.

    ``kind`` "calls": latencies are RPC round trips and throughput is calls per
    wall second. ``kind`` "propagation": latencies are catch-up times of a
    downstream read model; there is no throughput.
    """

    name: str
    kind: str = "calls"
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def record(self, seconds: float, error: str | None = None) -> None:
        self.latencies.append(seconds)
        if error:
            self.errors[error] += 1

    def summary(self) -> dict[str, Any]:
        """The JSON row: count, errors, wall, ops/s, p50/p95/p99/max in ms."""
        ordered = sorted(self.latencies)
        count = len(ordered)
        calls = self.kind == "calls"
        return {
            "phase": self.name,
            "kind": self.kind,
            "count": count,
            "errors": dict(self.errors),
            "wall_s": round(self.wall, 3),
            "ops_per_s": round(count / self.wall, 1) if calls and self.wall > 0 else None,
            **{
                f"p{q}_ms": round(percentile(ordered, q) * 1000, 1) if ordered else None
                for q in (50, 95, 99)
            },
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
            "cpu_percent": {k: round(v, 1) for k, v in self.cpu.items()},
            "notes": self.notes,
        }


class CpuProbe:
    """CPU seconds of the platform's processes (from ``var/run/processes.json``) and of
    this driver, so each phase can say which process was busy: the likely bottleneck."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.ticks = 100.0  # Linux's usual clock ticks per second, if the system won't say
        with contextlib.suppress(ValueError, OSError, AttributeError):
            self.ticks = float(os.sysconf("SC_CLK_TCK"))

    def sample(self) -> dict[str, float]:
        found = {"driver": time.process_time()}
        for name, pid in self.pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                found[name] = (int(fields[11]) + int(fields[12])) / self.ticks
            except (OSError, IndexError, ValueError):
                continue
        return found

    @staticmethod
    def percent(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
        """CPU % of one core per process over ``wall`` seconds, busiest first."""
        if wall <= 0:
            return {}
        used = {k: (after[k] - before[k]) / wall * 100 for k in after if k in before}
        return dict(sorted(used.items(), key=lambda kv: -kv[1]))


class Run:
    """The phases of one run, in order, each timed (wall and CPU) by :meth:`phase`."""

    def __init__(self, probe: CpuProbe) -> None:
        self.probe = probe
        self.phases: list[Phase] = []

    def get(self, name: str, kind: str = "calls") -> Phase:
        for phase in self.phases:
            if phase.name == name:
                return phase
        phase = Phase(name, kind)
        self.phases.append(phase)
        return phase

    async def timed(self, phase: Phase, work: Awaitable[T]) -> T:
        """Run ``work``, adding its wall time and the processes' CPU to ``phase``."""
        before, started = self.probe.sample(), time.perf_counter()
        try:
            return await work
        finally:
            wall = time.perf_counter() - started
            cpu = CpuProbe.percent(before, self.probe.sample(), wall)
            total = phase.wall + wall
            merged = {  # wall-weighted when a phase runs more than once (rounds)
                k: (phase.cpu.get(k, 0.0) * phase.wall + v * wall) / total for k, v in cpu.items()
            }
            phase.cpu = dict(sorted(merged.items(), key=lambda kv: -kv[1]))
            phase.wall = total
            summary = phase.summary()
            busiest = next((f"{k} {v:.0f}%" for k, v in summary["cpu_percent"].items()), "-")
            errors = sum(phase.errors.values())
            say(
                f"  {phase.name}: {summary['count']} {'calls' if phase.kind == 'calls' else ''}"
                f" in {phase.wall:.1f} s, {errors} errors; busiest {busiest}"
            )


async def call(
    phase: Phase,
    method: Callable[..., Awaitable[T]],
    request: Any,
    metadata: Metadata,
    timeout: float = CALL_TIMEOUT,
    expected: Iterable[grpc.StatusCode] = (),
    timed: bool = True,
) -> tuple[T | None, grpc.StatusCode | None]:
    """One RPC as a well-behaved client makes it: (reply, None) or (None, code).

    RESOURCE_EXHAUSTED (the per-caller rate limit) is retried after the delay the
    answer gives, counted in the phase's notes as "throttled", and the latency
    covers the whole call, waits included. A code in ``expected`` is an answer,
    not an error (polling). ``timed`` False: a poll, errors counted, not timed.
    """
    started = time.perf_counter()
    for _ in range(MAX_THROTTLED):
        try:
            reply = await method(request, metadata=metadata, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details() or ""
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "rate limit" in details:
                phase.notes["throttled"] = phase.notes.get("throttled", 0) + 1
                await asyncio.sleep(_retry_after(details))
                continue
            failed = code not in expected
            if timed or failed:
                phase.record(time.perf_counter() - started, code.name if failed else None)
            if failed:  # the first answer of each code, to say what went wrong
                phase.notes.setdefault("first_error", {}).setdefault(code.name, details)
            return None, code
        if timed:
            phase.record(time.perf_counter() - started)
        return reply, None
    phase.record(time.perf_counter() - started, "RESOURCE_EXHAUSTED")
    return None, grpc.StatusCode.RESOURCE_EXHAUSTED


MAX_THROTTLED = 50


def _retry_after(details: str) -> float:
    """The wait a rate-limited answer names ("retry in 0.004 s"), at least 10 ms."""
    found = re.search(r"retry in ([0-9.]+) s", details)
    return max(0.01, float(found.group(1)) if found else 0.05)


class Probe:
    """Propagation, measured while the load runs: items are added with the time their
    command was answered; one task polls the oldest pending item every 50 ms (the
    consumers work in order, so the oldest is next) and records answer -> first
    poll that sees it. One poll at a time: a probe that barely loads the platform."""

    def __init__(self, row: Phase, check: Callable[[Any], Awaitable[bool]]) -> None:
        self.row = row
        self.check = check
        self.pending: deque[tuple[Any, float]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    def add(self, item: Any, answered_at: float) -> None:
        self.pending.append((item, answered_at))
        if self.task is None:
            self.task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while self.pending or not self.closed:
            if not self.pending:
                await asyncio.sleep(POLL_INTERVAL)
                continue
            item, answered_at = self.pending[0]
            if await self.check(item):
                self.row.record(time.perf_counter() - answered_at)
                self.pending.popleft()
            else:
                await asyncio.sleep(POLL_INTERVAL)

    async def finish(self, timeout: float) -> None:
        """Until every item was seen (or ``timeout``: the rest counted as timed out)."""
        self.closed = True
        if self.task is None:
            return
        try:
            await asyncio.wait_for(self.task, timeout)
        except TimeoutError:
            self.row.errors["TIMEOUT (never seen)"] += len(self.pending)


def channel(target: str) -> grpc.aio.Channel:
    """An asyncio channel as the services' clients make it (TLS when configured)."""
    options = [("grpc.max_receive_message_length", MAX_RECEIVE), *tls.balancing_options(target)]
    credentials = tls.grpc_channel_credentials()
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=tls.channel_options() + options)


async def pool(
    items: Sequence[T],
    concurrency: int,
    target: str,
    work: Callable[[grpc.aio.Channel, T], Awaitable[None]],
) -> None:
    """``work`` on every item, ``concurrency`` workers, each with its own channel."""
    remaining = iter(items)

    async def worker() -> None:
        async with channel(target) as ch:
            for item in remaining:
                await work(ch, item)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))


def auth(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


# -- the people ----------------------------------------------------------------------------
TOPICS = (
    ("generative-ai", "Generative AI at work"),
    ("social-media", "Social media and your professional voice"),
    ("collaboration-tools", "Collaboration tools"),
    ("data-literacy", "Data literacy and dashboards"),
    ("cybersecurity-hygiene", "Cybersecurity hygiene"),
    ("remote-work", "Leading hybrid teams"),
)
#: site, IANA zone, languages, weight
SITES = (
    ("London", "Europe/London", ("en",), 30),
    ("Paris", "Europe/Paris", ("fr", "en"), 25),
    ("Berlin", "Europe/Berlin", ("de", "en"), 20),
    ("Madrid", "Europe/Madrid", ("es", "en"), 15),
    ("Montréal", "America/Toronto", ("fr-CA", "en"), 10),
)
DEPARTMENTS = (
    "Finance", "Marketing", "Sales", "Operations", "Legal", "Human Resources",
    "IT", "Procurement", "Customer Service", "Data & Analytics",
)  # fmt: skip
FIRST = ("Alex", "Sam", "Chloé", "Noah", "Priya", "Lucas", "Mia", "Omar", "Inès", "Jonas")
LAST = ("Martin", "Okafor", "Schneider", "García", "Nguyen", "Dubois", "Raman", "Hughes")
SLOTS = (("09:00", "11:00"), ("10:00", "12:00"), ("13:00", "15:00"), ("14:00", "16:00"))
PREFERENCES = (
    (epb.MEETING_PREFERENCE_EITHER, 60),
    (epb.MEETING_PREFERENCE_VIRTUAL, 35),
    (epb.MEETING_PREFERENCE_IN_PERSON, 5),
)
NOTICE = "privacy-2026-03"


@dataclass
class Person:
    """A generated participant, and what the run learns about them."""

    employee_id: str
    mentor: bool
    request: epb.EnrolParticipantRequest
    participant_id: str = ""
    enrolled_at: float = 0.0  # perf_counter when enrolment answered

    @property
    def role(self) -> str:
        return "mentor" if self.mentor else "mentee"


def people(programme_id: str, count: int, seed: int = 10_000) -> list[Person]:
    """``count`` participants, mentors and mentees alternating (half each): mentors born
    1994-2003, mentees 1958-1978 (a gap of 16+ years), five sites in two continents,
    ten departments, two to three weekly windows (distinct weekdays), one to three topics."""
    rng = random.Random(seed)
    return [_person(rng, programme_id, i) for i in range(count)]


def _person(rng: random.Random, programme_id: str, i: int) -> Person:
    mentor = i % 2 == 0
    employee_id = f"{'LM' if mentor else 'LE'}{i // 2:05d}"
    site, zone, languages, _ = rng.choices(SITES, weights=[s[3] for s in SITES])[0]
    department = rng.choice(DEPARTMENTS)
    topics = rng.sample([code for code, _ in TOPICS], rng.randint(1, 3))
    windows = [(day, rng.choice(SLOTS)) for day in rng.sample(range(1, 6), rng.randint(2, 3))]
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    profile = epb.Profile(
        display_name=name,
        email=f"{employee_id.lower()}@example.com",
        birth_year=rng.randint(1994, 2003) if mentor else rng.randint(1958, 1978),
        department=department,
        manager_employee_id=f"{'TL' if mentor else 'EX'}{rng.randint(1, 40):03d}",
        site=site,
        time_zone=zone,
        languages=list(languages),
        skills_offered=topics if mentor else [],
        skill_levels={t: rng.randint(1, 3) for t in topics} if mentor else {},
        learning_needs=[]
        if mentor
        else [epb.LearningNeed(topic=t, priority=p) for p, t in enumerate(topics, start=1)],
        availability=[
            epb.AvailabilityWindow(weekday=day, start_time=start, end_time=end)
            for day, (start, end) in sorted(windows)
        ],
        meeting_preference=rng.choices(
            [p for p, _ in PREFERENCES], weights=[w for _, w in PREFERENCES]
        )[0],
    )
    request = epb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=epb.ROLE_MENTOR if mentor else epb.ROLE_MENTEE,
        profile=profile,
        consent=epb.Consent(given=True, notice_version=NOTICE),
    )
    return Person(employee_id, mentor, request)


# -- phases --------------------------------------------------------------------------------
@dataclass
class Context:
    """What the phases share: targets, tokens, the people and what was learnt."""

    run: Run
    targets: dict[str, str]
    mint: Callable[..., str]
    concurrency: int
    wait_timeout: float
    programme_id: str = ""
    start: date = field(default_factory=lambda: datetime.now(UTC).date() - timedelta(days=7))
    people: list[Person] = field(default_factory=list)
    confirmed_at: dict[str, float] = field(default_factory=dict)  # match id -> perf_counter
    mentorships: list[Any] = field(default_factory=list)
    tokens: dict[str, Metadata] = field(default_factory=dict)
    probes: dict[str, Probe] = field(default_factory=dict)

    def admin(self) -> Metadata:
        return self._cached("admin", lambda: self.mint("load:admin", ["admin"]))

    def manager(self) -> Metadata:
        return self._cached(
            "manager",
            lambda: self.mint(
                "load:manager", ["programme_manager"], programmes=[self.programme_id]
            ),
        )

    def prober(self) -> Metadata:
        """The propagation probes' own identity (their polls share no rate limit)."""
        return self._cached(
            "probe", lambda: self.mint("service:load-probe", ["service"], service="load-probe")
        )

    def lms(self) -> Metadata:
        return self._cached("lms", lambda: self.mint("service:lms", ["service"], service="lms"))

    def member(self, person: Person) -> Metadata:
        """The person's own token (role mentor/mentee, their employee id)."""
        return self._cached(
            person.employee_id,
            lambda: self.mint(person.employee_id, [person.role], employee_id=person.employee_id),
        )

    def _cached(self, key: str, make: Callable[[], str]) -> Metadata:
        if key not in self.tokens:
            self.tokens[key] = auth(make())
        return self.tokens[key]

    def by_participant(self) -> dict[str, Person]:
        return {p.participant_id: p for p in self.people if p.participant_id}


async def create_programme(ctx: Context) -> None:
    """Admin: CreateProgramme then OpenEnrolment (two calls)."""
    phase = ctx.run.get("programme: create + open")
    end = ctx.start + timedelta(days=180)
    request = epb.CreateProgrammeRequest(
        name=f"Load {datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
        description="Load scenario: a whole programme driven through the public APIs.",
        start_date=ctx.start.isoformat(),
        end_date=end.isoformat(),
        topics=[epb.Topic(code=code, title=title) for code, title in TOPICS],
        rules=epb.ProgrammeRules(
            min_age_gap_years=15, mentor_capacity=1, planned_sessions=6, session_minutes=60
        ),
    )

    async def work() -> None:
        async with channel(ctx.targets["enrolment"]) as ch:
            stub = epb_grpc.EnrolmentServiceStub(ch)
            created, code = await call(phase, stub.CreateProgramme, request, ctx.admin())
            if created is None:
                raise ScenarioError(f"CreateProgramme failed: {code}; is the platform healthy?")
            ctx.programme_id = created.programme_id
            command = epb.ProgrammeCommand(programme_id=created.programme_id)
            opened, code = await call(phase, stub.OpenEnrolment, command, ctx.admin())
            if opened is None:
                raise ScenarioError(f"OpenEnrolment failed: {code}")

    await ctx.run.timed(phase, work())


async def enrol(ctx: Context, count: int) -> None:
    """Admin (as an HR import would): EnrolParticipant for every person, C in flight."""
    phase = ctx.run.get("enrol participants")
    ctx.people = people(ctx.programme_id, count)
    every = max(1, count // 400)  # about 200 mentors sampled
    async with channel(ctx.targets["training"]) as probe_channel:
        probe = training_probe(ctx, probe_channel)

        async def one(ch: grpc.aio.Channel, person: Person) -> None:
            stub = epb_grpc.EnrolmentServiceStub(ch)
            enrolled, _ = await call(phase, stub.EnrolParticipant, person.request, ctx.admin())
            if enrolled is not None:
                person.participant_id = enrolled.participant_id
                person.enrolled_at = time.perf_counter()
                if person.mentor and int(person.employee_id[2:]) % every == 0:
                    probe.add(person.participant_id, person.enrolled_at)

        targets = ctx.targets["enrolment"]
        await ctx.run.timed(phase, pool(ctx.people, ctx.concurrency, targets, one))
        phase.notes["enrolled"] = sum(1 for p in ctx.people if p.participant_id)
        probe.row.notes["sampled"] = f"every {every} mentor(s)"
        await probe.finish(ctx.wait_timeout)


def training_probe(ctx: Context, ch: grpc.aio.Channel) -> Probe:
    """Enrol answer -> training's GetTrainingRecord finds the mentor's record."""
    row = ctx.run.get("propagation: enrol -> training record", "propagation")
    stub = tpb_grpc.TrainingServiceStub(ch)

    async def opened(participant_id: str) -> bool:
        request = tpb.GetTrainingRecordRequest(participant_id=participant_id)
        found, _ = await call(
            row, stub.GetTrainingRecord, request, ctx.prober(), expected=_WAITING, timed=False
        )
        return found is not None

    return Probe(row, opened)


async def certify(ctx: Context) -> None:
    """An LMS (role service, service "lms"): for each mentor in enrolment order, poll
    GetTrainingRecord until training has opened it (from enrolment's events), then
    CompleteModule / RecordAttendance for each required module. Times the module
    calls; the propagation row is enrol answer -> first poll that finds the record."""
    phase = ctx.run.get("certify mentors (LMS)")
    mentors = [p for p in ctx.people if p.mentor and p.participant_id]
    deadline = time.monotonic() + ctx.wait_timeout
    phase.notes.update(polls=0, open_at_first_poll=0, certified=0)
    workshop_day = (ctx.start - timedelta(days=3)).isoformat()

    async def one(ch: grpc.aio.Channel, person: Person) -> None:
        stub = tpb_grpc.TrainingServiceStub(ch)
        request = tpb.GetTrainingRecordRequest(participant_id=person.participant_id)
        first = True
        while True:
            phase.notes["polls"] += 1
            record, code = await call(
                phase, stub.GetTrainingRecord, request, ctx.lms(), expected=_WAITING, timed=False
            )
            if record is not None:
                break
            if code not in _WAITING:
                return
            if time.monotonic() > deadline:
                phase.errors["TIMEOUT (no training record)"] += 1
                return
            first = False
            await asyncio.sleep(POLL_INTERVAL)
        phase.notes["open_at_first_poll"] += first
        for progress in record.modules:
            module = progress.module
            if not module.required or progress.status in (
                tpb.MODULE_STATUS_PASSED,
                tpb.MODULE_STATUS_WAIVED,
            ):
                continue
            if module.kind == tpb.MODULE_KIND_WORKSHOP:
                req: Any = tpb.RecordAttendanceRequest(
                    participant_id=person.participant_id,
                    module_id=module.module_id,
                    session_date=workshop_day,
                )
                reply, _ = await call(phase, stub.RecordAttendance, req, ctx.lms())
            else:
                req = tpb.CompleteModuleRequest(
                    participant_id=person.participant_id,
                    module_id=module.module_id,
                    score=max(module.pass_mark, 80) + 5,
                )
                reply, _ = await call(phase, stub.CompleteModule, req, ctx.lms())
            if reply is None:
                return
            record = reply
        phase.notes["certified"] += record.status == tpb.RECORD_STATUS_CERTIFIED

    await ctx.run.timed(phase, pool(mentors, ctx.concurrency, ctx.targets["training"], one))


async def wait_until(
    phase: Phase,
    poll: Callable[[], Awaitable[bool]],
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> bool:
    """Poll (each call timed into ``phase``) until ``poll()`` is true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await poll():
            return True
        await asyncio.sleep(interval)
    phase.errors[f"TIMEOUT ({what})"] += 1
    return False


async def wait_for_pool(ctx: Context) -> None:
    """Manager: GetCandidatePool until matching shows every mentee and certified mentor
    (it consumes enrolment's and training's events). The wall time is the catch-up
    after the last certification."""
    phase = ctx.run.get("matching pool caught up")
    mentees = sum(1 for p in ctx.people if not p.mentor and p.participant_id)
    certified = int(ctx.run.get("certify mentors (LMS)").notes.get("certified", 0))
    last: list[Any] = []

    async def work() -> None:
        async with channel(ctx.targets["matching"]) as ch:
            stub = mpb_grpc.MatchingServiceStub(ch)
            request = mpb.GetCandidatePoolRequest(programme_id=ctx.programme_id)

            async def ready() -> bool:
                found, _ = await call(
                    phase, stub.GetCandidatePool, request, ctx.manager(), expected=_WAITING
                )
                if found is not None:
                    last.append(found)
                return bool(last) and (last[-1].mentees, last[-1].certified_mentors) >= (
                    mentees,
                    certified,
                )

            await wait_until(phase, ready, ctx.wait_timeout, "matching pool")

    await ctx.run.timed(phase, work())
    if last:
        phase.notes.update(mentees=last[-1].mentees, certified_mentors=last[-1].certified_mentors)


_WAITING = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE)


async def match_and_accept(ctx: Context, max_rounds: int = 5) -> None:
    """Manager: RunRound, list the open proposals (ListMatches, pages of 500), then
    each member accepts as themselves (mentee first, then mentor; the pairs C at
    a time); again until a round proposes nobody new."""
    async with channel(ctx.targets["scheduling"]) as probe_channel:
        probe = ctx.probes["mentorship"] = mentorship_probe(ctx, probe_channel)
        for _ in range(max_rounds):
            if not await run_round(ctx):
                break
            proposals = await list_proposals(ctx)
            if not proposals:
                break
            await accept(ctx, proposals)
        await probe.finish(ctx.wait_timeout)


def mentorship_probe(ctx: Context, ch: grpc.aio.Channel) -> Probe:
    """Second acceptance's answer -> scheduling lists the mentee's mentorship."""
    row = ctx.run.get("propagation: match confirmed -> mentorship", "propagation")
    stub = spb_grpc.SchedulingServiceStub(ch)

    async def opened(mentee_id: str) -> bool:
        request = spb.ListMentorshipsRequest(participant_id=mentee_id, page_size=1)
        found, _ = await call(
            row, stub.ListMentorships, request, ctx.prober(), expected=_WAITING, timed=False
        )
        return found is not None and len(found.mentorships) > 0

    return Probe(row, opened)


async def run_round(ctx: Context) -> bool:
    """One RunRound; True when it proposed someone (or failed after recording it)."""
    phase = ctx.run.get("matching round")

    async def work() -> bool:
        async with channel(ctx.targets["matching"]) as ch:
            stub = mpb_grpc.MatchingServiceStub(ch)
            request = mpb.RunRoundRequest(programme_id=ctx.programme_id)
            found, code = await call(phase, stub.RunRound, request, ctx.manager(), timeout=900)
            if found is None:
                # e.g. RESOURCE_EXHAUSTED: the round was recorded but its answer too big
                return code == grpc.StatusCode.RESOURCE_EXHAUSTED
            phase.notes.setdefault("proposed", []).append(found.proposed)
            phase.notes.setdefault("unmatched", []).append(len(found.unmatched))
            return found.proposed > 0

    return await ctx.run.timed(phase, work())


async def list_proposals(ctx: Context) -> list[Any]:
    """Manager: every PROPOSED match of the programme, 500 a page."""
    phase = ctx.run.get("list proposals")
    found: list[Any] = []

    async def work() -> None:
        async with channel(ctx.targets["matching"]) as ch:
            stub = mpb_grpc.MatchingServiceStub(ch)
            token = ""
            while True:
                request = mpb.ListMatchesRequest(
                    programme_id=ctx.programme_id,
                    status=mpb.MATCH_STATUS_PROPOSED,
                    page_size=500,
                    page_token=token,
                )
                reply, _ = await call(phase, stub.ListMatches, request, ctx.manager())
                if reply is None:
                    return
                found.extend(reply.matches)
                token = reply.next_page_token
                if not token:
                    return

    await ctx.run.timed(phase, work())
    return found


async def accept(ctx: Context, proposals: list[Any]) -> None:
    """Each side accepts their proposal with their own token (RespondToProposal)."""
    phase = ctx.run.get("accept proposals (both sides)")
    members = ctx.by_participant()

    async def one(ch: grpc.aio.Channel, match: Any) -> None:
        stub = mpb_grpc.MatchingServiceStub(ch)
        answered: Any = None
        for participant_id in (match.mentee_id, match.mentor_id):
            request = mpb.RespondToProposalRequest(
                match_id=match.match_id,
                participant_id=participant_id,
                decision=mpb.DECISION_ACCEPT,
            )
            own = ctx.member(members[participant_id])
            answered, _ = await call(phase, stub.RespondToProposal, request, own)
            if answered is None:
                return
        if answered.status == mpb.MATCH_STATUS_CONFIRMED:
            ctx.confirmed_at[match.match_id] = time.perf_counter()
            ctx.probes["mentorship"].add(match.mentee_id, ctx.confirmed_at[match.match_id])

    await ctx.run.timed(phase, pool(proposals, ctx.concurrency, ctx.targets["matching"], one))
    phase.notes["confirmed"] = len(ctx.confirmed_at)


async def wait_for_mentorships(ctx: Context) -> None:
    """Manager: ListMentorships (pages of 500, every 0.5 s) until scheduling has opened
    one per confirmed match (it consumes matching's MatchConfirmed)."""
    phase = ctx.run.get("scheduling mentorships caught up")
    wanted = len(ctx.confirmed_at)

    async def work() -> None:
        async with channel(ctx.targets["scheduling"]) as ch:
            stub = spb_grpc.SchedulingServiceStub(ch)

            async def ready() -> bool:
                found = await _all_mentorships(phase, stub, ctx)
                if found is not None:
                    ctx.mentorships = found
                return len(ctx.mentorships) >= wanted

            await wait_until(phase, ready, ctx.wait_timeout, "mentorships", interval=0.5)

    await ctx.run.timed(phase, work())
    phase.notes["mentorships"] = len(ctx.mentorships)


async def _all_mentorships(phase: Phase, stub: Any, ctx: Context) -> list[Any] | None:
    found: list[Any] = []
    token = ""
    while True:
        request = spb.ListMentorshipsRequest(
            programme_id=ctx.programme_id, page_size=500, page_token=token
        )
        reply, _ = await call(
            phase, stub.ListMentorships, request, ctx.manager(), expected=_WAITING
        )
        if reply is None:
            return None
        found.extend(reply.mentorships)
        token = reply.next_page_token
        if not token:
            return found


async def book(ctx: Context) -> None:
    """Each mentee books their first session (ScheduleSession, own token): virtual,
    60 minutes, at the start of one of their weekly windows 7-13 days ahead."""
    phase = ctx.run.get("book first sessions (mentees)")
    members = ctx.by_participant()
    first_day = datetime.now(UTC).date() + timedelta(days=7)
    phase.notes["booked"] = 0

    async def one(ch: grpc.aio.Channel, mentorship: Any) -> None:
        stub = spb_grpc.SchedulingServiceStub(ch)
        mentee = members[mentorship.mentee_id]
        profile = mentee.request.profile
        request = spb.ScheduleSessionRequest(
            mentorship_id=mentorship.mentorship_id,
            local_start=slot(first_day, profile.availability),
            time_zone=profile.time_zone,
            duration_minutes=60,
            mode=spb.MODE_VIRTUAL,
            meeting_link=f"https://meet.example.com/load-{mentorship.mentorship_id[:8]}",
            agenda="First session: goals for the programme.",
        )
        session, _ = await call(phase, stub.ScheduleSession, request, ctx.member(mentee))
        phase.notes["booked"] += session is not None

    work = pool(ctx.mentorships, ctx.concurrency, ctx.targets["scheduling"], one)
    await ctx.run.timed(phase, work)


def slot(first_day: date, windows: Sequence[Any]) -> str:
    """``YYYY-MM-DDTHH:MM``: the first window in the 7 days from ``first_day``."""
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        starts = sorted(w.start_time for w in windows if w.weekday == day.isoweekday())
        if starts:
            return f"{day.isoformat()}T{starts[0]}"
    return f"{first_day.isoformat()}T10:00"


async def outcomes_report(ctx: Context) -> dict[str, Any]:
    """Manager: GetOutcomesReport until feedback's funnel counts every matched mentee
    (it consumes the other services' events); returns the funnel."""
    phase = ctx.run.get("outcomes report caught up")
    wanted = len(ctx.confirmed_at)
    funnel: dict[str, Any] = {}

    async def work() -> None:
        async with channel(ctx.targets["feedback"]) as ch:
            stub = fpb_grpc.FeedbackServiceStub(ch)
            request = fpb.GetOutcomesReportRequest(programme_id=ctx.programme_id)

            async def ready() -> bool:
                report, _ = await call(
                    phase, stub.GetOutcomesReport, request, ctx.manager(), expected=_WAITING
                )
                if report is None:
                    return False
                funnel.clear()
                for stage in report.funnel:
                    value = stage.count.value if stage.count.HasField("value") else None
                    funnel[f"{stage.role} {stage.stage}"] = value
                return (funnel.get("mentee matched") or 0) >= wanted

            await wait_until(phase, ready, ctx.wait_timeout, "outcomes report", interval=0.5)

    await ctx.run.timed(phase, work())
    phase.notes["funnel"] = funnel
    return funnel
