"""The pure parts of ``revmentor audit timeline``, without services.

What must hold: the membership rules of :mod:`revmentor.cli.audit_timeline`
(a programme's events by id, by ``*programme_id`` and by aggregate; a
participant's by id anywhere, following only aggregates created naming them
directly; the participants' own aggregates without a programme id; rows
that do not decode); the merge order (time, then service order, then
position) and the causation links (only to an event identity in the
timeline); the subject and --output checks made before any service is asked;
and that a hostile stored value is inert in every format.
"""

from __future__ import annotations

import argparse
import json
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.cli import audit_timeline as t
from revmentor.cli.common import CliError
from revmentor.cli.timeline_html import render_html

P, OTHER_P = str(uuid.uuid4()), str(uuid.uuid4())
X, Y = str(uuid.uuid4()), str(uuid.uuid4())
SERVICES = ["enrolment", "training", "matching", "scheduling", "feedback"]


def row(
    aggregate: str,
    version: int,
    state: dict[str, Any] | None,
    *,
    position: int = 1,
    micros: int = 1_000_000,
    type_: str = "Thing.Happened",
    causation: str = "",
) -> pb.LoggedEvent:
    """A logged event as ReadEvents answers it (``state=None``: an undecodable row)."""
    if state is None:
        return pb.LoggedEvent(
            position=position,
            aggregate_id=aggregate,
            version=version,
            decode_error="the stored row cannot be decoded (ValueError)",
        )
    return pb.LoggedEvent(
        position=position,
        aggregate_id=aggregate,
        version=version,
        type=type_,
        recorded_at_micros=micros,
        actor="tester",
        correlation_id="corr-1",
        causation_id=causation or "call-1",
        state_json=json.dumps(state, sort_keys=True),
    )


def kept(subject: t.Subject, rows: list[tuple[str, pb.LoggedEvent]]) -> list[pb.LoggedEvent]:
    """The rows the membership keeps, fed in the given (log) order."""
    membership = t.Membership(subject)
    return [e for service, e in rows if membership.belongs(service, e, t.state_of(e))]


def agg() -> str:
    return str(uuid.uuid4())


# -- subject and --output ------------------------------------------------------------------------
def test_the_subject_must_be_a_uuid_and_the_refusal_names_the_flag() -> None:
    args = argparse.Namespace(programme="42", participant=None)
    with pytest.raises(CliError) as refused:
        t.subject_of(args)
    assert str(refused.value).startswith("--programme must be a programme id, a UUID")
    assert refused.value.exit_code == 1
    args = argparse.Namespace(programme=None, participant=X.upper())
    assert t.subject_of(args) == t.Subject("participant", X)


def test_output_in_a_missing_directory_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="does not exist; create it first"):
        t.output_path(str(tmp_path / "nowhere" / "t.html"))
    with pytest.raises(CliError, match="is a directory"):
        t.output_path(str(tmp_path))
    assert t.output_path(str(tmp_path / "t.html")) == tmp_path / "t.html"
    assert t.output_path(None) is None


# -- membership: a programme ---------------------------------------------------------------------
def test_programme_events_by_id_by_programme_id_and_by_aggregate() -> None:
    pair, mentorship, foreign = agg(), agg(), agg()
    rows = [
        ("enrolment", row(P, 1, {"name": "Cohort"}, type_="Programme.Created")),
        ("enrolment", row(X, 1, {"programme_id": P, "role": "mentee"})),
        ("enrolment", row(agg(), 1, {"participant_id": "[withheld]"})),  # the index: never
        ("enrolment", row(Y, 1, {"programme_id": OTHER_P, "role": "mentee"})),
        ("feedback", row(pair, 1, {"programme_id": P, "mentee_id": X})),
        ("feedback", row(pair, 2, {"match_id": "m-1"}, type_="Pair.Linked")),
        ("feedback", row(foreign, 1, {"programme_id": OTHER_P})),
        ("feedback", row(foreign, 2, {"at": "2027-01-01"})),
        ("scheduling", row(mentorship, 1, {"filters": [{"source_programme_id": P}]})),
        ("scheduling", row(mentorship, 2, {})),
    ]
    found = kept(t.Subject("programme", P), rows)
    assert [(e.aggregate_id, e.version) for e in found] == [
        (P, 1),
        (X, 1),
        (pair, 1),
        (pair, 2),
        (mentorship, 1),
        (mentorship, 2),
    ]


def test_programme_includes_its_participants_diaries_but_no_one_elses() -> None:
    """scheduling's Diary names only its participant: rule 4."""
    mine, theirs = agg(), agg()
    rows = [
        ("enrolment", row(X, 1, {"programme_id": P})),  # X's own aggregate: no participant_id
        ("matching", row(agg(), 3, {"programme_id": P, "participant_id": X})),
        ("scheduling", row(mine, 1, {"participant_id": X}, type_="Diary.Opened")),
        ("scheduling", row(mine, 2, {"session_id": "s-1"}, type_="Diary.Booked")),
        ("scheduling", row(theirs, 1, {"participant_id": Y}, type_="Diary.Opened")),
        ("scheduling", row(theirs, 2, {"session_id": "s-2"}, type_="Diary.Booked")),
    ]
    found = kept(t.Subject("programme", P), rows)
    assert [e.aggregate_id for e in found[2:]] == [mine, mine]


def test_known_aggregates_are_per_service() -> None:
    shared = agg()
    rows = [
        ("matching", row(shared, 1, {"programme_id": P})),
        ("scheduling", row(shared, 2, {"note": "same id, another service"})),
    ]
    assert len(kept(t.Subject("programme", P), rows)) == 1


# -- membership: a participant -------------------------------------------------------------------
def test_participant_events_by_id_and_mention_follow_only_direct_creations() -> None:
    record, match, round_, pool, stranger = agg(), agg(), agg(), agg(), agg()
    rows = [
        ("enrolment", row(X, 1, {"programme_id": P}, type_="Participant.Enrolled")),
        ("enrolment", row(X, 2, {"programme_id": P}, type_="Participant.Withdrawn")),
        ("enrolment", row(Y, 1, {"programme_id": P}, type_="Participant.Enrolled")),
        ("training", row(record, 1, {"participant_id": X.upper()})),
        ("training", row(record, 2, {"module_id": "m"})),
        ("matching", row(match, 1, {"mentee_id": Y, "mentor_id": X})),
        ("matching", row(match, 2, {"at": "now"}, type_="Match.Confirmed")),
        # a programme-wide record naming X deep inside: that event alone
        ("matching", row(round_, 1, {"proposals": [{"mentee_id": Y, "mentor_id": X}]})),
        ("matching", row(round_, 2, {"note": "later, about everyone"})),
        ("matching", row(pool, 3, {"participant_id": X}, type_="MemberEnrolled")),
        ("matching", row(pool, 4, {"participant_id": Y}, type_="MemberEnrolled")),
        ("matching", row(pool, 5, {"pairs": [["m", Y, X]]}, type_="RoundRecorded")),
        ("feedback", row(stranger, 1, {"answers": {X: "keyed by the id"}})),
        ("feedback", row(stranger, 2, {})),
    ]
    found = kept(t.Subject("participant", X), rows)
    assert [(e.aggregate_id, e.version) for e in found] == [
        (X, 1),
        (X, 2),
        (record, 1),
        (record, 2),
        (match, 1),
        (match, 2),
        (round_, 1),
        (pool, 3),
        (pool, 5),
        (stranger, 1),
    ]


def test_a_created_event_with_a_list_of_member_ids_is_followed() -> None:
    group = agg()
    rows = [("matching", row(group, 1, {"members": [Y, X]})), ("matching", row(group, 2, {}))]
    assert len(kept(t.Subject("participant", X), rows)) == 2


def test_undecodable_rows_are_steps_only_in_aggregates_that_belong() -> None:
    record, elsewhere = agg(), agg()
    read = t.ServiceRead("training")
    rows = [
        row(record, 1, {"participant_id": X}, position=1, micros=5_000_000),
        row(agg(), 1, {"participant_id": Y}, position=2, micros=6_000_000),
        row(record, 2, None, position=3),
        row(elsewhere, 1, None, position=4),
        row(X, 7, None, position=5),
    ]
    t.keep(read, rows, t.Membership(t.Subject("participant", X)), 0)
    assert [(s.event.position, s.micros) for s in read.steps] == [
        (1, 5_000_000),
        (3, 6_000_000),  # placed at the time of the row before it in the log
        (5, 6_000_000),
    ]
    assert read.scanned == 5 and read.undecodable_elsewhere == 1
    step = read.steps[1].document()
    assert step["time"] is None and step["state"] is None and step["decode_error"]


# -- merge and causation -------------------------------------------------------------------------
def step(service: str, position: int, micros: int, causation: str = "") -> t.Step:
    event = row(agg(), 1, {}, position=position, micros=micros, causation=causation)
    return t.Step(service, event, {}, micros)


def test_merge_orders_by_time_then_service_order_then_position() -> None:
    steps = [
        step("feedback", 1, 10),
        step("enrolment", 9, 10),
        step("enrolment", 3, 10),
        step("matching", 1, 5),
    ]
    merged = t.merge(steps, SERVICES)
    assert [(s.service, s.event.position) for s in merged] == [
        ("matching", 1),
        ("enrolment", 3),
        ("enrolment", 9),
        ("feedback", 1),
    ]
    assert [s.number for s in merged] == [1, 2, 3, 4]


def test_a_consumer_step_links_to_the_upstream_event_it_names_and_nothing_else() -> None:
    cause = step("enrolment", 3, 10)
    consumed = step("training", 1, 20, causation="enrolment:3")
    outside = step("matching", 1, 30, causation="enrolment:99")  # not in this timeline
    call = step("matching", 2, 40, causation=str(uuid.uuid4()))  # a gRPC call's id
    merged = t.merge([call, outside, consumed, cause], SERVICES)
    assert [s.caused_by for s in merged] == [None, 1, None, None]
    assert merged[1].document()["causation_id"] == "enrolment:3"


# -- rendering -----------------------------------------------------------------------------------
HOSTILE = '<script>alert("x")</script>\x1b[31m\nforged line'


def hostile_document() -> dict[str, Any]:
    event = row(agg(), 1, {"name": HOSTILE, "items": [1, 2]}, position=7, micros=1_700_000)
    event.actor = '"><img src=http://evil/x>'
    steps = t.merge([t.Step("enrolment", event, t.state_of(event), 1_700_000)], SERVICES)
    read = t.ServiceRead("enrolment", scanned=3)
    lost = t.ServiceRead("feedback", status="unreachable: <b>down</b>")
    return t.document(t.Subject("programme", P), [read, lost], steps)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


def test_a_hostile_stored_value_is_inert_in_html() -> None:
    page = render_html(hostile_document())
    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" not in parser.tags
    assert not [
        v for k, v in parser.attrs if k in ("src", "href") and not (v or "").startswith("#")
    ]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<style>" in page and "1 step</strong>" in page


def test_text_escapes_control_characters_and_has_one_line_per_step() -> None:
    text = t.render_text(hostile_document())
    head, titles, line = text.splitlines()
    assert titles.split()[:2] == ["#", "time"]
    assert "\x1b" not in text and "\\u001b[31m\\u000aforged line" in line
    assert (
        head.startswith(f"timeline of programme {P}: 1 step, 1 correlation,")
        and "NOT READ: feedback" in head
    )
    assert line.split()[:3] == ["1", "1970-01-01T00:00:01.700000Z", "enrolment"]
    assert "items=[1, 2]" in line


def test_json_is_the_document_with_stable_keys() -> None:
    doc = hostile_document()
    parsed = json.loads(t.render(doc, "json"))
    assert list(parsed) == sorted(parsed)
    assert parsed["services"] == {"enrolment": "ok", "feedback": "unreachable: <b>down</b>"}
    [only] = parsed["steps"]
    assert only["state"]["name"] == HOSTILE and only["id"] == "enrolment:7"
