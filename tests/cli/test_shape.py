"""The shape `revmentor up` runs (``revmentor.cli.shape``): what each flag means
for the processes' settings, and the flags it refuses, naming them."""

from __future__ import annotations

import pytest

from revmentor.cli.common import CliError
from revmentor.cli.shape import Shape


def test_the_embedded_shape_needs_nothing() -> None:
    shape = Shape()
    shape.check()
    assert shape.store_env("matching") == {}
    assert shape.stream_replicas == 1


def test_postgres_gives_every_service_its_own_schema_and_a_small_pool() -> None:
    shape = Shape(3, "postgresql://app:s3cret@db.internal:6543/programmes", 5)
    shape.check()
    env = shape.store_env("matching")
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "programmes",
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": "s3cret",
        "POSTGRES_SCHEMA": "revmentor_matching",
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "3",
    }
    assert shape.store_env("feedback")["POSTGRES_SCHEMA"] == "revmentor_feedback"
    assert shape.stream_replicas == 3, "streams on at most three nodes"


@pytest.mark.parametrize(
    ("shape", "names"),
    [
        (Shape(replicas=2), "--replicas 2 needs --postgres"),
        (Shape(replicas=0, postgres="postgresql:///x"), "--replicas 0: must be 1-9"),
        (Shape(nats_cluster=6), "--nats-cluster 6: must be 1-5"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(shape: Shape, names: str) -> None:
    with pytest.raises(CliError) as refused:
        shape.check()
    assert names in str(refused.value)


def test_a_dsn_that_is_not_one_is_refused_without_echoing_it() -> None:
    with pytest.raises(CliError) as refused:
        Shape(2, "host=db password=s3cret = broken").store_env("matching")
    assert "--postgres is not a PostgreSQL DSN" in str(refused.value)
    assert "s3cret" not in str(refused.value)
