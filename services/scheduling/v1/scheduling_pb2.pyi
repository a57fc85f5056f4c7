from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MentorshipStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MENTORSHIP_STATUS_UNSPECIFIED: _ClassVar[MentorshipStatus]
    MENTORSHIP_STATUS_ACTIVE: _ClassVar[MentorshipStatus]
    MENTORSHIP_STATUS_COMPLETED: _ClassVar[MentorshipStatus]
    MENTORSHIP_STATUS_ENDED: _ClassVar[MentorshipStatus]

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_SCHEDULED: _ClassVar[SessionStatus]
    SESSION_STATUS_HELD: _ClassVar[SessionStatus]
    SESSION_STATUS_NO_SHOW: _ClassVar[SessionStatus]
    SESSION_STATUS_CANCELLED: _ClassVar[SessionStatus]
    SESSION_STATUS_DISPUTED: _ClassVar[SessionStatus]

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_IN_PERSON: _ClassVar[Mode]
    MODE_VIRTUAL: _ClassVar[Mode]

class Attendance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTENDANCE_UNSPECIFIED: _ClassVar[Attendance]
    ATTENDANCE_HELD: _ClassVar[Attendance]
    ATTENDANCE_NO_SHOW: _ClassVar[Attendance]
MENTORSHIP_STATUS_UNSPECIFIED: MentorshipStatus
MENTORSHIP_STATUS_ACTIVE: MentorshipStatus
MENTORSHIP_STATUS_COMPLETED: MentorshipStatus
MENTORSHIP_STATUS_ENDED: MentorshipStatus
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_SCHEDULED: SessionStatus
SESSION_STATUS_HELD: SessionStatus
SESSION_STATUS_NO_SHOW: SessionStatus
SESSION_STATUS_CANCELLED: SessionStatus
SESSION_STATUS_DISPUTED: SessionStatus
MODE_UNSPECIFIED: Mode
MODE_IN_PERSON: Mode
MODE_VIRTUAL: Mode
ATTENDANCE_UNSPECIFIED: Attendance
ATTENDANCE_HELD: Attendance
ATTENDANCE_NO_SHOW: Attendance

class SchedulingPolicy(_message.Message):
    __slots__ = ("programme_id", "min_session_minutes", "max_session_minutes", "min_gap_days", "reminder_lead_hours", "stall_after_days", "planned_sessions", "start_date", "end_date", "version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SESSION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MIN_GAP_DAYS_FIELD_NUMBER: _ClassVar[int]
    REMINDER_LEAD_HOURS_FIELD_NUMBER: _ClassVar[int]
    STALL_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    PLANNED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    min_session_minutes: int
    max_session_minutes: int
    min_gap_days: int
    reminder_lead_hours: int
    stall_after_days: int
    planned_sessions: int
    start_date: str
    end_date: str
    version: int
    def __init__(self, programme_id: _Optional[str] = ..., min_session_minutes: _Optional[int] = ..., max_session_minutes: _Optional[int] = ..., min_gap_days: _Optional[int] = ..., reminder_lead_hours: _Optional[int] = ..., stall_after_days: _Optional[int] = ..., planned_sessions: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class PolicyChange(_message.Message):
    __slots__ = ("min_session_minutes", "max_session_minutes", "min_gap_days", "reminder_lead_hours", "stall_after_days")
    MIN_SESSION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MIN_GAP_DAYS_FIELD_NUMBER: _ClassVar[int]
    REMINDER_LEAD_HOURS_FIELD_NUMBER: _ClassVar[int]
    STALL_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    min_session_minutes: int
    max_session_minutes: int
    min_gap_days: int
    reminder_lead_hours: int
    stall_after_days: int
    def __init__(self, min_session_minutes: _Optional[int] = ..., max_session_minutes: _Optional[int] = ..., min_gap_days: _Optional[int] = ..., reminder_lead_hours: _Optional[int] = ..., stall_after_days: _Optional[int] = ...) -> None: ...

class SetSchedulingPolicyRequest(_message.Message):
    __slots__ = ("programme_id", "change", "expected_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    change: PolicyChange
    expected_version: int
    def __init__(self, programme_id: _Optional[str] = ..., change: _Optional[_Union[PolicyChange, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetSchedulingPolicyRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "mentorship_id", "programme_id", "mentee_id", "mentor_id", "status", "start", "end", "local_start", "time_zone", "duration_minutes", "mode", "location", "meeting_link", "agenda", "sequence", "cancelled_by", "cancel_reason", "recorded_by", "disputed_by", "number")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LOCAL_START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MEETING_LINK_FIELD_NUMBER: _ClassVar[int]
    AGENDA_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_BY_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    status: SessionStatus
    start: str
    end: str
    local_start: str
    time_zone: str
    duration_minutes: int
    mode: Mode
    location: str
    meeting_link: str
    agenda: str
    sequence: int
    cancelled_by: str
    cancel_reason: str
    recorded_by: str
    disputed_by: str
    number: int
    def __init__(self, session_id: _Optional[str] = ..., mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., start: _Optional[str] = ..., end: _Optional[str] = ..., local_start: _Optional[str] = ..., time_zone: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., mode: _Optional[_Union[Mode, str]] = ..., location: _Optional[str] = ..., meeting_link: _Optional[str] = ..., agenda: _Optional[str] = ..., sequence: _Optional[int] = ..., cancelled_by: _Optional[str] = ..., cancel_reason: _Optional[str] = ..., recorded_by: _Optional[str] = ..., disputed_by: _Optional[str] = ..., number: _Optional[int] = ...) -> None: ...

class Mentorship(_message.Message):
    __slots__ = ("mentorship_id", "programme_id", "match_id", "mentee_id", "mentor_id", "status", "planned_sessions", "held_sessions", "opened_at", "last_held_at", "stalled", "sessions", "version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLANNED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    HELD_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_HELD_AT_FIELD_NUMBER: _ClassVar[int]
    STALLED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    programme_id: str
    match_id: str
    mentee_id: str
    mentor_id: str
    status: MentorshipStatus
    planned_sessions: int
    held_sessions: int
    opened_at: str
    last_held_at: str
    stalled: bool
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., match_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., status: _Optional[_Union[MentorshipStatus, str]] = ..., planned_sessions: _Optional[int] = ..., held_sessions: _Optional[int] = ..., opened_at: _Optional[str] = ..., last_held_at: _Optional[str] = ..., stalled: _Optional[bool] = ..., sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...

class GetMentorshipRequest(_message.Message):
    __slots__ = ("mentorship_id",)
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    def __init__(self, mentorship_id: _Optional[str] = ...) -> None: ...

class ListMentorshipsRequest(_message.Message):
    __slots__ = ("programme_id", "participant_id", "status", "stalled_only", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STALLED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    participant_id: str
    status: MentorshipStatus
    stalled_only: bool
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., status: _Optional[_Union[MentorshipStatus, str]] = ..., stalled_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMentorshipsResponse(_message.Message):
    __slots__ = ("mentorships", "next_page_token", "total_size")
    MENTORSHIPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    mentorships: _containers.RepeatedCompositeFieldContainer[Mentorship]
    next_page_token: str
    total_size: int
    def __init__(self, mentorships: _Optional[_Iterable[_Union[Mentorship, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ScheduleSessionRequest(_message.Message):
    __slots__ = ("mentorship_id", "local_start", "time_zone", "duration_minutes", "mode", "location", "meeting_link", "agenda", "expected_version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MEETING_LINK_FIELD_NUMBER: _ClassVar[int]
    AGENDA_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    local_start: str
    time_zone: str
    duration_minutes: int
    mode: Mode
    location: str
    meeting_link: str
    agenda: str
    expected_version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., local_start: _Optional[str] = ..., time_zone: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., mode: _Optional[_Union[Mode, str]] = ..., location: _Optional[str] = ..., meeting_link: _Optional[str] = ..., agenda: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RescheduleSessionRequest(_message.Message):
    __slots__ = ("mentorship_id", "session_id", "local_start", "time_zone", "duration_minutes", "expected_version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    session_id: str
    local_start: str
    time_zone: str
    duration_minutes: int
    expected_version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., session_id: _Optional[str] = ..., local_start: _Optional[str] = ..., time_zone: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CancelSessionRequest(_message.Message):
    __slots__ = ("mentorship_id", "session_id", "reason", "expected_version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    session_id: str
    reason: str
    expected_version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RecordAttendanceRequest(_message.Message):
    __slots__ = ("mentorship_id", "session_id", "attendance", "expected_version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTENDANCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    session_id: str
    attendance: Attendance
    expected_version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., session_id: _Optional[str] = ..., attendance: _Optional[_Union[Attendance, str]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DisputeAttendanceRequest(_message.Message):
    __slots__ = ("mentorship_id", "session_id", "reason", "expected_version")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    session_id: str
    reason: str
    expected_version: int
    def __init__(self, mentorship_id: _Optional[str] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SuggestSlotsRequest(_message.Message):
    __slots__ = ("mentorship_id", "count", "duration_minutes", "not_before", "time_zone")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    count: int
    duration_minutes: int
    not_before: str
    time_zone: str
    def __init__(self, mentorship_id: _Optional[str] = ..., count: _Optional[int] = ..., duration_minutes: _Optional[int] = ..., not_before: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("start", "end", "local_start", "time_zone")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LOCAL_START_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    local_start: str
    time_zone: str
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., local_start: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class SuggestSlotsResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("mentorship_id", "participant_id", "status", "page_size", "page_token")
    MENTORSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    mentorship_id: str
    participant_id: str
    status: SessionStatus
    page_size: int
    page_token: str
    def __init__(self, mentorship_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token", "total_size")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    total_size: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetCalendarRequest(_message.Message):
    __slots__ = ("participant_id",)
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    def __init__(self, participant_id: _Optional[str] = ...) -> None: ...

class Calendar(_message.Message):
    __slots__ = ("participant_id", "content_type", "ics")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ICS_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    content_type: str
    ics: str
    def __init__(self, participant_id: _Optional[str] = ..., content_type: _Optional[str] = ..., ics: _Optional[str] = ...) -> None: ...

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
