"""``revmentor bootstrap`` against a real nats-server and a real PostgreSQL.

- every stream the platform uses (five service streams, dead letters, audit) is
  declared exactly as the kernel declares it, with the asked replicas (R1 on a
  single node), and every service's durable on every upstream exists;
- a second run changes nothing (same streams, same durables, same tables) and
  says so;
- in a fresh database with no schema, every PostgreSQL-backed service gets its
  schema and all its tables, after which the service runs with
  ``CREATE_TABLE=false`` under a role that may only read and write;
- a refusal (R3 on a single server) exits 1 with what to do; NATS or PostgreSQL
  that cannot be reached exits 2 once ``--wait`` is over, not long after.

The three-node cluster (R3, updating R1 streams to R3) is in test_compose_cluster.py.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from support import pg_connect

from revmentor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE
from revmentor.cli.main import main
from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.natsauth import CONSUMES, durable_name
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.streams import (
    AUDIT_STREAM,
    DLQ_STREAM,
    SERVICES,
    audit_stream_config,
    differs,
    dlq_stream_config,
    service_stream_config,
)

STREAMS = {*(stream_name(service) for service in SERVICES), DLQ_STREAM, AUDIT_STREAM}
DURABLES = {
    (stream_name(upstream), durable_name(service, upstream))
    for service, upstreams in CONSUMES.items()
    for upstream in upstreams
}
#: Every table each service's store uses (matching snapshots its programmes).
TABLES = {
    service: {
        f"{service}_events",
        f"{service}_tracking",
        "revmentor_subject_keys",
        "revmentor_audit_chain",
        *({"matching_snapshots"} if service == "matching" else set()),
    }
    for service in SERVICES
}


def bootstrap(*args: str) -> int:
    return main(["bootstrap", *args])


async def _nats_state(url: str) -> dict[str, Any]:
    """Every stream's config and creation time, every durable's config and creation time."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        streams = {info.config.name: info for info in await js.streams_info()}
        consumers = {}
        for stream, durable in sorted(DURABLES):
            info = await js.consumer_info(stream, durable)
            consumers[(stream, durable)] = (info.config, info.created)
        return {
            "streams": {name: (info.config, info.created) for name, info in streams.items()},
            "consumers": consumers,
        }
    finally:
        await nc.close()


def nats_state(url: str) -> dict[str, Any]:
    return asyncio.run(_nats_state(url))


@pytest.fixture
def sqlite_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PostgreSQL anywhere: the bootstrap only declares on NATS."""
    for variable in ("PERSISTENCE_MODULE", "NATS_STREAM_REPLICAS", "NATS_URL"):
        monkeypatch.delenv(variable, raising=False)
    for service in SERVICES:
        monkeypatch.delenv(f"{service.upper()}_PERSISTENCE_MODULE", raising=False)


@pytest.fixture
def postgres_stores(
    postgres_database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Every service on PostgreSQL, each in its own schema that does not exist yet."""
    for variable, value in postgres_database.items():
        monkeypatch.setenv(variable, value)
    suffix = uuid.uuid4().hex[:8]
    schemas = {service: f"b_{service}_{suffix}" for service in SERVICES}
    for service, schema in schemas.items():
        monkeypatch.setenv(f"{service.upper()}_POSTGRES_SCHEMA", schema)
    monkeypatch.delenv("POSTGRES_SCHEMA", raising=False)
    yield schemas
    with pg_connect(postgres_database["POSTGRES_DBNAME"]) as conn:
        for schema in schemas.values():
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def tables(dbname: str, schema: str) -> set[str]:
    with pg_connect(dbname) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {row[0] for row in rows}


# -- NATS -----------------------------------------------------------------------------------
@pytest.mark.usefixtures("sqlite_stores")
def test_declares_every_stream_and_durable_with_the_asked_replicas(
    nats_server: LocalNatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap("--nats", nats_server.url, "--stream-replicas", "1") == EXIT_OK
    state = nats_state(nats_server.url)
    assert set(state["streams"]) == STREAMS
    declared = [service_stream_config(s) for s in SERVICES]
    for wanted in [*declared, dlq_stream_config(), audit_stream_config()]:
        config, _ = state["streams"][wanted.name]
        assert config.num_replicas == 1, wanted.name
        assert not differs(config, wanted), wanted.name  # the kernel's own declaration
    assert set(state["consumers"]) == DURABLES
    for (stream, durable), (config, _) in state["consumers"].items():
        assert config.durable_name == durable and config.max_ack_pending == 1, durable
        assert config.filter_subject == f"revmentor.{stream.split('_')[1].lower()}.>"
    out = capsys.readouterr().out
    assert out.count(": created") == len(STREAMS) + len(DURABLES), out
    assert "not PostgreSQL; nothing to create" in out


@pytest.mark.usefixtures("sqlite_stores")
def test_replicas_default_to_nats_stream_replicas(
    nats_server: LocalNatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", nats_server.url)  # --nats left out: NATS_URL
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "1")
    assert bootstrap() == EXIT_OK
    state = nats_state(nats_server.url)
    assert {config.num_replicas for config, _ in state["streams"].values()} == {1}


@pytest.mark.postgres
def test_a_second_run_changes_nothing(
    nats_server: LocalNatsServer,
    postgres_stores: dict[str, str],
    postgres_database: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bootstrap("--nats", nats_server.url) == EXIT_OK
    first = nats_state(nats_server.url)
    dbname = postgres_database["POSTGRES_DBNAME"]
    first_tables = {service: tables(dbname, schema) for service, schema in postgres_stores.items()}
    capsys.readouterr()

    assert bootstrap("--nats", nats_server.url) == EXIT_OK
    out = capsys.readouterr().out
    assert nats_state(nats_server.url) == first  # same configs, same creation times
    assert {s: tables(dbname, schema) for s, schema in postgres_stores.items()} == first_tables
    assert "created" not in out and "updated" not in out, out
    assert out.count("present, R1, unchanged") == len(STREAMS)
    durables = [line for line in out.splitlines() if line.startswith("bootstrap: consumer ")]
    assert len(durables) == len(DURABLES) and all(
        line.endswith(": present, unchanged") for line in durables
    ), durables
    assert out.count("every table present, unchanged") == len(SERVICES)


@pytest.mark.usefixtures("sqlite_stores")
def test_r3_on_a_single_server_is_refused_with_what_to_do(
    nats_server: LocalNatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap("--nats", nats_server.url, "--stream-replicas", "3") == EXIT_FAILED
    error = capsys.readouterr().err
    assert "single server" in error and "--stream-replicas 1" in error, error


@pytest.mark.usefixtures("sqlite_stores")
def test_unreachable_nats_exits_2_once_the_wait_is_over(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    assert bootstrap("--nats", url, "--wait", "2") == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert err.count(f"waiting for NATS at {url}") >= 2, err  # it kept trying, and said so
    assert f"NATS at {url} unreachable within 2 s" in err and "NATS_URL" in err


# -- PostgreSQL -------------------------------------------------------------------------
@pytest.mark.postgres
def test_creates_every_schema_and_table_and_services_need_no_ddl_after(
    nats_server: LocalNatsServer,
    postgres_stores: dict[str, str],
    postgres_database: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    dbname = postgres_database["POSTGRES_DBNAME"]
    assert all(not tables(dbname, schema) for schema in postgres_stores.values())
    assert bootstrap("--nats", nats_server.url) == EXIT_OK
    for service, schema in postgres_stores.items():
        assert tables(dbname, schema) == TABLES[service], service
    out = capsys.readouterr().out
    assert out.count(", created):") == len(SERVICES), out  # each schema made
    with read_write_role(dbname, postgres_stores["enrolment"]) as role:
        run_enrolment_without_ddl(postgres_database, postgres_stores["enrolment"], role)


@pytest.mark.postgres
def test_a_service_dsn_as_the_helm_job_passes_it_wins(
    nats_server: LocalNatsServer,
    postgres_stores: dict[str, str],
    postgres_database: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REVMENTOR_<SERVICE>_POSTGRES_DSN: a URL with the schema in its options."""
    monkeypatch.delenv("PERSISTENCE_MODULE")  # SQLite but for the service with a DSN
    db = postgres_database
    schema = postgres_stores["matching"]
    password = f":{db['POSTGRES_PASSWORD']}" if db["POSTGRES_PASSWORD"] else ""
    monkeypatch.setenv(
        "REVMENTOR_MATCHING_POSTGRES_DSN",
        f"postgresql://{db['POSTGRES_USER']}{password}@{db['POSTGRES_HOST']}:"
        f"{db['POSTGRES_PORT']}/{db['POSTGRES_DBNAME']}?connect_timeout=5"
        f"&options=-csearch_path%3D{schema}",
    )
    assert bootstrap("--nats", nats_server.url) == EXIT_OK
    dbname = db["POSTGRES_DBNAME"]
    assert tables(dbname, schema) == TABLES["matching"]
    assert not tables(dbname, postgres_stores["enrolment"])  # still SQLite: untouched


@pytest.mark.postgres
def test_unreachable_postgres_exits_2_once_the_wait_is_over(
    nats_server: LocalNatsServer,
    postgres_stores: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSTGRES_PORT", str(free_port()))  # nothing listens there
    assert bootstrap("--nats", nats_server.url, "--wait", "1") == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert "waiting for PostgreSQL" in err and "unreachable within 1 s" in err, err


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres_stores")
def test_a_refused_postgres_login_exits_1(
    nats_server: LocalNatsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSTGRES_DBNAME", f"missing_{uuid.uuid4().hex[:8]}")
    assert bootstrap("--nats", nats_server.url, "--wait", "5") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "does not exist" in err and "POSTGRES_DBNAME" in err, err
    assert "waiting" not in err  # a refusal is not retried


class read_write_role:
    """A login role that may read and write the schema's tables, and create nothing."""

    def __init__(self, dbname: str, schema: str):
        self.dbname, self.schema = dbname, schema
        self.name = f"rw_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        with pg_connect(self.dbname) as conn:
            conn.execute(f'CREATE ROLE "{self.name}" LOGIN')
            conn.execute(f'REVOKE CREATE ON SCHEMA public FROM "{self.name}"')
            conn.execute(f'GRANT USAGE ON SCHEMA "{self.schema}" TO "{self.name}"')
            conn.execute(
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{self.schema}" '
                f'TO "{self.name}"'
            )
            conn.execute(
                f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{self.schema}" TO "{self.name}"'
            )
        return self.name

    def __exit__(self, *exc_info: object) -> None:
        with pg_connect(self.dbname) as conn:
            conn.execute(f'DROP OWNED BY "{self.name}"')
            conn.execute(f'DROP ROLE "{self.name}"')


def run_enrolment_without_ddl(database: dict[str, str], schema: str, role: str) -> None:
    """The enrolment service's store, opened as the service would, with no DDL right."""
    from revmentor.enrolment.application import EnrolmentApplication
    from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
    from revmentor.kernel.audit.chain import Chainer, ChainTable
    from revmentor.kernel.keystore import KeyStore

    with pg_connect(database["POSTGRES_DBNAME"]) as conn:  # the role really may not
        conn.execute(f'SET ROLE "{role}"')
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(f'CREATE TABLE "{schema}".forbidden (x int)')
    store = {
        **database,
        "POSTGRES_USER": role,
        "POSTGRES_SCHEMA": schema,
        "ENROLMENT_POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "false",
        "REVMENTOR_KEK": base64.b64encode(bytes(32)).decode(),
    }
    app = EnrolmentApplication(env=store)
    try:
        topics = [Topic("generative-ai", "Generative AI at work")]
        programme = app.create_programme(
            "Pilot", "", "2026-01-01", "2026-12-31", topics, ProgrammeRules()
        )
        app.open_enrolment(str(programme.id))
        assert app.record_processed("training", 1)  # tracking
        KeyStore.for_recorder(app.recorder).insert_if_absent("subject", "kek-1", b"wrapped")
        assert Chainer(app).chain() == 2  # the chain table
        assert ChainTable.for_recorder(app.recorder).head() is not None
        assert app.catch_up() >= 2
    finally:
        app.close()
