"""``revmentor bootstrap``: what a deployment needs before its services start.

    revmentor bootstrap [--nats URL] [--stream-replicas N] [--wait SECONDS]

Run once per deployment and again after any upgrade (the compose ``bootstrap``
service, the Helm chart's bootstrap Job); every step is idempotent:

1. **NATS** (``--nats``, else ``NATS_URL``, else ``nats://127.0.0.1:4222``; a
   cluster as ``nats://a:4222,nats://b:4222,...``). Credentials come from the
   environment the services use (:func:`revmentor.kernel.natsauth.nats_connect_options`:
   ``NATS_USER``/``NATS_PASSWORD``, ``NATS_CREDS``, ``NATS_NKEY_SEED``,
   ``NATS_INBOX_PREFIX``, ``NATS_TLS_*``). Under ``deploy/nats/secure.conf`` that
   is the ``admin`` user: the only one that may create the shared dead-letter
   and audit streams and every service's stream.
2. **Streams**: each service's stream, the dead-letter stream and the audit
   stream, from the kernel's own declarations (:mod:`revmentor.kernel.streams`)
   with ``num_replicas`` = ``--stream-replicas`` (default ``NATS_STREAM_REPLICAS``,
   else 1). A stream already as declared is left alone; one that differs (e.g.
   R1 -> R3) is updated, which NATS does in place for the replica count; a
   change NATS refuses is reported with what to do.
3. **Durable consumers**: every service creates (or updates) its own durables
   when it starts, with permission for exactly those. The bootstrap
   pre-creates them from the same declaration
   (:meth:`revmentor.kernel.consumer.UpstreamSubscription.consumer_config`, for
   each pair in :data:`revmentor.kernel.natsauth.CONSUMES`), so that consumer
   lag is visible on NATS before the first consumer ever starts. A service
   that later declares a different config simply updates its durable.
4. **PostgreSQL**: for each service whose store is PostgreSQL - the
   eventsourcing settings the service itself reads, ``PERSISTENCE_MODULE=
   eventsourcing.postgres`` and ``POSTGRES_HOST/PORT/DBNAME/USER/PASSWORD/SCHEMA``,
   each of which may be prefixed ``<SERVICE>_`` (``MATCHING_POSTGRES_SCHEMA``), or
   one ``REVMENTOR_<SERVICE>_POSTGRES_DSN`` (a URL; the schema as
   ``options=-csearch_path%3D<schema>``), which wins for that service -
   the schema (when missing) and every table the service uses: the events and
   tracking tables (and matching's snapshots), built by eventsourcing's own
   recorders with ``CREATE_TABLE=true`` exactly as the service would at start,
   and the key store and audit chain tables. The services can then run with
   ``CREATE_TABLE=false`` under a role that may not create anything.

``--wait SECONDS`` retries NATS (connection and JetStream availability, e.g. a
cluster still electing its leader) and PostgreSQL until that many seconds have
passed since the start, printing a line per attempt on stderr.

Exit status: 0 everything is present; 1 a refusal (credentials, permissions, a
change NATS will not make, a role that may not create tables); 2 NATS or
PostgreSQL unreachable within ``--wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import math
import os
import re
import sys
import time
from collections.abc import Awaitable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from revmentor.cli.common import EXIT_OK, EXIT_UNREACHABLE, CliError, emit
from revmentor.kernel.natsauth import CONSUMES, nats_connect_options
from revmentor.kernel.settings import env, nats_servers
from revmentor.kernel.streams import (
    MANAGED_FIELDS,
    SERVICES,
    audit_stream_config,
    differs,
    dlq_stream_config,
    ensure_stream,
    service_stream_config,
)

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
#: JetStream allows at most R5.
MAX_REPLICAS = 5
#: Seconds to wait for one JetStream API answer.
REQUEST_TIMEOUT = 10.0
#: The longest pause between two attempts while waiting.
MAX_PAUSE = 5.0
#: JetStream error codes worth a specific explanation.
NOT_CLUSTERED = 10074  # replicas > 1 not supported in non-clustered mode
INSUFFICIENT_RESOURCES = 10023
NO_SUITABLE_PEERS = 10005  # fewer servers than replicas
NO_JETSTREAM_ACCOUNT = 10039
#: The consumer settings a bootstrap compares (the server fills in the others).
CONSUMER_FIELDS = (
    "description",
    "deliver_policy",
    "ack_policy",
    "ack_wait",
    "max_deliver",
    "max_ack_pending",
    "filter_subject",
    "replay_policy",
)
ADMIN_HINT = (
    "connect as the NATS admin user: NATS_USER=admin, NATS_PASSWORD=<REVMENTOR_NATS_ADMIN_"
    "PASSWORD of the server>, NATS_INBOX_PREFIX=_INBOX_admin (deploy/nats/secure.conf)"
)


def say(line: str) -> None:
    emit(f"bootstrap: {line}")


def progress(line: str) -> None:
    emit(f"bootstrap: {line}", sys.stderr)


class Deadline:
    """The end of ``--wait``: every retry loop shares it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def pause(self, attempt: int) -> float:
        """Seconds to sleep before the next attempt: doubling, capped, never past the end."""
        return min(0.25 * 2**attempt, MAX_PAUSE, self.left())


def retry_or_give_up(what: str, reason: str, hint: str, deadline: Deadline, attempt: int) -> float:
    """The pause before the next attempt, or CliError (exit 2) once the wait is over."""
    if deadline.left() <= 0:
        waited = f" within {deadline.seconds:g} s" if deadline.seconds else ""
        raise CliError(f"{what} unreachable{waited}: {reason}; {hint}", EXIT_UNREACHABLE)
    progress(f"waiting for {what} ({reason}); {math.ceil(deadline.left())} s left")
    return deadline.pause(attempt)


# -- the command --------------------------------------------------------------------
def stream_replicas(requested: int | None) -> int:
    """``--stream-replicas``, else ``NATS_STREAM_REPLICAS``, else 1 (JetStream: 1..5)."""
    text = str(requested) if requested is not None else env("NATS_STREAM_REPLICAS", "1")
    if not text.isdigit() or not 1 <= int(text) <= MAX_REPLICAS:
        source = "--stream-replicas" if requested is not None else "NATS_STREAM_REPLICAS"
        raise CliError(f"{source}={text}: a stream has 1 to {MAX_REPLICAS} replicas (3 for HA)")
    return int(text)


def run(nats_url: str | None, replicas: int | None, wait: float) -> int:
    """Declare streams and durables, then create the PostgreSQL tables; see the module."""
    if wait < 0:
        raise CliError("--wait must be 0 or more seconds")
    url = nats_url or env("NATS_URL", DEFAULT_NATS_URL)
    count = stream_replicas(replicas)
    deadline = Deadline(wait)
    asyncio.run(bootstrap_nats(url, count, deadline))
    stores = bootstrap_postgres(deadline)
    say(f"done: streams R{count} on {url}; {stores}")
    return EXIT_OK


# -- NATS -----------------------------------------------------------------------------
async def bootstrap_nats(url: str, replicas: int, deadline: Deadline) -> None:
    problems: list[str] = []  # asynchronous server errors (permission violations)
    nc = await connect(url, deadline, problems)
    try:
        js = nc.jetstream(timeout=REQUEST_TIMEOUT)
        await wait_for_jetstream(js, url, deadline, problems)
        for config in stream_configs(replicas):
            say(await answered(declare_stream(js, config, url), problems))
        for stream, consumer in consumer_configs():
            say(await answered(declare_consumer(js, stream, consumer), problems))
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def connect(url: str, deadline: Deadline, problems: list[str]) -> Client:
    """Connect, retrying until the deadline; bad credentials are a refusal at once."""

    async def on_error(error: Exception) -> None:
        problems.append(" ".join(f"{type(error).__name__}: {error}".split()))

    attempt = 0
    while True:
        attempt += 1
        try:
            return await nats.connect(
                nats_servers(url),
                name="revmentor-bootstrap",
                connect_timeout=max(1.0, min(5.0, deadline.left())),
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                error_cb=on_error,
                **nats_connect_options(),
            )
        except Exception as error:  # noqa: BLE001 - classified below
            reason = connect_failure(error, problems)
            if "authorization" in reason.lower():
                raise CliError(
                    f"NATS at {url} refused the credentials ({reason}); check NATS_USER and "
                    f"NATS_PASSWORD (or NATS_CREDS / NATS_NKEY_SEED): {ADMIN_HINT}"
                ) from None
            hint = "check --nats / NATS_URL and that nats-server is running"
            await asyncio.sleep(retry_or_give_up(f"NATS at {url}", reason, hint, deadline, attempt))


def connect_failure(error: Exception, problems: list[str]) -> str:
    """The cause nats-py reported (e.g. connection refused) rather than "no servers"."""
    cause = problems[-1] if problems else ""
    problems.clear()
    return cause or f"{type(error).__name__}: {error}"


async def wait_for_jetstream(
    js: JetStreamContext, url: str, deadline: Deadline, problems: list[str]
) -> None:
    """JetStream answers (a cluster's meta leader is elected), retrying until the deadline."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await js.account_info()
            return
        except APIError as error:
            if error.err_code == NO_JETSTREAM_ACCOUNT:
                raise CliError(
                    f"NATS at {url}: this account has no JetStream ({error.description}); "
                    "enable it for the account (`jetstream: enabled`, deploy/nats/accounts.conf)"
                ) from None
            if not isinstance(error, ServiceUnavailableError):
                raise CliError(
                    f"NATS at {url} refused the JetStream account info: {error}"
                ) from None
            reason = f"JetStream unavailable: {error.description}"
        except NatsError as error:  # no responders / timeout: JetStream not (yet) there
            refuse_if_denied(problems)
            reason = f"JetStream not answering: {type(error).__name__}"
        hint = "check that the servers run with JetStream and that a majority of them is up"
        await asyncio.sleep(
            retry_or_give_up(f"JetStream at {url}", reason, hint, deadline, attempt)
        )


def refuse_if_denied(problems: list[str]) -> None:
    """A request that timed out after a permission violation was refused, not lost."""
    denied = [text for text in problems if "permission" in text.lower()]
    if denied:
        raise CliError(f"NATS refused: {denied[-1]}; {ADMIN_HINT}")


async def answered(step: Awaitable[str], problems: list[str]) -> str:
    """Run one declaration; a timeout after a permission violation is that violation."""
    try:
        result = await step
    except ServiceUnavailableError as error:
        raise CliError(
            f"JetStream unavailable ({error.description}); check that a majority of the "
            "JetStream servers is up, then run again",
            EXIT_UNREACHABLE,
        ) from None
    except APIError as error:
        raise CliError(f"NATS refused: {error.description} (err_code {error.err_code})") from None
    except NatsError as error:
        refuse_if_denied(problems)
        raise CliError(
            f"NATS did not answer ({type(error).__name__}); check that a majority of the "
            "JetStream servers is up, then run again",
            EXIT_UNREACHABLE,
        ) from None
    return result


# -- streams ----------------------------------------------------------------------------
def stream_configs(replicas: int) -> list[StreamConfig]:
    """The kernel's declarations, every one with ``replicas``."""
    configs = [service_stream_config(service) for service in SERVICES]
    configs += [dlq_stream_config(), audit_stream_config()]
    return [dataclasses.replace(config, num_replicas=replicas) for config in configs]


def changes(current: Any, wanted: Any, fields: tuple[str, ...]) -> str:
    """``field current -> wanted`` for every declared setting the server has otherwise."""
    return ", ".join(
        f"{name} {describe(getattr(current, name))} -> {describe(getattr(wanted, name))}"
        for name in fields
        if getattr(wanted, name) is not None and getattr(wanted, name) != getattr(current, name)
    )


def describe(value: Any) -> str:
    return str(getattr(value, "value", value))


async def declare_stream(js: JetStreamContext, wanted: StreamConfig, url: str) -> str:
    """Create, leave or update one stream; a refusal says what to do."""
    name = wanted.name or ""
    try:
        current: StreamConfig | None = (await js.stream_info(name)).config
    except NotFoundError:
        current = None
    if current is not None and not differs(current, wanted):
        return f"stream {name}: present, R{wanted.num_replicas}, unchanged"
    try:
        await ensure_stream(js, wanted)
    except APIError as error:
        raise CliError(stream_refusal(wanted, current, error, url)) from None
    if current is None:
        return f"stream {name}: created, R{wanted.num_replicas}"
    return f"stream {name}: updated ({changes(current, wanted, MANAGED_FIELDS)})"


def stream_refusal(
    wanted: StreamConfig, current: StreamConfig | None, error: APIError, url: str
) -> str:
    """Why NATS said no, and the way forward."""
    name, replicas = wanted.name, wanted.num_replicas
    told = f"NATS refused stream {name} ({error.description}, err_code {error.err_code})"
    if error.err_code == NOT_CLUSTERED:
        return (
            f"{told}: {url} is a single server, which holds R1 streams only. Run with "
            "--stream-replicas 1 (and NATS_STREAM_REPLICAS=1 for the services), or point "
            f"--nats at a JetStream cluster of at least {replicas} servers"
        )
    if error.err_code in (INSUFFICIENT_RESOURCES, NO_SUITABLE_PEERS):
        return (
            f"{told}: R{replicas} needs {replicas} JetStream servers with room for it. Add "
            "servers (or storage: max_file_store), or lower --stream-replicas"
        )
    if current is None:
        return f"{told}; check the server's JetStream limits and this user's permissions"
    return (
        f"{told} when changing {changes(current, wanted, MANAGED_FIELDS)}. NATS does not change "
        "that setting of an existing stream in place: see docs/operations.md, 'Changing a "
        "stream' (stop the publishers, back the stream up, delete it, run bootstrap again, "
        "re-publish)"
    )


# -- durable consumers ------------------------------------------------------------------
def consumer_configs() -> Iterator[tuple[str, ConsumerConfig]]:
    """(stream, config) of every service's durable on every upstream it consumes.

    The config comes from :class:`UpstreamSubscription` itself, which needs only
    the consuming application's name for it - hence the stand-in.
    """
    from revmentor.kernel.application import ServiceApplication
    from revmentor.kernel.consumer import UpstreamSubscription  # faststream: imported late

    for service, upstreams in CONSUMES.items():
        app = cast(ServiceApplication, SimpleNamespace(name=service))
        for upstream in upstreams:
            subscription = UpstreamSubscription(app, upstream, {})
            yield subscription.stream, subscription.consumer_config()


async def declare_consumer(js: JetStreamContext, stream: str, wanted: ConsumerConfig) -> str:
    """Create, leave or update one durable (NATS updates what it can in place)."""
    durable = wanted.durable_name or ""
    try:
        current: ConsumerConfig | None = (await js.consumer_info(stream, durable)).config
    except NotFoundError:
        current = None
    if current is not None and not changes(current, wanted, CONSUMER_FIELDS):
        return f"consumer {stream} > {durable}: present, unchanged"
    try:
        await js.add_consumer(stream, wanted)
    except APIError as error:
        raise CliError(
            f"NATS refused durable {durable} on {stream} ({error.description}, err_code "
            f"{error.err_code}); stop the {durable.split('-from-')[0]} service, delete the "
            "durable (it is recreated from the start; positions already applied are "
            "skipped) and run bootstrap again"
        ) from None
    if current is None:
        return f"consumer {stream} > {durable}: created"
    return f"consumer {stream} > {durable}: updated ({changes(current, wanted, CONSUMER_FIELDS)})"


# -- PostgreSQL ---------------------------------------------------------------------------
def bootstrap_postgres(deadline: Deadline) -> str:
    """Every PostgreSQL-backed service's schema and tables; a summary for the last line."""
    done, elsewhere = [], {}
    for service in SERVICES:
        store = service_store(service)
        module = persistence_module(store)
        if not module.startswith("eventsourcing.postgres"):
            elsewhere[service] = module
            continue
        wait_for_postgres(service, store, deadline)
        say(create_tables(service, store))
        done.append(service)
    if elsewhere:
        modules = ", ".join(sorted(set(elsewhere.values())))
        say(
            f"{', '.join(elsewhere)}: store is {modules}, not PostgreSQL; nothing to create "
            f"(set PERSISTENCE_MODULE=eventsourcing.postgres and POSTGRES_*, or {DSN_VARIABLE})"
        )
    return f"PostgreSQL tables of {', '.join(done) or 'no service'}"


def application_class(service: str) -> Any:
    """The service's eventsourcing application class (its name, snapshotting)."""
    module = importlib.import_module(f"revmentor.{service}.application")
    return getattr(module, f"{service.capitalize()}Application")


def service_store(service: str) -> Any:
    """The eventsourcing environment the service builds its store from.

    As ``Application.construct_env`` builds it (class env, snapshotting, then the
    process environment), plus the service's DSN when one is given, with
    ``CREATE_TABLE`` forced on (and a one-connection pool) under every name the
    library looks each setting up by.
    """
    from eventsourcing.utils import Environment

    app_class = application_class(service)
    merged = dict(app_class.env)
    if app_class.is_snapshotting_enabled or app_class.snapshotting_intervals:
        merged["IS_SNAPSHOTTING_ENABLED"] = "y"
    merged.update(os.environ)
    merged.update(dsn_settings(service))
    store = Environment(app_class.name, merged)
    # One connection is plenty for DDL, whatever pool the service itself is given.
    for name, value in (("CREATE_TABLE", "true"), ("POSTGRES_POOL_SIZE", "1")):
        for key in store.create_keys(name):
            store[key] = value
    for key in store.create_keys("POSTGRES_MAX_OVERFLOW"):
        store[key] = "0"
    return store


def persistence_module(store: Any) -> str:
    """The store's eventsourcing module; SQLite when none is set (the services' default)."""
    return str(store.get("PERSISTENCE_MODULE") or "eventsourcing.sqlite")


#: One DSN per service, e.g. what the Helm chart's bootstrap Job passes.
DSN_VARIABLE = "REVMENTOR_<SERVICE>_POSTGRES_DSN"


def dsn_settings(service: str) -> dict[str, str]:
    """eventsourcing's settings from ``REVMENTOR_<SERVICE>_POSTGRES_DSN``, if set.

    A URL or ``key=value`` DSN; the schema is the first entry of a ``search_path``
    given in ``options`` (``?options=-csearch_path%3Dmatching``). The settings are
    prefixed with the service's name, so they win over the shared ``POSTGRES_*``.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    variable = DSN_VARIABLE.replace("<SERVICE>", service.upper())
    dsn = os.environ.get(variable, "")
    if not dsn:
        return {}
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error as error:
        raise CliError(f"{variable} is not a PostgreSQL DSN ({error})") from None
    settings = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": str(parts.get("host") or ""),
        "POSTGRES_PORT": str(parts.get("port") or "5432"),
        "POSTGRES_DBNAME": str(parts.get("dbname") or ""),
        "POSTGRES_USER": str(parts.get("user") or ""),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
    }
    if parts.get("connect_timeout"):
        settings["POSTGRES_CONNECT_TIMEOUT"] = str(parts["connect_timeout"])
    found = re.search(r"search_path\s*=\s*([^\s,]+)", str(parts.get("options") or ""))
    if found:
        settings["POSTGRES_SCHEMA"] = found.group(1).strip("\"'")
    return {f"{service.upper()}_{name}": value for name, value in settings.items()}


def connection_settings(service: str, store: Any) -> dict[str, Any]:
    """Where the service's store is, from the same variables eventsourcing reads."""
    settings = {
        "host": store.get("POSTGRES_HOST"),
        "port": store.get("POSTGRES_PORT") or "5432",
        "dbname": store.get("POSTGRES_DBNAME"),
        "user": store.get("POSTGRES_USER"),
    }
    missing = [f"POSTGRES_{key.upper()}" for key, value in settings.items() if not value]
    if missing:
        names = ", ".join(missing)
        raise CliError(
            f"{service}: PERSISTENCE_MODULE is PostgreSQL but {names} is not set "
            f"(each may also be given as {service.upper()}_<NAME>, or all in {DSN_VARIABLE})"
        )
    return {**settings, "password": store.get("POSTGRES_PASSWORD") or ""}


#: PostgreSQL is there but says no: retrying will not help.
REFUSALS = ("authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")


def wait_for_postgres(service: str, store: Any, deadline: Deadline) -> None:
    """One connection succeeds, retrying until the deadline; a refusal is final."""
    import psycopg

    settings = connection_settings(service, store)
    where = f"PostgreSQL at {settings['host']}:{settings['port']}/{settings['dbname']}"
    attempt = 0
    while True:
        attempt += 1
        timeout = max(1, min(5, int(deadline.left())))
        try:
            psycopg.connect(**settings, connect_timeout=timeout).close()
            return
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            if any(text in reason for text in REFUSALS):
                raise CliError(
                    f"{service}: {where} refused user {settings['user']}: {reason}; check "
                    "POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DBNAME (or their "
                    f"{service.upper()}_ forms)"
                ) from None
            hint = "check POSTGRES_HOST/POSTGRES_PORT and that the server is running"
            time.sleep(retry_or_give_up(where, reason, hint, deadline, attempt))


def expected_tables(app_class: Any, snapshots: bool) -> set[str]:
    from revmentor.kernel.audit.chain import TABLE as CHAIN_TABLE
    from revmentor.kernel.keystore import TABLE as KEYS_TABLE

    prefix = app_class.name.lower()
    tables = {f"{prefix}_events", f"{prefix}_tracking", KEYS_TABLE, CHAIN_TABLE}
    return tables | ({f"{prefix}_snapshots"} if snapshots else set())


def create_tables(service: str, store: Any) -> str:
    """The schema if missing, then every table, as the service's own code creates them."""
    from eventsourcing.persistence import InfrastructureFactory, PersistenceError

    from revmentor.kernel.audit.chain import ChainTable
    from revmentor.kernel.keystore import KeyStore
    from revmentor.kernel.schema import schema_lock

    factory: Any = InfrastructureFactory.construct(store)
    datastore = factory.datastore
    wanted = expected_tables(application_class(service), factory.is_snapshotting_enabled())
    try:
        # The services' own lock: a replica starting meanwhile does not race the DDL.
        with schema_lock(store.get):
            before = tables_in(datastore)
            schema_note = ensure_schema(datastore)
            factory.process_recorder()  # events + tracking, CREATE_TABLE=true
            if factory.is_snapshotting_enabled():
                factory.aggregate_recorder("snapshots")
            KeyStore(datastore)
            ChainTable(datastore)
            after = tables_in(datastore)
    except PersistenceError as error:
        raise CliError(table_refusal(service, store, error)) from None
    finally:
        factory.close()
    if wanted - after:
        raise CliError(f"{service}: tables still missing after creation: {sorted(wanted - after)}")
    created = sorted(wanted - before)
    what = f"created {', '.join(created)}" if created else "every table present, unchanged"
    return f"postgres {service} (schema {datastore.schema}{schema_note}): {what}"


def table_refusal(service: str, store: Any, error: Exception) -> str:
    reason = " ".join(str(error).split())
    if "permission denied" in reason:
        return (
            f"{service}: PostgreSQL user {store.get('POSTGRES_USER')} may not create the "
            f"service's schema or tables ({reason}); run bootstrap as a role that may (the "
            "database or schema owner), and the service as one that may only read and write"
        )
    return f"{service}: creating the tables failed: {reason}"


def tables_in(datastore: Any) -> set[str]:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (datastore.schema,),
        )
        return {row["table_name"] for row in cursor.fetchall()}


def ensure_schema(datastore: Any) -> str:
    """Create the schema when it is missing (never asked otherwise: ``CREATE SCHEMA IF
    NOT EXISTS`` needs the CREATE privilege even when the schema exists)."""
    from psycopg import sql

    with datastore.transaction(commit=True) as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (datastore.schema,))
        if cursor.fetchone() is not None:
            return ""
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(datastore.schema)))
    return ", created"
