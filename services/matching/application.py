"""The matching application: pool upkeep, rounds, proposals, answers, ends.

Every command that changes who is taken saves the programme's pool aggregate
(:class:`MatchingProgramme`) together with the matches it touches, in one
transaction: a round, a manual match, a decline, an expiry, an end. Two of
them racing on one programme therefore meet on the pool's version and one
loses with ``ConcurrencyConflict`` (ABORTED) with nothing written.

Personal attributes are fetched from enrolment (``attributes``, injected: the
gRPC client in production, a table in unit tests) for the length of one
command and never stored; only what was derived from them is recorded.

A recorded round can be re-run from history (:meth:`MatchingApplication.replay`):
the pool as it was, enrolment's attributes as they were, and the same
:func:`compute_round` a live round runs, so an identical answer means something.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from revmentor.kernel import timestamps
from revmentor.kernel.application import ServiceApplication, expect_version
from revmentor.kernel.attributes import AttributesUnavailable
from revmentor.kernel.context import RequestContext, acting_as, current
from revmentor.kernel.errors import (
    ConcurrencyConflict,
    FieldViolation,
    IllegalTransition,
    NotFound,
    ValidationFailed,
    Violations,
)
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel
from revmentor.matching.domain import explain, policy, pool, replay
from revmentor.matching.domain import match as m
from revmentor.matching.domain.candidates import MenteeCandidate, MentorCandidate
from revmentor.matching.domain.constraints import ManagerChain, PairContext, overlap_minutes
from revmentor.matching.domain.match import Match, round_match_id
from revmentor.matching.domain.programme import (
    MENTEE,
    MENTOR,
    MatchingProgramme,
    programme_key,
)
from revmentor.matching.domain.record import MatchingRound
from revmentor.matching.domain.round import RoundResult, run_round
from revmentor.matching.domain.scoring import score_pair
from revmentor.matching.readmodel import MatchingReadModel

__all__ = ["AttributeSource", "AttributesUnavailable", "MatchingApplication", "compute_round"]

log = logging.getLogger(__name__)

Found = Mapping[str, Mapping[str, Any]]


class AttributeSource(Protocol):
    """Fetches enrolment's matching attributes of participants (as dicts, see
    :mod:`revmentor.matching.domain.pool`); raises AttributesUnavailable.

    ``as_of`` (an aware datetime) asks for them as they were then; only a
    replay passes it, so a source that cannot answer for the past (a test
    table) may leave it out and still serve live rounds.
    """

    def __call__(self, ids: Sequence[str], as_of: datetime | None = None) -> Found: ...


#: Who expires proposals (recorded as the actor of Expired).
EXPIRY_ACTOR = "service:matching-expiry"
#: A round recomputed on a pool changed meanwhile by something else than a round.
ROUND_ATTEMPTS = 3


def _no_source(ids: Sequence[str], as_of: datetime | None = None) -> Found:
    raise AttributesUnavailable("no enrolment client configured for matching attributes")


def _answers_as_of(source: AttributeSource) -> bool:
    try:
        parameters = inspect.signature(source).parameters
    except (TypeError, ValueError):
        return False
    return "as_of" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


@dataclass(frozen=True)
class ComputedRound:
    """What a round computes before anything is written: its candidates, the
    reporting tree and the result."""

    mentees: list[MenteeCandidate]
    mentors: list[MentorCandidate]
    chain: dict[str, str]
    result: RoundResult


def _asked_at(record: MatchingRound) -> datetime:
    """When the live round asked enrolment for the attributes; for rounds recorded
    before that was kept, the record's own instant (a little later)."""
    asked = getattr(record, "attributes_at", "")
    return timestamps.parse(asked) if asked else record.created_on


def compute_round(programme: MatchingProgramme, found: Found) -> ComputedRound:
    """The pure part of a round, shared by the live round and its replay.

    One code path on purpose: a replay that computed its own way could agree
    with a record the live code would no longer produce, or disagree for no
    reason. ``found``: the attributes of :func:`pool.members_to_fetch`.
    """
    try:
        mentees, mentors = pool.cohort(programme, found)
    except pool.MissingAttributes as error:
        raise AttributesUnavailable(str(error)) from None
    chain = pool.manager_links(list(found.values()))
    result = run_round(
        mentees, mentors, programme.matching_rules(), chain, programme.declined_pairs()
    )
    return ComputedRound(mentees, mentors, chain, result)


class MatchingApplication(ServiceApplication):
    name = "matching"
    #: A big programme's pool sees one event per enrolment and certification:
    #: snapshots keep loading it cheap for every decline and round.
    snapshotting_intervals = {MatchingProgramme: 200}

    def __init__(
        self, env: dict[str, str] | None = None, attributes: AttributeSource | None = None
    ) -> None:
        super().__init__(env)
        self.attributes: AttributeSource = attributes or _no_source

    def construct_read_model(self) -> ReadModel:
        return MatchingReadModel()

    @property
    def views(self) -> MatchingReadModel:
        """The caught-up read model, for single-threaded use (tests, tools)."""
        self.catch_up()
        assert isinstance(self.read_model, MatchingReadModel)
        return self.read_model

    # -- loading ---------------------------------------------------------------------
    def find_programme(self, programme_id: UUID) -> MatchingProgramme | None:
        found: MatchingProgramme | None = self.get_as(
            programme_key(programme_id), MatchingProgramme
        )
        return found

    def programme(self, programme_id: str) -> MatchingProgramme:
        found = self.find_programme(parse_id("programme_id", programme_id))
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def pool_of(self, programme_id: UUID) -> MatchingProgramme:
        """The pool, registered on first sight (consumers: events may come in any
        order across enrolment and training)."""
        return self.find_programme(programme_id) or MatchingProgramme(programme_id=programme_id)

    def match(self, match_id: str) -> Match:
        found: Match | None = self.get_as(parse_id("match_id", match_id), Match)
        if found is None:
            raise NotFound(f"match {match_id} not found")
        return found

    def round_record(self, round_id: str) -> MatchingRound:
        found: MatchingRound | None = self.get_as(parse_id("round_id", round_id), MatchingRound)
        if found is None:
            raise NotFound(f"round {round_id} not found")
        return found

    # -- policy ----------------------------------------------------------------------
    def set_policy(
        self, programme_id: str, change: policy.PolicyChange, expected_version: int = 0
    ) -> MatchingProgramme:
        programme = self.programme(programme_id)
        expect_version(programme, expected_version, "programme")
        new = change.applied_to(programme.policy)
        if new != programme.policy:
            programme.change_policy(new)
            self.save(programme)
        return programme

    # -- rounds ----------------------------------------------------------------------
    def run_round(self, programme_id: str, expected_version: int = 0) -> MatchingRound:
        """Propose pairs for every waiting mentee; one transaction, or nothing.

        The round number is the pool's next, and the round id derives from it,
        so a concurrent round for the same programme collides on the round id
        and on the pool version: one wins, the other is ABORTED. Any other pool
        change meanwhile (an enrolment, a decline) is not a reason to give up: the
        round is recomputed on the fresh pool, up to :data:`ROUND_ATTEMPTS` times
        (not when the caller pinned ``expected_version``).
        """
        for attempt in range(1, ROUND_ATTEMPTS + 1):
            programme = self.programme(programme_id)
            expect_version(programme, expected_version, "programme")
            rounds_before = programme.rounds
            try:
                return self._run_round(programme)
            except ConcurrencyConflict:
                fresh = self.programme(programme_id)
                if expected_version or fresh.rounds != rounds_before:
                    raise  # pinned, or another round won: the caller decides
                if attempt == ROUND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_round(self, programme: MatchingProgramme) -> MatchingRound:
        asked_at = timestamps.instant(datetime.now(UTC))  # a replay asks as of this instant
        found = self._fetch(pool.members_to_fetch(programme))
        done = compute_round(programme, found)
        number = programme.rounds + 1
        record_id = MatchingRound.create_id(programme.programme_id, number)
        matches = self._proposals(
            programme, record_id, done.result, done.mentees, done.mentors, done.chain
        )
        record = self._round_record(
            programme, number, done.result, len(done.mentees), len(done.mentors), matches, asked_at
        )
        programme.record_round(
            str(record.id), number, [[str(x.id), x.mentee_id, x.mentor_id] for x in matches]
        )
        self.save(programme, record, *matches)
        return record

    def _fetch(self, ids: Sequence[str], as_of: datetime | None = None) -> Found:
        if not ids:
            return {}
        if as_of is None:
            return self.attributes(ids)
        if not _answers_as_of(self.attributes):
            raise AttributesUnavailable(
                "the attribute source cannot answer for a past instant (as_of): "
                "a round can be replayed only against enrolment"
            )
        return self.attributes(ids, as_of=as_of)

    # -- replaying a recorded round (auditors) ------------------------------------------
    def replay_round(self, round_id: str) -> replay.Replay:
        return self.replay(self.round_record(round_id))

    def replay(self, record: MatchingRound) -> replay.Replay:
        """Re-run a recorded round from history and compare it with ``record``.

        Writes nothing. The pool is the programme aggregate at the version just
        before the event that recorded the round (``RoundRecorded`` with its
        number): exactly the pool the live round loaded, since that save would
        have failed on any other version. The attributes are asked of enrolment
        as of the instant the live round asked for them (``attributes_at``,
        taken just before its call; older records: the record's own instant).

        The race this leaves, reported and never hidden: a profile change
        created before that instant but committed only after enrolment read
        (or created during the call and committed before the read) differs
        between the live round and the replay, and shows as a different inputs
        digest (and maybe other pairs). So does skew between enrolment's clock
        and matching's. The window is the length of one call.
        """
        version = self._round_recorded_version(record)
        key = programme_key(record.programme_id)
        programme: MatchingProgramme = self.repository.get(key, version=version - 1)
        as_of = _asked_at(record)
        found = self._fetch(pool.members_to_fetch(programme), as_of)
        done = compute_round(programme, found)
        rerun = replay.Rerun(
            result=done.result,
            policy={**programme.policy, **programme.rules},
            mentees_considered=len(done.mentees),
            mentors_considered=len(done.mentors),
            programme_version=programme.version,
            attributes_as_of=as_of,
            erased=tuple(sorted(p for p, a in found.items() if a.get("status") == pool.ERASED)),
        )
        return replay.compare(record, rerun)

    def _round_recorded_version(self, record: MatchingRound) -> int:
        """The pool version of the event that recorded ``record`` in the pool."""
        key = programme_key(record.programme_id)
        for stored in self.repository.event_store.get(key):
            if (
                isinstance(stored, MatchingProgramme.RoundRecorded)
                and stored.round_number == record.round_number
            ):
                return int(stored.originator_version)
        raise IllegalTransition(
            f"the pool of programme {record.programme_id} holds no record of round "
            f"{record.round_number}: it cannot be replayed"
        )

    def _proposals(
        self,
        programme: MatchingProgramme,
        round_id: UUID,
        result: RoundResult,
        mentees: Sequence[Any],
        mentors: Sequence[Any],
        chain: Mapping[str, str],
    ) -> list[Match]:
        by_id = {c.participant_id: c for c in [*mentees, *mentors]}
        ctx = PairContext(
            programme.matching_rules(), ManagerChain(chain), programme.declined_pairs()
        )
        capacity = int(programme.rules["mentor_capacity"])
        taken: dict[str, int] = dict(programme.load)
        now, expires = _now(), _in_hours(int(programme.policy["response_window_hours"]))
        matches = []
        for proposal in result.proposals:
            mentee, mentor = by_id[proposal.mentee_id], by_id[proposal.mentor_id]
            load = taken.get(mentor.participant_id, 0)
            taken[mentor.participant_id] = load + 1
            checks = explain.pair_checks(mentee, mentor, ctx)
            checks += (explain.capacity_check(mentor.participant_id, load, capacity),)
            matches.append(
                Match(
                    id=round_match_id(round_id, proposal.mentee_id),
                    programme_id=programme.programme_id,
                    mentee_id=proposal.mentee_id,
                    mentor_id=proposal.mentor_id,
                    origin=m.ROUND,
                    round_id=str(round_id),
                    score=proposal.score,
                    breakdown=[_component(c) for c in proposal.breakdown],
                    checks=[c.as_dict() for c in checks],
                    override_justification="",
                    overridden=[],
                    proposed_at=now,
                    expires_at=expires,
                )
            )
        return matches

    def _round_record(
        self,
        programme: MatchingProgramme,
        number: int,
        result: RoundResult,
        n_mentees: int,
        n_mentors: int,
        matches: Sequence[Match],
        attributes_at: str = "",
    ) -> MatchingRound:
        return MatchingRound(
            programme_id=programme.programme_id,
            round_number=number,
            inputs_digest=result.inputs_digest,
            algorithm_version=result.algorithm_version,
            policy={**programme.policy, **programme.rules},
            mentees_considered=n_mentees,
            mentors_considered=n_mentors,
            proposals=[
                {
                    "match_id": str(x.id),
                    "mentee_id": x.mentee_id,
                    "mentor_id": x.mentor_id,
                    "score": x.score,
                }
                for x in matches
            ],
            unmatched=[
                {
                    "mentee_id": u.mentee_id,
                    "reasons": list(u.reasons),
                    "excluded_by": dict(u.excluded_by),
                }
                for u in result.unmatched
            ],
            ran_at=_now(),
            attributes_at=attributes_at,
        )

    # -- manual matches ----------------------------------------------------------------
    def propose_match(
        self,
        programme_id: str,
        mentee_id: str,
        mentor_id: str,
        overrides: Sequence[str] = (),
        justification: str = "",
    ) -> Match:
        """Pair two participants by hand; failed constraints need an override."""
        v = Violations()
        parse_id("programme_id", programme_id)
        for name, value in (("mentee_id", mentee_id), ("mentor_id", mentor_id)):
            try:
                parse_id(name, value)
            except ValidationFailed as error:
                v.items += error.violations
        policy.check_override(v, list(overrides), justification)
        v.raise_if_any()
        programme = self.programme(programme_id)
        self._require_role(programme, "mentee_id", mentee_id, MENTEE)
        self._require_role(programme, "mentor_id", mentor_id, MENTOR)
        if mentee_id in programme.taken:
            raise IllegalTransition(
                f"mentee {mentee_id} already has an open match {programme.taken[mentee_id]}:"
                " end or decline it first"
            )
        found = self._fetch(pool.members_to_fetch(programme))
        for pid in (mentee_id, mentor_id):
            if pid not in found:
                raise NotFound(f"participant {pid} not found at enrolment")
        mentee = pool.mentee_candidate(found[mentee_id], programme)
        mentor = pool.mentor_candidate(found[mentor_id], programme)
        rules = programme.matching_rules()
        ctx = PairContext(
            rules,
            ManagerChain(pool.manager_links(list(found.values()))),
            programme.declined_pairs(),
        )
        checks = explain.pair_checks(mentee, mentor, ctx, frozenset(overrides))
        load = programme.load.get(mentor_id, 0)
        checks += (explain.capacity_check(mentor_id, load, rules.mentor_capacity),)
        self._refuse_unless_allowed(checks, overrides)
        scored = score_pair(mentee, mentor, overlap_minutes(mentee, mentor, ctx), rules)
        record = Match(
            id=uuid4(),
            programme_id=programme.programme_id,
            mentee_id=mentee_id,
            mentor_id=mentor_id,
            origin=m.MANUAL,
            round_id="",
            score=scored.total,
            breakdown=[_component(c) for c in scored.components],
            checks=[c.as_dict() for c in checks],
            override_justification=justification.strip(),
            overridden=sorted(overrides),
            proposed_at=_now(),
            expires_at=_in_hours(int(programme.policy["response_window_hours"])),
        )
        programme.take(str(record.id), mentee_id, mentor_id)
        self.save(programme, record)
        return record

    @staticmethod
    def _require_role(programme: MatchingProgramme, field: str, pid: str, role: str) -> None:
        if programme.role_of(pid) != role:
            raise ValidationFailed(
                [FieldViolation(field, f"must be a {role} of programme {programme.programme_id}")]
            )

    @staticmethod
    def _refuse_unless_allowed(checks: Sequence[explain.Check], overrides: Sequence[str]) -> None:
        failed = {c.code for c in checks if not c.passed}
        unused = [code for code in overrides if code not in failed]
        if unused:
            raise ValidationFailed(
                [FieldViolation("override.constraints", f"{', '.join(unused)} did not fail")]
            )
        blocking = explain.blocking(checks)
        if blocking:
            overridable = [c for c in blocking if c.code in explain.OVERRIDABLE]
            hint = " (override with a justification)" if overridable == blocking else ""
            sentences = "; ".join(c.explanation for c in blocking)
            raise IllegalTransition(f"the pair fails: {sentences}{hint}")

    # -- answers and ends ----------------------------------------------------------------
    def respond(
        self,
        match_id: str,
        participant_id: str,
        accept: bool,
        reason: str = "",
        expected_version: int = 0,
    ) -> Match:
        v = Violations()
        if not accept:
            policy.check_reason(v, "reason", reason)
        v.raise_if_any()
        record = self.match(match_id)
        expect_version(record, expected_version, "match")
        if accept:
            if record.accept(participant_id, _now()):
                self.save(record)
            return record
        record.decline(participant_id, reason.strip(), _now())
        programme = self.programme(str(record.programme_id))
        programme.release(str(record.id), record.mentee_id, record.mentor_id, m.DECLINED)
        self.save(programme, record)
        return record

    def end_match(
        self, match_id: str, outcome: str, reason: str = "", expected_version: int = 0
    ) -> Match:
        v = Violations()
        v.check(outcome in (m.COMPLETED, m.DISSOLVED), "outcome", "must be completed or dissolved")
        policy.check_reason(v, "reason", reason, required=outcome == m.DISSOLVED)
        v.raise_if_any()
        record = self.match(match_id)
        expect_version(record, expected_version, "match")
        record.end(outcome, reason.strip(), _now())
        programme = self.programme(str(record.programme_id))
        programme.release(str(record.id), record.mentee_id, record.mentor_id, outcome)
        self.save(programme, record)
        return record

    def expire_due(self, now: datetime) -> int:
        """Expire every proposal past its response window, each exactly once.

        Restart-safe: due proposals are found in the store (read model), and an
        expiry is an event of the match, so a restarted or second checker finds
        nothing left to do, and a checker racing an answer loses on the version.
        Returns how many this call expired.
        """
        stamp = _stamp(now)
        due = self.query(lambda model: model.due_proposals(stamp))
        by_programme: dict[str, list[str]] = {}
        for match_id, programme_id in due:
            by_programme.setdefault(programme_id, []).append(match_id)
        expired = 0
        ctx = current()
        with acting_as(RequestContext(EXPIRY_ACTOR, ctx.correlation_id, ctx.causation_id)):
            for programme_id, match_ids in sorted(by_programme.items()):
                try:
                    expired += self._expire_in(programme_id, match_ids, stamp)
                except ConcurrencyConflict:
                    continue  # answered, or expired by another replica: next pass
                except Exception:
                    log.exception("matching: expiring proposals of %s failed", programme_id)
        return expired

    def _expire_in(self, programme_id: str, match_ids: list[str], stamp: str) -> int:
        """One programme's due proposals: one pool load, one save."""
        programme = self.programme(programme_id)
        records = []
        for match_id in match_ids:
            record = self.match(match_id)
            if record.expire(stamp):
                programme.release(str(record.id), record.mentee_id, record.mentor_id, m.EXPIRED)
                records.append(record)
        if records:
            self.save(programme, *records)
        return len(records)

    # -- consumed upstream facts ------------------------------------------------------------
    def close_open_matches(
        self, programme: MatchingProgramme, participant_id: str, cause: str
    ) -> list[Match]:
        """Cancel or dissolve the participant's open matches; release their places."""
        closed = []
        for match_id in self.query(lambda model: model.open_match_ids(participant_id)):
            record = self.match(match_id)
            if record.close_for(cause, _now()):
                programme.release(str(record.id), record.mentee_id, record.mentor_id, m.CANCELLED)
                closed.append(record)
        return closed

    def erase_participant(self, participant_id: str) -> None:
        """Crypto-shred the explanations and reasons of every match they were in."""
        for match_id in self.query(lambda model: model.match_ids_of(participant_id)):
            self.keys.destroy(match_id)
        self.keys.destroy(participant_id)

    # -- queries ----------------------------------------------------------------------------
    def pool_counts(self, programme_id: str) -> tuple[MatchingProgramme, dict[str, int]]:
        programme = self.programme(programme_id)
        return programme, programme.pool_counts()

    def matches(
        self, programme_id: str = "", participant_id: str = "", status: str = ""
    ) -> list[dict[str, Any]]:
        v = Violations()
        v.check(
            bool(programme_id) != bool(participant_id),
            "programme_id",
            "give exactly one of programme_id and participant_id",
        )
        v.check(not status or status in m.STATUSES, "status", "is not a match status")
        v.raise_if_any()
        if programme_id:
            pid = str(self.programme(programme_id).programme_id)
            return self.query(lambda model: model.matches_of_programme(pid, status))
        parse_id("participant_id", participant_id)
        return self.query(lambda model: model.matches_of_participant(participant_id, status))

    def rounds(self, programme_id: str) -> list[dict[str, Any]]:
        pid = str(self.programme(programme_id).programme_id)
        return self.query(lambda model: model.rounds_of(pid))

    def unmatched(self, programme_id: str) -> list[dict[str, Any]]:
        """Waiting mentees with the latest round's reasons (none if never considered)."""
        programme = self.programme(programme_id)
        waiting = programme.waiting_mentees()
        return self.query(lambda model: [model.unmatched_reasons(pid) for pid in waiting])

    def export_participant(self, participant_id: str) -> dict[str, Any]:
        """Everything matching holds about one participant (GDPR art. 15/20)."""
        parse_id("participant_id", participant_id)
        ids = self.query(lambda model: model.match_ids_of(participant_id))
        if not ids:
            raise NotFound(f"participant {participant_id} has no matches")
        return {
            "service": self.name,
            "participant_id": participant_id,
            "matches": [
                {"match_id": match_id, "history": self.event_history(UUID(match_id))}
                for match_id in ids
            ],
        }


def _component(component: Any) -> dict[str, Any]:
    return {
        "name": component.name,
        "value": component.value,
        "weight": component.weight,
        "contribution": component.contribution,
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _now() -> str:
    return _stamp(datetime.now(UTC))


def _in_hours(hours: int) -> str:
    return _stamp(datetime.now(UTC) + timedelta(hours=hours))
