"""``revmentor events tail``: the integration events on NATS, as an integrator sees them.

Reads the JetStream streams (``REVMENTOR_<SERVICE>``; the dead-letter stream
only with ``--dlq``), decodes each message as a CloudEvent
(:func:`revmentor.kernel.cloudevents.decode`) and prints one line per event,
or one JSON object per line with ``--json``.

The audit stream ``REVMENTOR_AUDIT`` holds signed hash-chain checkpoints
(JSON, not CloudEvents; :mod:`revmentor.kernel.audit`): it is left out unless
a subject filter names it (``revmentor.audit.>``), and then each checkpoint is
printed as its JSON document.

Messages are read with the stream's message API (``$JS.API.STREAM.MSG.GET``),
never through a consumer: the read-only ``integrator`` user may not create
consumers other than its own named durables, and a look at the streams should
leave nothing behind on the server (nor move anyone's durable). New events are
polled for every half second.

Order: each stream's order is kept, and the streams are merged by ``ce-time``
(the time the event occurred), so a replay over several services reads like
what happened. Events are at-least-once and keyed by ``ce-id``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revmentor.cli.common import EXIT_FAILED, EXIT_UNREACHABLE, CliError, emit
from revmentor.kernel.settings import nats_servers

if TYPE_CHECKING:  # imported where used: `revmentor --help` should not load NATS
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.api import RawStreamMsg

    from revmentor.kernel.cloudevents import ReceivedEvent

DEFAULT_SUBJECT = "revmentor.>"
DEFAULT_NATS = "nats://127.0.0.1:4222"
STREAM_PREFIX = "REVMENTOR_"
POLL_SECONDS = 0.5
BATCH = 200  # messages read from one stream before looking at the others
REQUEST_SECONDS = 5.0
SUMMARY_WIDTH = 160

#: Headers a consumer adds when it gives a message up (revmentor.kernel.consumer).
DEAD_LETTER_HEADERS = {
    "error": "x-revmentor-error",
    "consumer": "x-revmentor-consumer",
    "deliveries": "x-revmentor-deliveries",
    "subject": "x-revmentor-subject",
}

EPILOG = """\
Which events: SUBJECT filters (NATS wildcards: * one token, > the rest), default
'revmentor.>' = every service stream. Examples:
  revmentor events tail                                    every event, then follow
  revmentor events tail 'revmentor.matching.v1.MatchConfirmed.*' --since 1h
  revmentor events tail 'revmentor.*.v1.*.PROGRAMME_ID' --json --until-idle 2
  revmentor events tail --dlq 'revmentor.dlq.>'            the dead letters
  revmentor events tail 'revmentor.audit.>'                the audit checkpoints
The dead-letter stream is left out unless --dlq is given or a SUBJECT names it.
The audit stream (REVMENTOR_AUDIT: signed checkpoints of each service's hash
chain, JSON rather than CloudEvents) is left out unless a SUBJECT names it
('revmentor.audit.>', 'revmentor.audit.<service>'); each checkpoint is then
printed as its JSON document (with --json: {"checkpoint": ..., "stream", ...}).

Where to start (default: the beginning of each stream):
  --since TIME   events stored at or after TIME: 2026-03-01, 2026-03-01T09:30,
                 2026-03-01T09:30:00Z (no zone = UTC), or a duration ago: 90s, 15m, 2h, 7d
  --from-seq N   from stream sequence N in each stream (--json shows stream_sequence)
  --new          only events published from now on

Order: each stream's own order is always kept; across streams, events are
merged by ce-time (when they occurred), so a replay over several services
reads in the order things happened. Delivery is at-least-once: dedupe on the
"id" (ce-id).

When to stop: follows new events until Ctrl-C, unless --limit N (after N events)
or --until-idle SECONDS (once no new event came for that long).

Line format: time, type, programme id (ce-subject), ce-id, actor, data summary.
--json prints one object per line: id, type, source, subject, time, sequence,
actor, correlationid, causationid, data (proto3 JSON), stream, stream_sequence,
nats_subject (and deadletter for the dead-letter stream).

NATS: --nats, else $NATS_URL, else the URL in var/run/endpoints.json (written by
`revmentor up`), else nats://127.0.0.1:4222. Credentials: --user/--password,
or --credentials FILE (the JSON file `revmentor up --secure` writes, user
'integrator' unless --user; or a NATS .creds file), else $NATS_USER/$NATS_PASSWORD,
else var/secrets/nats-credentials.json as the read-only 'integrator' user when
that file exists. Nothing is created on the server: the streams are read by
sequence, so any user allowed to read them will do.

Exit status: 0 done (or Ctrl-C), 1 bad arguments or refused by NATS,
2 NATS unreachable.
"""


# -- arguments ---------------------------------------------------------------------------
def add_arguments(tail: argparse.ArgumentParser) -> None:
    tail.add_argument(
        "subjects",
        nargs="*",
        metavar="SUBJECT",
        help="NATS subject filters (default: revmentor.>, every service stream)",
    )
    start = tail.add_mutually_exclusive_group()
    start.add_argument(
        "--since", metavar="TIME", help="events stored at or after TIME (or 15m, 2h, 7d ago)"
    )
    start.add_argument(
        "--from-seq", type=int, metavar="N", help="from stream sequence N in each stream"
    )
    start.add_argument("--new", action="store_true", help="only events published from now on")
    tail.add_argument("--json", action="store_true", help="one JSON object per event and line")
    tail.add_argument("--limit", type=int, metavar="N", help="stop after N events")
    tail.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="stop once no new event came for SECONDS (after catching up)",
    )
    tail.add_argument(
        "--dlq", action="store_true", help="include the dead-letter stream REVMENTOR_DLQ"
    )
    tail.add_argument(
        "--nats",
        metavar="URL",
        help="NATS server (default: $NATS_URL, else var/run/endpoints.json, "
        "else nats://127.0.0.1:4222)",
    )
    tail.add_argument("--user", metavar="U", help="NATS user (default: integrator when known)")
    tail.add_argument("--password", metavar="P", help="its password")
    tail.add_argument(
        "--credentials",
        type=Path,
        metavar="FILE",
        help="nats-credentials.json of `revmentor up --secure` (default: "
        "var/secrets/nats-credentials.json when it exists) or a NATS .creds file",
    )


@dataclass(frozen=True)
class TailOptions:
    subjects: tuple[str, ...] = (DEFAULT_SUBJECT,)
    since: datetime | None = None
    from_seq: int | None = None
    new: bool = False
    as_json: bool = False
    limit: int | None = None
    until_idle: float | None = None
    dlq: bool = False
    poll_seconds: float = POLL_SECONDS


def options_from(args: argparse.Namespace, now: datetime | None = None) -> TailOptions:
    if args.limit is not None and args.limit <= 0:
        raise CliError("--limit must be a positive number of events")
    if args.until_idle is not None and args.until_idle <= 0:
        raise CliError("--until-idle must be a positive number of seconds")
    if args.from_seq is not None and args.from_seq <= 0:
        raise CliError("--from-seq must be 1 or more (stream sequences start at 1)")
    subjects = tuple(args.subjects) or (DEFAULT_SUBJECT,)
    for subject in subjects:
        check_subject(subject)
    return TailOptions(
        subjects=subjects,
        since=parse_since(args.since, now) if args.since else None,
        from_seq=args.from_seq,
        new=args.new,
        as_json=args.json,
        limit=args.limit,
        until_idle=args.until_idle,
        dlq=args.dlq,
        poll_seconds=POLL_SECONDS,
    )


def check_subject(subject: str) -> None:
    tokens = subject.split(".")
    if (
        not subject
        or any(not token or " " in token for token in tokens)
        or any(">" in token and token != ">" for token in tokens)
        or ">" in tokens[:-1]
        or any("*" in token and token != "*" for token in tokens)
    ):
        raise CliError(
            f"{subject!r} is not a NATS subject filter: dot-separated tokens, "
            "* for one token, > for the rest, e.g. 'revmentor.matching.v1.MatchConfirmed.*'"
        )


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 date or time (UTC when it has no zone), or a duration ago (15m, 2h, 7d)."""
    now = now or datetime.now(UTC)
    found = _DURATION.match(text.strip().lower())
    if found:
        return now - timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"--since {text!r}: give a time like 2026-03-01T09:30:00Z or 2026-03-01 "
            "(UTC when no zone is given), or a duration ago like 90s, 15m, 2h, 7d"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# -- subjects and streams ------------------------------------------------------------------
def subjects_overlap(a: str, b: str) -> bool:
    """Whether some subject matches both filters (also: whether subject ``a`` matches ``b``)."""
    left, right = a.split("."), b.split(".")
    for x, y in zip(left, right, strict=False):
        if x == ">" or y == ">":
            return True
        if x != y and "*" not in (x, y):
            return False
    return len(left) == len(right)


def wants_dlq(options: TailOptions) -> bool:
    return options.dlq or any(s.split(".")[1:2] == ["dlq"] for s in options.subjects)


def wants_audit(options: TailOptions) -> bool:
    """Only a subject naming the audit stream reads it: checkpoints are not events."""
    return any(s.split(".")[1:2] == ["audit"] for s in options.subjects)


# -- connecting ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Connection:
    url: str
    url_source: str
    user: str  # for messages; "" when anonymous
    options: dict[str, Any] = field(default_factory=dict)


def nats_url(explicit: str | None) -> tuple[str, str]:
    """The NATS URL and where it came from."""
    from revmentor.cli.endpoints import endpoints_file, read_endpoints
    from revmentor.kernel.settings import env

    if explicit:
        return explicit, "--nats"
    from_env = env("NATS_URL", "")
    if from_env:
        return from_env, "NATS_URL"
    path = endpoints_file()
    found = (read_endpoints(path) or {}).get("nats")
    if isinstance(found, str) and found:
        return found, str(path)
    return DEFAULT_NATS, "the default URL"


def read_credentials(path: Path) -> dict[str, str] | None:
    """The user -> password map of a nats-credentials.json; None for a NATS .creds file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read --credentials {path}: {error.strerror or error}") from None
    if "-----BEGIN NATS USER JWT-----" in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CliError(
            f"{path} is neither the nats-credentials.json `revmentor up --secure` writes "
            '({"integrator": "<password>", ...}) nor a NATS .creds file'
        )
    return data


IDENTITY_KEYS = ("user", "password", "user_credentials", "nkeys_seed", "nkeys_seed_str")


def connection(
    url: str | None, user: str | None, password: str | None, credentials: Path | None
) -> Connection:
    """Where and as whom to connect: the arguments, else the environment, else var/secrets."""
    from revmentor.kernel import natsauth
    from revmentor.kernel.settings import var_dir

    address, source = nats_url(url)
    options = natsauth.nats_connect_options()  # TLS, and NATS_USER & co., from the environment
    from_env = any(key in options for key in IDENTITY_KEYS)
    if password is not None and not user:
        raise CliError("--password goes with --user")
    identity: dict[str, Any] = {}
    if user and password is not None:
        identity = {"user": user, "password": password}
    else:
        path = credentials
        if path is None and (user or not from_env):
            default = var_dir() / "secrets" / natsauth.CREDENTIALS_FILE
            path = default if default.exists() else None
        if path is not None:
            passwords = read_credentials(path)
            if passwords is None:
                identity = {"user_credentials": str(path)}
            else:
                name = user or natsauth.INTEGRATOR
                if name not in passwords:
                    raise CliError(
                        f"{path} has no password for NATS user {name!r} "
                        f"(it has: {', '.join(sorted(passwords)) or 'none'})"
                    )
                identity = {"user": name, "password": passwords[name]}
        elif user:
            raise CliError(
                f"--user {user} needs --password P, or --credentials FILE holding its password"
            )
    if identity:
        for key in IDENTITY_KEYS:
            options.pop(key, None)
        options.update(identity)
        options.pop("inbox_prefix", None)
    if "user" in options:
        options.setdefault("inbox_prefix", natsauth.inbox_prefix(options["user"]))
    who = str(options.get("user") or options.get("user_credentials") or "")
    return Connection(address, source, who, options)


async def connect(target: Connection, errors: list[str]) -> Client:
    import nats
    from nats.errors import Error as NatsError
    from nats.errors import NoServersError
    from nats.errors import TimeoutError as NatsTimeout

    async def collect(error: Exception) -> None:
        errors.append(str(error))

    try:
        return await nats.connect(
            nats_servers(target.url),
            connect_timeout=3,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # 0 would mean: retry forever
            reconnect_time_wait=0.5,
            error_cb=collect,
            **target.options,
        )
    except (TimeoutError, NoServersError, OSError, NatsTimeout) as error:
        if any("authorization" in e.lower() for e in errors):
            raise CliError(refused_login(target, errors[-1]), EXIT_FAILED) from None
        reason = errors[-1] if errors else str(error) or type(error).__name__
        raise CliError(
            f"cannot reach NATS at {target.url} (from {target.url_source}): {reason}.\n"
            "Start the platform with `make run` (or `revmentor up`) and leave it running, "
            "or pass --nats URL.",
            EXIT_UNREACHABLE,
        ) from None
    except NatsError as error:
        if "authorization" in str(error).lower() or "authentication" in str(error).lower():
            raise CliError(refused_login(target, str(error)), EXIT_FAILED) from None
        raise CliError(f"NATS at {target.url}: {error}", EXIT_FAILED) from None


def refused_login(target: Connection, reason: str) -> str:
    who = f"user {target.user!r}" if target.user else "an anonymous connection"
    return (
        f"NATS at {target.url} refused {who} ({reason.strip()}).\n"
        "A platform started with `revmentor up --secure` needs a user: its passwords are in "
        "var/secrets/nats-credentials.json (the read-only one is 'integrator'); "
        "pass --credentials FILE or --user U --password P."
    )


def refused_permission(target: Connection, violations: list[str]) -> str:
    who = target.user or "anonymous"
    return (
        f"NATS refused what NATS user {who!r} asked: {violations[-1]}.\n"
        f"The read-only 'integrator' user may list and read streams (stream info, "
        "message get) and use only its own durables; it may not publish events nor "
        "manage streams. `revmentor events tail` only reads: if a service user is "
        "refused, use --user integrator (or admin) with --credentials FILE."
    )


# -- reading -------------------------------------------------------------------------------
@dataclass
class Entry:
    """One message read from a stream, decoded when it is a CloudEvent (or, on the
    audit stream, an audit checkpoint)."""

    stream: str
    stream_sequence: int
    stored: datetime
    nats_subject: str
    headers: dict[str, str]
    event: ReceivedEvent | None
    problem: str = ""
    checkpoint: dict[str, Any] | None = None

    @property
    def when(self) -> datetime:
        """The event's ce-time, else when the stream stored it: the merge key."""
        if self.event and self.event.time:
            try:
                parsed = datetime.fromisoformat(self.event.time)
            except ValueError:
                return self.stored
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return self.stored

    def dead_letter(self) -> dict[str, str]:
        return {k: self.headers[h] for k, h in DEAD_LETTER_HEADERS.items() if h in self.headers}


def to_entry(stream: str, raw: RawStreamMsg) -> Entry:
    from revmentor.kernel.cloudevents import MalformedEvent, decode
    from revmentor.kernel.streams import AUDIT_STREAM

    headers = {str(k): str(v) for k, v in (raw.headers or {}).items()}
    stored = raw.time or datetime.now(UTC)
    base = (stream, int(raw.seq or 0), stored, raw.subject or "", headers)
    if stream == AUDIT_STREAM:
        from revmentor.kernel.audit import Checkpoint

        try:
            checkpoint = Checkpoint.from_json(raw.data or b"")
        except ValueError as error:
            return Entry(*base, None, str(error))
        return Entry(*base, None, checkpoint=checkpoint.document())
    try:
        return Entry(*base, decode(headers, raw.data or b""))
    except MalformedEvent as error:
        return Entry(*base, None, str(error))


@dataclass
class Cursor:
    """Where one stream is read from next, and what was read but not printed yet."""

    stream: str
    filter: str  # the subject asked of the server (">" when several filters apply)
    patterns: tuple[str, ...]  # checked here when the server cannot filter alone
    next_seq: int
    buffer: deque[Entry] = field(default_factory=deque)
    caught_up: bool = False

    async def fill(self, js: JetStreamContext, batch: int = BATCH) -> None:
        """Read up to ``batch`` more messages; ``caught_up`` when there are no more."""
        from nats.js.errors import NotFoundError

        for _ in range(batch):
            try:
                raw = await js.get_msg(self.stream, self.next_seq, subject=self.filter, next=True)
            except NotFoundError:
                self.caught_up = True
                return
            self.next_seq = int(raw.seq or self.next_seq) + 1
            if self.filter == ">" and not any(
                subjects_overlap(raw.subject or "", p) for p in self.patterns
            ):
                continue
            self.buffer.append(to_entry(self.stream, raw))


async def first_seq_at(
    js: JetStreamContext, stream: str, first: int, last: int, at: datetime
) -> int:
    """The first sequence stored at or after ``at`` (last + 1 when none): a binary search.

    Works with every JetStream server (no start-time message API needed); a
    stream's stored times only go forward.
    """
    from nats.js.errors import NotFoundError

    low, high = first, last + 1
    while low < high:
        middle = (low + high) // 2
        try:
            raw = await js.get_msg(stream, middle, subject=">", next=True)
        except NotFoundError:
            high = middle
            continue
        seq = int(raw.seq or middle)
        if raw.time is not None and raw.time >= at:
            high = middle
        else:
            low = seq + 1
    return low


async def open_cursors(js: JetStreamContext, options: TailOptions) -> list[Cursor]:
    """A cursor on each revmentor stream some filter overlaps, at the chosen start."""
    from revmentor.kernel.streams import AUDIT_STREAM, DLQ_STREAM

    infos = await js.streams_info()
    left_out = set()
    if not wants_dlq(options):
        left_out.add(DLQ_STREAM)
    if not wants_audit(options):
        left_out.add(AUDIT_STREAM)
    cursors = []
    for info in sorted(infos, key=lambda i: i.config.name or ""):
        name = info.config.name or ""
        if not name.startswith(STREAM_PREFIX) or name in left_out:
            continue
        stream_subjects = info.config.subjects or []
        patterns = tuple(
            s for s in options.subjects if any(subjects_overlap(s, own) for own in stream_subjects)
        )
        if not patterns:
            continue
        first, last = int(info.state.first_seq), int(info.state.last_seq)
        if options.new:
            start = last + 1
        elif options.from_seq is not None:
            start = max(options.from_seq, 1)
        elif options.since is not None:
            start = await first_seq_at(js, name, max(first, 1), last, options.since)
        else:
            start = max(first, 1)
        only = patterns[0] if len(patterns) == 1 else ">"
        cursors.append(Cursor(name, only, patterns, start))
    return cursors


async def tail(js: JetStreamContext, options: TailOptions, show: Callable[[Entry], None]) -> int:
    """Print events until the limit, the idle time or a cancellation; returns how many."""
    cursors = await open_cursors(js, options)
    if not cursors:
        raise CliError(
            f"no revmentor stream holds {' '.join(options.subjects)}: check the subject "
            "(revmentor.<service>.v1.<EventName>.<programme id>), or start the platform "
            "(`make run`), which declares the streams"
        )
    printed = 0
    last_seen = time.monotonic()
    while True:
        for cursor in cursors:
            cursor.caught_up = False
        while True:
            for cursor in cursors:
                if not cursor.buffer and not cursor.caught_up:
                    await cursor.fill(js)
            ready = [c for c in cursors if c.buffer]
            if not ready:
                break
            # each stream's order is kept; across streams the earliest ce-time goes first
            chosen = min(ready, key=lambda c: (c.buffer[0].when, c.stream))
            show(chosen.buffer.popleft())
            printed += 1
            last_seen = time.monotonic()
            if options.limit is not None and printed >= options.limit:
                return printed
        if options.until_idle is not None and time.monotonic() - last_seen >= options.until_idle:
            return printed
        wait = options.poll_seconds
        if options.until_idle is not None:
            wait = min(wait, max(0.01, options.until_idle - (time.monotonic() - last_seen)))
        await asyncio.sleep(wait)


# -- printing ------------------------------------------------------------------------------
def compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def summary(data: dict[str, Any], width: int = SUMMARY_WIDTH) -> str:
    """``key=value`` pairs of the event's data (sorted), cut to ``width`` characters."""
    text = " ".join(f"{key}={compact(value)}" for key, value in sorted(data.items()))
    return text if len(text) <= width else text[: width - 1] + "…"


def checkpoint_json(document: dict[str, Any]) -> str:
    """A checkpoint's document on one line, as canonical JSON (as the service published it)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def as_line(entry: Entry) -> str:
    from revmentor.kernel.streams import AUDIT_STREAM

    event = entry.event
    if entry.checkpoint is not None:
        return checkpoint_json(entry.checkpoint)
    if event is None:
        stored = entry.stored.isoformat()
        what = "not an audit checkpoint" if entry.stream == AUDIT_STREAM else "not a CloudEvent"
        line = f"{stored}  {entry.nats_subject}  {what}: {entry.problem}"
    else:
        actor = f"actor={event.actor}" if event.actor else "actor=-"
        fields = [event.time or "-", event.type, event.subject or "-", event.id, actor]
        line = "  ".join([*fields, summary(event.data)]).rstrip()
    dead = entry.dead_letter()
    if dead:
        line += f"  [dead letter of {dead.get('consumer', '?')}: {dead.get('error', '?')}]"
    return line


def as_json(entry: Entry) -> str:
    event = entry.event
    document: dict[str, Any]
    if entry.checkpoint is not None:
        document = {"checkpoint": entry.checkpoint}
    elif event is None:
        document = {"error": entry.problem}
    else:
        document = {
            "id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "sequence": event.sequence,
            "actor": event.actor,
            "correlationid": event.correlation_id,
            "causationid": event.causation_id,
            "data": event.data,
        }
        if event.traceparent:
            document["traceparent"] = event.traceparent
    document.update(
        stream=entry.stream,
        stream_sequence=entry.stream_sequence,
        nats_subject=entry.nats_subject,
    )
    if entry.dead_letter():
        document["deadletter"] = entry.dead_letter()
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


# -- the command ---------------------------------------------------------------------------
async def run_async(options: TailOptions, target: Connection) -> int:
    from nats.errors import TimeoutError as NatsTimeout

    errors: list[str] = []
    nc = await connect(target, errors)
    render = as_json if options.as_json else as_line
    try:
        js = nc.jetstream(timeout=REQUEST_SECONDS)
        try:
            return await tail(js, options, lambda entry: emit(render(entry)))
        except (TimeoutError, NatsTimeout) as error:
            violations = [e for e in errors if "permissions violation" in e.lower()]
            if violations:
                raise CliError(refused_permission(target, violations), EXIT_FAILED) from None
            raise CliError(
                f"NATS at {target.url} did not answer in time ({error or 'timeout'}): is "
                "JetStream enabled? `make run` starts a NATS that has it.",
                EXIT_UNREACHABLE,
            ) from None
    finally:
        await nc.close()


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    target = connection(args.nats, args.user, args.password, args.credentials)
    try:
        asyncio.run(run_async(options, target))
    except KeyboardInterrupt:  # Ctrl-C is how a follow ends
        return 0
    except BrokenPipeError:  # `revmentor events tail | head`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit does not fail flushing stdout
    return 0
