from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProgrammeRulesFacts(_message.Message):
    __slots__ = ("min_age_gap_years", "mentor_capacity", "planned_sessions", "session_minutes", "same_department_allowed")
    MIN_AGE_GAP_YEARS_FIELD_NUMBER: _ClassVar[int]
    MENTOR_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    PLANNED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SESSION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SAME_DEPARTMENT_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    min_age_gap_years: int
    mentor_capacity: int
    planned_sessions: int
    session_minutes: int
    same_department_allowed: bool
    def __init__(self, min_age_gap_years: _Optional[int] = ..., mentor_capacity: _Optional[int] = ..., planned_sessions: _Optional[int] = ..., session_minutes: _Optional[int] = ..., same_department_allowed: _Optional[bool] = ...) -> None: ...

class ProgrammeCreated(_message.Message):
    __slots__ = ("programme_id", "topic_codes", "rules", "start_date", "end_date")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_CODES_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    topic_codes: _containers.RepeatedScalarFieldContainer[str]
    rules: ProgrammeRulesFacts
    start_date: str
    end_date: str
    def __init__(self, programme_id: _Optional[str] = ..., topic_codes: _Optional[_Iterable[str]] = ..., rules: _Optional[_Union[ProgrammeRulesFacts, _Mapping]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class ProgrammeEnrolmentOpened(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class ProgrammeEnrolmentClosed(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class ProgrammeLaunched(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class ProgrammeClosed(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class TopicPriority(_message.Message):
    __slots__ = ("topic", "priority")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    topic: str
    priority: int
    def __init__(self, topic: _Optional[str] = ..., priority: _Optional[int] = ...) -> None: ...

class ParticipantEnrolled(_message.Message):
    __slots__ = ("participant_id", "programme_id", "role", "skills_offered", "learning_needs", "meeting_preference")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_OFFERED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_NEEDS_FIELD_NUMBER: _ClassVar[int]
    MEETING_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    role: str
    skills_offered: _containers.RepeatedScalarFieldContainer[str]
    learning_needs: _containers.RepeatedCompositeFieldContainer[TopicPriority]
    meeting_preference: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., role: _Optional[str] = ..., skills_offered: _Optional[_Iterable[str]] = ..., learning_needs: _Optional[_Iterable[_Union[TopicPriority, _Mapping]]] = ..., meeting_preference: _Optional[str] = ...) -> None: ...

class ParticipantProfileUpdated(_message.Message):
    __slots__ = ("participant_id", "programme_id", "changed_fields", "skills_offered", "learning_needs", "meeting_preference")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    SKILLS_OFFERED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_NEEDS_FIELD_NUMBER: _ClassVar[int]
    MEETING_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    skills_offered: _containers.RepeatedScalarFieldContainer[str]
    learning_needs: _containers.RepeatedCompositeFieldContainer[TopicPriority]
    meeting_preference: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., skills_offered: _Optional[_Iterable[str]] = ..., learning_needs: _Optional[_Iterable[_Union[TopicPriority, _Mapping]]] = ..., meeting_preference: _Optional[str] = ...) -> None: ...

class ParticipantWithdrawn(_message.Message):
    __slots__ = ("participant_id", "programme_id", "reason")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    reason: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ParticipantErased(_message.Message):
    __slots__ = ("participant_id", "programme_id")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ...) -> None: ...
