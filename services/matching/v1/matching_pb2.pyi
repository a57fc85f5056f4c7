from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_STATUS_UNSPECIFIED: _ClassVar[MatchStatus]
    MATCH_STATUS_PROPOSED: _ClassVar[MatchStatus]
    MATCH_STATUS_CONFIRMED: _ClassVar[MatchStatus]
    MATCH_STATUS_DECLINED: _ClassVar[MatchStatus]
    MATCH_STATUS_EXPIRED: _ClassVar[MatchStatus]
    MATCH_STATUS_CANCELLED: _ClassVar[MatchStatus]
    MATCH_STATUS_COMPLETED: _ClassVar[MatchStatus]
    MATCH_STATUS_DISSOLVED: _ClassVar[MatchStatus]

class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIGIN_UNSPECIFIED: _ClassVar[Origin]
    ORIGIN_ROUND: _ClassVar[Origin]
    ORIGIN_MANUAL: _ClassVar[Origin]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_ACCEPT: _ClassVar[Decision]
    DECISION_DECLINE: _ClassVar[Decision]

class Answer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_UNSPECIFIED: _ClassVar[Answer]
    ANSWER_PENDING: _ClassVar[Answer]
    ANSWER_ACCEPTED: _ClassVar[Answer]
    ANSWER_DECLINED: _ClassVar[Answer]

class EndOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    END_OUTCOME_UNSPECIFIED: _ClassVar[EndOutcome]
    END_OUTCOME_COMPLETED: _ClassVar[EndOutcome]
    END_OUTCOME_DISSOLVED: _ClassVar[EndOutcome]
MATCH_STATUS_UNSPECIFIED: MatchStatus
MATCH_STATUS_PROPOSED: MatchStatus
MATCH_STATUS_CONFIRMED: MatchStatus
MATCH_STATUS_DECLINED: MatchStatus
MATCH_STATUS_EXPIRED: MatchStatus
MATCH_STATUS_CANCELLED: MatchStatus
MATCH_STATUS_COMPLETED: MatchStatus
MATCH_STATUS_DISSOLVED: MatchStatus
ORIGIN_UNSPECIFIED: Origin
ORIGIN_ROUND: Origin
ORIGIN_MANUAL: Origin
DECISION_UNSPECIFIED: Decision
DECISION_ACCEPT: Decision
DECISION_DECLINE: Decision
ANSWER_UNSPECIFIED: Answer
ANSWER_PENDING: Answer
ANSWER_ACCEPTED: Answer
ANSWER_DECLINED: Answer
END_OUTCOME_UNSPECIFIED: EndOutcome
END_OUTCOME_COMPLETED: EndOutcome
END_OUTCOME_DISSOLVED: EndOutcome

class Weights(_message.Message):
    __slots__ = ("coverage", "availability", "age_gap", "cross_department", "same_site")
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    AGE_GAP_FIELD_NUMBER: _ClassVar[int]
    CROSS_DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    SAME_SITE_FIELD_NUMBER: _ClassVar[int]
    coverage: float
    availability: float
    age_gap: float
    cross_department: float
    same_site: float
    def __init__(self, coverage: _Optional[float] = ..., availability: _Optional[float] = ..., age_gap: _Optional[float] = ..., cross_department: _Optional[float] = ..., same_site: _Optional[float] = ...) -> None: ...

class MatchingPolicy(_message.Message):
    __slots__ = ("programme_id", "weights", "target_age_gap_years", "min_weekly_overlap_minutes", "response_window_hours", "min_age_gap_years", "mentor_capacity", "same_department_allowed", "version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_AGE_GAP_YEARS_FIELD_NUMBER: _ClassVar[int]
    MIN_WEEKLY_OVERLAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_WINDOW_HOURS_FIELD_NUMBER: _ClassVar[int]
    MIN_AGE_GAP_YEARS_FIELD_NUMBER: _ClassVar[int]
    MENTOR_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SAME_DEPARTMENT_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    weights: Weights
    target_age_gap_years: int
    min_weekly_overlap_minutes: int
    response_window_hours: int
    min_age_gap_years: int
    mentor_capacity: int
    same_department_allowed: bool
    version: int
    def __init__(self, programme_id: _Optional[str] = ..., weights: _Optional[_Union[Weights, _Mapping]] = ..., target_age_gap_years: _Optional[int] = ..., min_weekly_overlap_minutes: _Optional[int] = ..., response_window_hours: _Optional[int] = ..., min_age_gap_years: _Optional[int] = ..., mentor_capacity: _Optional[int] = ..., same_department_allowed: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class PolicyChange(_message.Message):
    __slots__ = ("weights", "target_age_gap_years", "min_weekly_overlap_minutes", "response_window_hours")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_AGE_GAP_YEARS_FIELD_NUMBER: _ClassVar[int]
    MIN_WEEKLY_OVERLAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_WINDOW_HOURS_FIELD_NUMBER: _ClassVar[int]
    weights: Weights
    target_age_gap_years: int
    min_weekly_overlap_minutes: int
    response_window_hours: int
    def __init__(self, weights: _Optional[_Union[Weights, _Mapping]] = ..., target_age_gap_years: _Optional[int] = ..., min_weekly_overlap_minutes: _Optional[int] = ..., response_window_hours: _Optional[int] = ...) -> None: ...

class SetMatchingPolicyRequest(_message.Message):
    __slots__ = ("programme_id", "change", "expected_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    change: PolicyChange
    expected_version: int
    def __init__(self, programme_id: _Optional[str] = ..., change: _Optional[_Union[PolicyChange, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetMatchingPolicyRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class GetCandidatePoolRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class CandidatePool(_message.Message):
    __slots__ = ("programme_id", "mentors", "certified_mentors", "mentees", "mentees_proposed", "mentees_matched", "mentees_unmatched", "free_mentor_places", "version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORS_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_MENTORS_FIELD_NUMBER: _ClassVar[int]
    MENTEES_FIELD_NUMBER: _ClassVar[int]
    MENTEES_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    MENTEES_MATCHED_FIELD_NUMBER: _ClassVar[int]
    MENTEES_UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    FREE_MENTOR_PLACES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    mentors: int
    certified_mentors: int
    mentees: int
    mentees_proposed: int
    mentees_matched: int
    mentees_unmatched: int
    free_mentor_places: int
    version: int
    def __init__(self, programme_id: _Optional[str] = ..., mentors: _Optional[int] = ..., certified_mentors: _Optional[int] = ..., mentees: _Optional[int] = ..., mentees_proposed: _Optional[int] = ..., mentees_matched: _Optional[int] = ..., mentees_unmatched: _Optional[int] = ..., free_mentor_places: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class RunRoundRequest(_message.Message):
    __slots__ = ("programme_id", "expected_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    expected_version: int
    def __init__(self, programme_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ScoreComponent(_message.Message):
    __slots__ = ("name", "value", "weight", "contribution")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    weight: float
    contribution: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., weight: _Optional[float] = ..., contribution: _Optional[float] = ...) -> None: ...

class UnmatchedMentee(_message.Message):
    __slots__ = ("mentee_id", "reasons", "excluded_by", "round_id")
    class ExcludedByEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_BY_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    mentee_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    excluded_by: _containers.ScalarMap[str, int]
    round_id: str
    def __init__(self, mentee_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., excluded_by: _Optional[_Mapping[str, int]] = ..., round_id: _Optional[str] = ...) -> None: ...

class Round(_message.Message):
    __slots__ = ("round_id", "programme_id", "round_number", "inputs_digest", "algorithm_version", "weights", "policy", "mentees_considered", "mentors_considered", "proposed", "total_score", "proposals", "unmatched", "ran_at", "ran_by")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INPUTS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    MENTEES_CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    MENTORS_CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    RAN_AT_FIELD_NUMBER: _ClassVar[int]
    RAN_BY_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    programme_id: str
    round_number: int
    inputs_digest: str
    algorithm_version: str
    weights: Weights
    policy: MatchingPolicy
    mentees_considered: int
    mentors_considered: int
    proposed: int
    total_score: float
    proposals: _containers.RepeatedCompositeFieldContainer[Match]
    unmatched: _containers.RepeatedCompositeFieldContainer[UnmatchedMentee]
    ran_at: str
    ran_by: str
    def __init__(self, round_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., round_number: _Optional[int] = ..., inputs_digest: _Optional[str] = ..., algorithm_version: _Optional[str] = ..., weights: _Optional[_Union[Weights, _Mapping]] = ..., policy: _Optional[_Union[MatchingPolicy, _Mapping]] = ..., mentees_considered: _Optional[int] = ..., mentors_considered: _Optional[int] = ..., proposed: _Optional[int] = ..., total_score: _Optional[float] = ..., proposals: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., unmatched: _Optional[_Iterable[_Union[UnmatchedMentee, _Mapping]]] = ..., ran_at: _Optional[str] = ..., ran_by: _Optional[str] = ...) -> None: ...

class GetRoundRequest(_message.Message):
    __slots__ = ("round_id",)
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    def __init__(self, round_id: _Optional[str] = ...) -> None: ...

class ReplayRoundRequest(_message.Message):
    __slots__ = ("round_id",)
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    def __init__(self, round_id: _Optional[str] = ...) -> None: ...

class RoundPair(_message.Message):
    __slots__ = ("mentee_id", "mentor_id", "score")
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    mentee_id: str
    mentor_id: str
    score: float
    def __init__(self, mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class RoundReplay(_message.Message):
    __slots__ = ("round_id", "programme_id", "round_number", "ran_at", "attributes_as_of", "programme_version", "recorded_inputs_digest", "replayed_inputs_digest", "recorded_algorithm_version", "current_algorithm_version", "recorded_pairs", "replayed_pairs", "recorded_unmatched", "replayed_unmatched", "identical", "differences")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RAN_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_AS_OF_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_INPUTS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_INPUTS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RECORDED_ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_PAIRS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_PAIRS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    IDENTICAL_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    programme_id: str
    round_number: int
    ran_at: str
    attributes_as_of: str
    programme_version: int
    recorded_inputs_digest: str
    replayed_inputs_digest: str
    recorded_algorithm_version: str
    current_algorithm_version: str
    recorded_pairs: _containers.RepeatedCompositeFieldContainer[RoundPair]
    replayed_pairs: _containers.RepeatedCompositeFieldContainer[RoundPair]
    recorded_unmatched: _containers.RepeatedScalarFieldContainer[str]
    replayed_unmatched: _containers.RepeatedScalarFieldContainer[str]
    identical: bool
    differences: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, round_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., round_number: _Optional[int] = ..., ran_at: _Optional[str] = ..., attributes_as_of: _Optional[str] = ..., programme_version: _Optional[int] = ..., recorded_inputs_digest: _Optional[str] = ..., replayed_inputs_digest: _Optional[str] = ..., recorded_algorithm_version: _Optional[str] = ..., current_algorithm_version: _Optional[str] = ..., recorded_pairs: _Optional[_Iterable[_Union[RoundPair, _Mapping]]] = ..., replayed_pairs: _Optional[_Iterable[_Union[RoundPair, _Mapping]]] = ..., recorded_unmatched: _Optional[_Iterable[str]] = ..., replayed_unmatched: _Optional[_Iterable[str]] = ..., identical: _Optional[bool] = ..., differences: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRoundsRequest(_message.Message):
    __slots__ = ("programme_id", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoundsResponse(_message.Message):
    __slots__ = ("rounds", "next_page_token", "total_size")
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    rounds: _containers.RepeatedCompositeFieldContainer[Round]
    next_page_token: str
    total_size: int
    def __init__(self, rounds: _Optional[_Iterable[_Union[Round, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class Override(_message.Message):
    __slots__ = ("constraints", "justification")
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    constraints: _containers.RepeatedScalarFieldContainer[str]
    justification: str
    def __init__(self, constraints: _Optional[_Iterable[str]] = ..., justification: _Optional[str] = ...) -> None: ...

class ProposeMatchRequest(_message.Message):
    __slots__ = ("programme_id", "mentee_id", "mentor_id", "override")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    mentee_id: str
    mentor_id: str
    override: Override
    def __init__(self, programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., override: _Optional[_Union[Override, _Mapping]] = ...) -> None: ...

class RespondToProposalRequest(_message.Message):
    __slots__ = ("match_id", "participant_id", "decision", "reason", "expected_version")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    participant_id: str
    decision: Decision
    reason: str
    expected_version: int
    def __init__(self, match_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class EndMatchRequest(_message.Message):
    __slots__ = ("match_id", "outcome", "reason", "expected_version")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    outcome: EndOutcome
    reason: str
    expected_version: int
    def __init__(self, match_id: _Optional[str] = ..., outcome: _Optional[_Union[EndOutcome, str]] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class Check(_message.Message):
    __slots__ = ("code", "passed", "overridden", "explanation")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    code: str
    passed: bool
    overridden: bool
    explanation: str
    def __init__(self, code: _Optional[str] = ..., passed: _Optional[bool] = ..., overridden: _Optional[bool] = ..., explanation: _Optional[str] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("match_id", "programme_id", "mentee_id", "mentor_id", "status", "origin", "round_id", "score", "breakdown", "checks", "mentee_answer", "mentor_answer", "proposed_at", "expires_at", "confirmed_at", "ended_at", "decline_reason", "end_reason", "override_justification", "version")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ANSWER_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ANSWER_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    DECLINE_REASON_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    status: MatchStatus
    origin: Origin
    round_id: str
    score: float
    breakdown: _containers.RepeatedCompositeFieldContainer[ScoreComponent]
    checks: _containers.RepeatedCompositeFieldContainer[Check]
    mentee_answer: Answer
    mentor_answer: Answer
    proposed_at: str
    expires_at: str
    confirmed_at: str
    ended_at: str
    decline_reason: str
    end_reason: str
    override_justification: str
    version: int
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., status: _Optional[_Union[MatchStatus, str]] = ..., origin: _Optional[_Union[Origin, str]] = ..., round_id: _Optional[str] = ..., score: _Optional[float] = ..., breakdown: _Optional[_Iterable[_Union[ScoreComponent, _Mapping]]] = ..., checks: _Optional[_Iterable[_Union[Check, _Mapping]]] = ..., mentee_answer: _Optional[_Union[Answer, str]] = ..., mentor_answer: _Optional[_Union[Answer, str]] = ..., proposed_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., confirmed_at: _Optional[str] = ..., ended_at: _Optional[str] = ..., decline_reason: _Optional[str] = ..., end_reason: _Optional[str] = ..., override_justification: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetMatchRequest(_message.Message):
    __slots__ = ("match_id",)
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    def __init__(self, match_id: _Optional[str] = ...) -> None: ...

class ListMatchesRequest(_message.Message):
    __slots__ = ("programme_id", "participant_id", "status", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    participant_id: str
    status: MatchStatus
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., status: _Optional[_Union[MatchStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMatchesResponse(_message.Message):
    __slots__ = ("matches", "next_page_token", "total_size")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    next_page_token: str
    total_size: int
    def __init__(self, matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListUnmatchedMenteesRequest(_message.Message):
    __slots__ = ("programme_id", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUnmatchedMenteesResponse(_message.Message):
    __slots__ = ("mentees", "next_page_token", "total_size")
    MENTEES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    mentees: _containers.RepeatedCompositeFieldContainer[UnmatchedMentee]
    next_page_token: str
    total_size: int
    def __init__(self, mentees: _Optional[_Iterable[_Union[UnmatchedMentee, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ExportParticipantDataRequest(_message.Message):
    __slots__ = ("participant_id",)
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    def __init__(self, participant_id: _Optional[str] = ...) -> None: ...

class ParticipantDataExport(_message.Message):
    __slots__ = ("participant_id", "service", "exported_at", "document_json")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    service: str
    exported_at: str
    document_json: str
    def __init__(self, participant_id: _Optional[str] = ..., service: _Optional[str] = ..., exported_at: _Optional[str] = ..., document_json: _Optional[str] = ...) -> None: ...
