from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class FeedbackRequested(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "due_at", "mentee_id", "mentor_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    due_at: str
    mentee_id: str
    mentor_id: str
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., due_at: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ...) -> None: ...

class FeedbackWithdrawn(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class FeedbackSubmitted(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "participant_id", "side", "usefulness", "topics", "edit", "confidence", "pedagogy")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    USEFULNESS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PEDAGOGY_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    participant_id: str
    side: str
    usefulness: int
    topics: _containers.RepeatedScalarFieldContainer[str]
    edit: bool
    confidence: int
    pedagogy: int
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., side: _Optional[str] = ..., usefulness: _Optional[int] = ..., topics: _Optional[_Iterable[str]] = ..., edit: _Optional[bool] = ..., confidence: _Optional[int] = ..., pedagogy: _Optional[int] = ...) -> None: ...

class SurveyCompleted(_message.Message):
    __slots__ = ("survey_id", "programme_id", "match_id", "participant_id", "kind")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    programme_id: str
    match_id: str
    participant_id: str
    kind: str
    def __init__(self, survey_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., match_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class SurveyRequested(_message.Message):
    __slots__ = ("survey_id", "programme_id", "match_id", "participant_id", "kind")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    programme_id: str
    match_id: str
    participant_id: str
    kind: str
    def __init__(self, survey_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., match_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class PairFlaggedAtRisk(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "mentee_id", "mentor_id", "reasons")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class PairRiskCleared(_message.Message):
    __slots__ = ("mentorship_id", "programme_id")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ...) -> None: ...
