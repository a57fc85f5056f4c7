"""Record commands that lose a race they did not ask about.

What must hold: an LMS command without ``expected_version`` that loses a race
on the record (training's own consumer, another replica, writing it at the
same moment) is run again on the fresh record and succeeds; with
``expected_version`` pinned the conflict is the caller's to see (ABORTED);
and a command that keeps losing gives up after a bounded number of attempts.
"""

from __future__ import annotations

from typing import Any

import pytest

from revmentor.kernel.application import COMMAND_ATTEMPTS
from revmentor.kernel.errors import ConcurrencyConflict
from revmentor.training.application import TrainingApplication


def losing(app: TrainingApplication, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The next ``times`` saves lose a race (nothing is written); counts every save."""
    save = app.save
    calls: list[int] = []

    def racing_save(*objs: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise ConcurrencyConflict("another change to the same object was recorded first")
        return save(*objs, **kwargs)

    monkeypatch.setattr(app, "save", racing_save)
    return calls


def test_an_unpinned_command_is_run_again_on_the_fresh_record(
    training_app: TrainingApplication, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mentor = seed.record(seed.programme())
    calls = losing(training_app, monkeypatch, 1)
    record = training_app.complete_module(mentor, "active-listening", 90)
    assert len(calls) == 2
    assert training_app.record(mentor).version == record.version


def test_a_pinned_command_sees_the_conflict(
    training_app: TrainingApplication, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mentor = seed.record(seed.programme())
    version = training_app.record(mentor).version
    calls = losing(training_app, monkeypatch, 1)
    with pytest.raises(ConcurrencyConflict):
        training_app.complete_module(mentor, "active-listening", 90, expected_version=version)
    assert len(calls) == 1
    assert training_app.record(mentor).version == version, "nothing written"


def test_a_command_that_keeps_losing_gives_up(
    training_app: TrainingApplication, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mentor = seed.record(seed.programme())
    calls = losing(training_app, monkeypatch, COMMAND_ATTEMPTS)
    with pytest.raises(ConcurrencyConflict):
        training_app.complete_module(mentor, "active-listening", 90)
    assert len(calls) == COMMAND_ATTEMPTS
