"""Filling an enrolment store fast, with the events the enrol command records.

``EnrolmentApplication.enrol`` validates, looks the employee up in the
registration index, then saves a ``Participant`` (its ``Enrolled`` event) and
an ``EmployeeRegistration`` (its ``Registered`` event) in one transaction.
Large benchmark stores (the 1,000,000-event replay, the 100,000-participant
memory figure) are filled here with the same two aggregates, built the same
way (the service's index key, generation 0: every employee is new) and
optionally given profile updates (``ProfileUpdated`` events), but saved
through ``app.save`` ``BATCH`` participants per transaction and without the
validation and index look-ups, which only the enrol benchmarks measure. The
events, their sealing (a data key per participant and per registration) and
their envelopes are those of the command.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from bench.workloads import mentee_profile
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.participant import EmployeeRegistration, Participant
from revmentor.enrolment.domain.profile import Consent, Profile
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.application import ServiceApplication

BATCH = 100
MENTOR_EVERY = 5
TOPICS = [Topic("generative-ai", "Generative AI"), Topic("social-media", "Social media")]


def profile(n: int) -> Profile:
    """Participant ``n``'s profile: one in ``MENTOR_EVERY`` a mentor."""
    base = mentee_profile(n)
    if n % MENTOR_EVERY:
        return base
    return dataclasses.replace(base, learning_needs=(), skills_offered=("generative-ai",))


def unsynchronised(app: ServiceApplication) -> None:
    """SQLite: commits without fsync on the filling connection (``PRAGMA
    synchronous=OFF``); each data key is its own transaction, and a filled
    store needs no durability. PostgreSQL: left as it is."""
    if app.env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite":
        return
    with app.recorder.datastore.get_connection(commit=True) as conn:  # type: ignore[attr-defined]
        conn.cursor().execute("PRAGMA synchronous=OFF")


def programmes(app: EnrolmentApplication, count: int) -> list[str]:
    """``count`` programmes, enrolment open (two events each)."""
    ids = []
    for p in range(count):
        programme = app.create_programme(
            f"Bench {p}", "", "2027-01-01", "2027-12-31", TOPICS, ProgrammeRules()
        )
        app.open_enrolment(str(programme.id))
        ids.append(str(programme.id))
    return ids


def participant(
    app: EnrolmentApplication, programme_id: UUID, n: int
) -> tuple[Participant, EmployeeRegistration]:
    """Participant ``n`` and its registration, as ``enrol`` builds them."""
    employee_id, role = f"E{n}", "mentee" if n % MENTOR_EVERY else "mentor"
    registration_id = EmployeeRegistration.id_for(app.index_key, programme_id, employee_id, 0)
    consent = Consent(True, "v1", datetime.now(UTC).isoformat())
    enrolled = Participant(
        programme_id=programme_id,
        employee_id=employee_id,
        role=role,
        profile=profile(n).to_dict(),
        consent=consent.to_dict(),
        registration_id=registration_id,
    )
    registration = EmployeeRegistration.register(
        app.index_key, programme_id, employee_id, enrolled.id, 0
    )
    return enrolled, registration


def update_department(enrolled: Participant, department: str) -> None:
    """The ``ProfileUpdated`` event ``update_profile`` records for a new department
    (built directly: comparing whole profiles is most of the command's cost)."""
    changed = {**enrolled.profile_data, "department": department}
    enrolled._profile_updated(
        programme_id=enrolled.programme_id, profile=changed, changed_fields=["department"]
    )


def enrol(
    app: EnrolmentApplication,
    programme_ids: list[str],
    count: int,
    updates: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``count`` participants over ``programme_ids`` (round robin), each given
    ``updates`` profile updates; returns the events saved."""
    programme_uuids = [UUID(p) for p in programme_ids]
    events = 0
    for start in range(0, count, BATCH):
        objs: list[object] = []
        for n in range(start, min(start + BATCH, count)):
            enrolled, registration = participant(app, programme_uuids[n % len(programme_uuids)], n)
            for k in range(updates):
                update_department(enrolled, f"D{k + 1}")
            objs += [enrolled, registration]
        events += len(app.save(*objs))  # type: ignore[arg-type]
        if progress is not None:
            progress(min(start + BATCH, count))
    return events
