from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class MentorshipOpened(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "match_id", "mentee_id", "mentor_id", "planned_sessions")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    PLANNED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    match_id: str
    mentee_id: str
    mentor_id: str
    planned_sessions: int
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., match_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., planned_sessions: _Optional[int] = ...) -> None: ...

class SessionScheduled(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "mentee_id", "mentor_id", "start", "end", "mode", "sequence", "rescheduled")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESCHEDULED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    start: str
    end: str
    mode: str
    sequence: int
    rescheduled: bool
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., start: _Optional[str] = ..., end: _Optional[str] = ..., mode: _Optional[str] = ..., sequence: _Optional[int] = ..., rescheduled: _Optional[bool] = ...) -> None: ...

class SessionCancelled(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "cancelled_by_role", "sequence")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_ROLE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    cancelled_by_role: str
    sequence: int
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., cancelled_by_role: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class SessionHeld(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "mentee_id", "mentor_id", "start", "duration_minutes", "held_count")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    HELD_COUNT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    start: str
    duration_minutes: int
    held_count: int
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., start: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., held_count: _Optional[int] = ...) -> None: ...

class SessionNoShow(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ...) -> None: ...

class SessionAttendanceDisputed(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "disputed_by")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_BY_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    disputed_by: str
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., disputed_by: _Optional[str] = ...) -> None: ...

class SessionReminderDue(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "mentee_id", "mentor_id", "start", "sequence")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    start: str
    sequence: int
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., start: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class MentorshipStalled(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "mentee_id", "mentor_id", "since")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    since: str
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., since: _Optional[str] = ...) -> None: ...

class MentorshipCompleted(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "held_sessions")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    held_sessions: int
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., held_sessions: _Optional[int] = ...) -> None: ...

class MentorshipEnded(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "outcome", "cancelled_sessions")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    outcome: str
    cancelled_sessions: int
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., outcome: _Optional[str] = ..., cancelled_sessions: _Optional[int] = ...) -> None: ...
