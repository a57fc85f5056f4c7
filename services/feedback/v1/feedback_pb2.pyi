from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SurveyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SURVEY_KIND_UNSPECIFIED: _ClassVar[SurveyKind]
    SURVEY_KIND_BASELINE: _ClassVar[SurveyKind]
    SURVEY_KIND_END: _ClassVar[SurveyKind]
SURVEY_KIND_UNSPECIFIED: SurveyKind
SURVEY_KIND_BASELINE: SurveyKind
SURVEY_KIND_END: SurveyKind

class FeedbackPolicy(_message.Message):
    __slots__ = ("programme_id", "feedback_window_days", "min_group_size", "topics", "version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    MIN_GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    feedback_window_days: int
    min_group_size: int
    topics: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, programme_id: _Optional[str] = ..., feedback_window_days: _Optional[int] = ..., min_group_size: _Optional[int] = ..., topics: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ...) -> None: ...

class SetFeedbackPolicyRequest(_message.Message):
    __slots__ = ("programme_id", "feedback_window_days", "min_group_size", "expected_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    MIN_GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    feedback_window_days: int
    min_group_size: int
    expected_version: int
    def __init__(self, programme_id: _Optional[str] = ..., feedback_window_days: _Optional[int] = ..., min_group_size: _Optional[int] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetFeedbackPolicyRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class Ratings(_message.Message):
    __slots__ = ("usefulness", "topics", "confidence", "pedagogy", "submitted_at")
    USEFULNESS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PEDAGOGY_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    usefulness: int
    topics: _containers.RepeatedScalarFieldContainer[str]
    confidence: int
    pedagogy: int
    submitted_at: str
    def __init__(self, usefulness: _Optional[int] = ..., topics: _Optional[_Iterable[str]] = ..., confidence: _Optional[int] = ..., pedagogy: _Optional[int] = ..., submitted_at: _Optional[str] = ...) -> None: ...

class Answers(_message.Message):
    __slots__ = ("ratings", "practices", "note")
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    PRACTICES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ratings: Ratings
    practices: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, ratings: _Optional[_Union[Ratings, _Mapping]] = ..., practices: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class SubmitFeedbackRequest(_message.Message):
    __slots__ = ("session_id", "participant_id", "answers", "expected_version")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    participant_id: str
    answers: Answers
    expected_version: int
    def __init__(self, session_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., answers: _Optional[_Union[Answers, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SessionFeedback(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "held_at", "due_at", "closed", "revealed", "own", "other", "answered", "version", "voided")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    REVEALED_FIELD_NUMBER: _ClassVar[int]
    OWN_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VOIDED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    held_at: str
    due_at: str
    closed: bool
    revealed: bool
    own: Answers
    other: Ratings
    answered: _containers.RepeatedScalarFieldContainer[str]
    version: int
    voided: bool
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., held_at: _Optional[str] = ..., due_at: _Optional[str] = ..., closed: _Optional[bool] = ..., revealed: _Optional[bool] = ..., own: _Optional[_Union[Answers, _Mapping]] = ..., other: _Optional[_Union[Ratings, _Mapping]] = ..., answered: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., voided: _Optional[bool] = ...) -> None: ...

class GetSessionFeedbackRequest(_message.Message):
    __slots__ = ("session_id", "participant_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    participant_id: str
    def __init__(self, session_id: _Optional[str] = ..., participant_id: _Optional[str] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "due_at", "answered", "closed")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    due_at: str
    answered: bool
    closed: bool
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., due_at: _Optional[str] = ..., answered: _Optional[bool] = ..., closed: _Optional[bool] = ...) -> None: ...

class ListFeedbackRequestsRequest(_message.Message):
    __slots__ = ("participant_id", "open_only", "page_size", "page_token")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    open_only: bool
    page_size: int
    page_token: str
    def __init__(self, participant_id: _Optional[str] = ..., open_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFeedbackRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token", "total_size")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[FeedbackRequest]
    next_page_token: str
    total_size: int
    def __init__(self, requests: _Optional[_Iterable[_Union[FeedbackRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class SurveyAnswers(_message.Message):
    __slots__ = ("understanding", "recommend", "skills", "coaching_confidence", "pedagogy")
    class SkillsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    UNDERSTANDING_FIELD_NUMBER: _ClassVar[int]
    RECOMMEND_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    COACHING_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PEDAGOGY_FIELD_NUMBER: _ClassVar[int]
    understanding: int
    recommend: int
    skills: _containers.ScalarMap[str, int]
    coaching_confidence: int
    pedagogy: int
    def __init__(self, understanding: _Optional[int] = ..., recommend: _Optional[int] = ..., skills: _Optional[_Mapping[str, int]] = ..., coaching_confidence: _Optional[int] = ..., pedagogy: _Optional[int] = ...) -> None: ...

class SubmitSurveyRequest(_message.Message):
    __slots__ = ("survey_id", "answers")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    answers: SurveyAnswers
    def __init__(self, survey_id: _Optional[str] = ..., answers: _Optional[_Union[SurveyAnswers, _Mapping]] = ...) -> None: ...

class Survey(_message.Message):
    __slots__ = ("survey_id", "programme_id", "match_id", "participant_id", "kind", "topics", "requested_at", "completed_at", "answers")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    programme_id: str
    match_id: str
    participant_id: str
    kind: SurveyKind
    topics: _containers.RepeatedScalarFieldContainer[str]
    requested_at: str
    completed_at: str
    answers: SurveyAnswers
    def __init__(self, survey_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., match_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., kind: _Optional[_Union[SurveyKind, str]] = ..., topics: _Optional[_Iterable[str]] = ..., requested_at: _Optional[str] = ..., completed_at: _Optional[str] = ..., answers: _Optional[_Union[SurveyAnswers, _Mapping]] = ...) -> None: ...

class GetSurveyRequest(_message.Message):
    __slots__ = ("survey_id",)
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    def __init__(self, survey_id: _Optional[str] = ...) -> None: ...

class ListSurveysRequest(_message.Message):
    __slots__ = ("participant_id", "open_only", "page_size", "page_token")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    open_only: bool
    page_size: int
    page_token: str
    def __init__(self, participant_id: _Optional[str] = ..., open_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSurveysResponse(_message.Message):
    __slots__ = ("surveys", "next_page_token", "total_size")
    SURVEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    surveys: _containers.RepeatedCompositeFieldContainer[Survey]
    next_page_token: str
    total_size: int
    def __init__(self, surveys: _Optional[_Iterable[_Union[Survey, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class Figure(_message.Message):
    __slots__ = ("value", "people", "suppressed")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    value: float
    people: int
    suppressed: bool
    def __init__(self, value: _Optional[float] = ..., people: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class Change(_message.Message):
    __slots__ = ("mean", "distribution")
    class DistributionEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    MEAN_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    mean: Figure
    distribution: _containers.ScalarMap[int, int]
    def __init__(self, mean: _Optional[_Union[Figure, _Mapping]] = ..., distribution: _Optional[_Mapping[int, int]] = ...) -> None: ...

class FunnelStage(_message.Message):
    __slots__ = ("stage", "count", "role")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    count: Figure
    role: str
    def __init__(self, stage: _Optional[str] = ..., count: _Optional[_Union[Figure, _Mapping]] = ..., role: _Optional[str] = ...) -> None: ...

class OutcomesReport(_message.Message):
    __slots__ = ("programme_id", "generated_at", "min_group_size", "funnel", "sessions_held", "average_usefulness", "nps", "mentee_skill_change", "mentor_pedagogy_change", "mentor_confidence_change", "understanding_change", "days_enrolment_to_first_session", "sessions")
    class MenteeSkillChangeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Change
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Change, _Mapping]] = ...) -> None: ...
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    MIN_GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_HELD_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_USEFULNESS_FIELD_NUMBER: _ClassVar[int]
    NPS_FIELD_NUMBER: _ClassVar[int]
    MENTEE_SKILL_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MENTOR_PEDAGOGY_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MENTOR_CONFIDENCE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    UNDERSTANDING_CHANGE_FIELD_NUMBER: _ClassVar[int]
    DAYS_ENROLMENT_TO_FIRST_SESSION_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    generated_at: str
    min_group_size: int
    funnel: _containers.RepeatedCompositeFieldContainer[FunnelStage]
    sessions_held: int
    average_usefulness: Figure
    nps: Figure
    mentee_skill_change: _containers.MessageMap[str, Change]
    mentor_pedagogy_change: Change
    mentor_confidence_change: Change
    understanding_change: Change
    days_enrolment_to_first_session: Figure
    sessions: Figure
    def __init__(self, programme_id: _Optional[str] = ..., generated_at: _Optional[str] = ..., min_group_size: _Optional[int] = ..., funnel: _Optional[_Iterable[_Union[FunnelStage, _Mapping]]] = ..., sessions_held: _Optional[int] = ..., average_usefulness: _Optional[_Union[Figure, _Mapping]] = ..., nps: _Optional[_Union[Figure, _Mapping]] = ..., mentee_skill_change: _Optional[_Mapping[str, Change]] = ..., mentor_pedagogy_change: _Optional[_Union[Change, _Mapping]] = ..., mentor_confidence_change: _Optional[_Union[Change, _Mapping]] = ..., understanding_change: _Optional[_Union[Change, _Mapping]] = ..., days_enrolment_to_first_session: _Optional[_Union[Figure, _Mapping]] = ..., sessions: _Optional[_Union[Figure, _Mapping]] = ...) -> None: ...

class GetOutcomesReportRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class PairAtRisk(_message.Message):
    __slots__ = ("mentorship_id", "mentee_id", "mentor_id", "reasons", "codes", "flagged_at")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_AT_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    mentee_id: str
    mentor_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    codes: _containers.RepeatedScalarFieldContainer[str]
    flagged_at: str
    def __init__(self, mentorship_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., codes: _Optional[_Iterable[str]] = ..., flagged_at: _Optional[str] = ...) -> None: ...

class ListPairsAtRiskRequest(_message.Message):
    __slots__ = ("programme_id", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPairsAtRiskResponse(_message.Message):
    __slots__ = ("pairs", "next_page_token", "total_size")
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[PairAtRisk]
    next_page_token: str
    total_size: int
    def __init__(self, pairs: _Optional[_Iterable[_Union[PairAtRisk, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

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
