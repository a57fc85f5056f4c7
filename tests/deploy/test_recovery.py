"""docs/operations.md section 5, "NATS streams lost", run for real (PostgreSQL, nats-server).

After a stream is lost and recreated by ``revmentor bootstrap``, the relay does not
re-publish on its own (it resumes after its stored position); once its position
row is deleted as the runbook says, it re-publishes the whole log, with the
original ids, in order.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Iterator

import nats
import pytest
from support import eventually, pg_connect, read_stream

from revmentor.cli.common import EXIT_OK
from revmentor.cli.main import main
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.integration import translate
from revmentor.kernel.application import RELAY_TRACKING
from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay
from revmentor.kernel.streams import SERVICES

STREAM = stream_name("enrolment")

pytestmark = pytest.mark.postgres


@pytest.fixture
def enrolment_store(
    postgres_database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Every service on PostgreSQL in its own new schema; enrolment's settings."""
    for variable, value in postgres_database.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("POSTGRES_SCHEMA", raising=False)
    suffix = uuid.uuid4().hex[:8]
    schemas = {service: f"r_{service}_{suffix}" for service in SERVICES}
    for service, schema in schemas.items():
        monkeypatch.setenv(f"{service.upper()}_POSTGRES_SCHEMA", schema)
    yield {
        **postgres_database,
        "POSTGRES_SCHEMA": schemas["enrolment"],
        "REVMENTOR_KEK": base64.b64encode(bytes(32)).decode(),
    }
    with pg_connect(postgres_database["POSTGRES_DBNAME"]) as conn:
        for schema in schemas.values():
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def relay_for(
    app: EnrolmentApplication,
    url: str,
    seconds: float = 0.0,
    until: Callable[[], bool] | None = None,
) -> None:
    """Run the service's relay for ``seconds``, or until ``until()`` holds."""
    stop = asyncio.Event()
    task = asyncio.create_task(Relay(app, translate, url, idle_seconds=0.02).run(stop))
    if until is not None:

        async def done() -> bool:
            return await asyncio.to_thread(until)

        await eventually(done, what="the relay caught up")
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 10)


async def published_ids(url: str) -> list[str]:
    return [message.headers["Nats-Msg-Id"] for message in await read_stream(url, STREAM)]


async def delete_stream(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(STREAM)
    finally:
        await nc.close()


def rewind_relay(store: dict[str, str]) -> None:
    """The runbook's SQL, for enrolment."""
    schema = store["POSTGRES_SCHEMA"]
    with pg_connect(store["POSTGRES_DBNAME"]) as conn:
        conn.execute(
            f'DELETE FROM "{schema}".enrolment_tracking WHERE application_name = %s',
            (RELAY_TRACKING,),
        )


def write_some(app: EnrolmentApplication) -> None:
    topics = [Topic("generative-ai", "Generative AI at work")]
    for name in ("Pilot", "Second"):
        programme = app.create_programme(
            name, "", "2026-01-01", "2026-12-31", topics, ProgrammeRules()
        )
        app.open_enrolment(str(programme.id))


@pytest.mark.asyncio
async def test_a_lost_stream_is_republished_from_the_outbox_after_the_rewind(
    nats_server: LocalNatsServer, enrolment_store: dict[str, str]
) -> None:
    url = nats_server.url
    assert await asyncio.to_thread(main, ["bootstrap", "--nats", url]) == EXIT_OK
    app = EnrolmentApplication(env=enrolment_store)
    try:
        await asyncio.to_thread(write_some, app)
        last = app.notifications(0, 1000)[-1].id
        await relay_for(app, url, until=lambda: app.tracked_position(RELAY_TRACKING) >= last)
        before = await published_ids(url)
        assert before, "nothing published: the test proves nothing"

        await delete_stream(url)  # the disaster
        assert await asyncio.to_thread(main, ["bootstrap", "--nats", url]) == EXIT_OK
        await relay_for(app, url, seconds=0.5)
        assert await published_ids(url) == []  # it resumes after its position: nothing

        await asyncio.to_thread(rewind_relay, enrolment_store)
        await relay_for(app, url, until=lambda: app.tracked_position(RELAY_TRACKING) >= last)
        assert await published_ids(url) == before  # the same ids, in the same order
    finally:
        app.close()
