from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProgrammeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROGRAMME_STATUS_UNSPECIFIED: _ClassVar[ProgrammeStatus]
    PROGRAMME_STATUS_DRAFT: _ClassVar[ProgrammeStatus]
    PROGRAMME_STATUS_ENROLMENT_OPEN: _ClassVar[ProgrammeStatus]
    PROGRAMME_STATUS_ENROLMENT_CLOSED: _ClassVar[ProgrammeStatus]
    PROGRAMME_STATUS_LAUNCHED: _ClassVar[ProgrammeStatus]
    PROGRAMME_STATUS_CLOSED: _ClassVar[ProgrammeStatus]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_MENTOR: _ClassVar[Role]
    ROLE_MENTEE: _ClassVar[Role]

class MeetingPreference(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEETING_PREFERENCE_UNSPECIFIED: _ClassVar[MeetingPreference]
    MEETING_PREFERENCE_IN_PERSON: _ClassVar[MeetingPreference]
    MEETING_PREFERENCE_VIRTUAL: _ClassVar[MeetingPreference]
    MEETING_PREFERENCE_EITHER: _ClassVar[MeetingPreference]

class ParticipantStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTICIPANT_STATUS_UNSPECIFIED: _ClassVar[ParticipantStatus]
    PARTICIPANT_STATUS_ENROLLED: _ClassVar[ParticipantStatus]
    PARTICIPANT_STATUS_WITHDRAWN: _ClassVar[ParticipantStatus]
    PARTICIPANT_STATUS_ERASED: _ClassVar[ParticipantStatus]

class WithdrawalReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WITHDRAWAL_REASON_UNSPECIFIED: _ClassVar[WithdrawalReason]
    WITHDRAWAL_REASON_PERSONAL: _ClassVar[WithdrawalReason]
    WITHDRAWAL_REASON_WORKLOAD: _ClassVar[WithdrawalReason]
    WITHDRAWAL_REASON_LEFT_COMPANY: _ClassVar[WithdrawalReason]
    WITHDRAWAL_REASON_ROLE_CHANGE: _ClassVar[WithdrawalReason]
    WITHDRAWAL_REASON_OTHER: _ClassVar[WithdrawalReason]
PROGRAMME_STATUS_UNSPECIFIED: ProgrammeStatus
PROGRAMME_STATUS_DRAFT: ProgrammeStatus
PROGRAMME_STATUS_ENROLMENT_OPEN: ProgrammeStatus
PROGRAMME_STATUS_ENROLMENT_CLOSED: ProgrammeStatus
PROGRAMME_STATUS_LAUNCHED: ProgrammeStatus
PROGRAMME_STATUS_CLOSED: ProgrammeStatus
ROLE_UNSPECIFIED: Role
ROLE_MENTOR: Role
ROLE_MENTEE: Role
MEETING_PREFERENCE_UNSPECIFIED: MeetingPreference
MEETING_PREFERENCE_IN_PERSON: MeetingPreference
MEETING_PREFERENCE_VIRTUAL: MeetingPreference
MEETING_PREFERENCE_EITHER: MeetingPreference
PARTICIPANT_STATUS_UNSPECIFIED: ParticipantStatus
PARTICIPANT_STATUS_ENROLLED: ParticipantStatus
PARTICIPANT_STATUS_WITHDRAWN: ParticipantStatus
PARTICIPANT_STATUS_ERASED: ParticipantStatus
WITHDRAWAL_REASON_UNSPECIFIED: WithdrawalReason
WITHDRAWAL_REASON_PERSONAL: WithdrawalReason
WITHDRAWAL_REASON_WORKLOAD: WithdrawalReason
WITHDRAWAL_REASON_LEFT_COMPANY: WithdrawalReason
WITHDRAWAL_REASON_ROLE_CHANGE: WithdrawalReason
WITHDRAWAL_REASON_OTHER: WithdrawalReason

class Topic(_message.Message):
    __slots__ = ("code", "title")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class ProgrammeRules(_message.Message):
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

class Programme(_message.Message):
    __slots__ = ("programme_id", "name", "description", "start_date", "end_date", "topics", "rules", "status", "version", "mentor_count", "mentee_count")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MENTOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    MENTEE_COUNT_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    name: str
    description: str
    start_date: str
    end_date: str
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    rules: ProgrammeRules
    status: ProgrammeStatus
    version: int
    mentor_count: int
    mentee_count: int
    def __init__(self, programme_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ..., rules: _Optional[_Union[ProgrammeRules, _Mapping]] = ..., status: _Optional[_Union[ProgrammeStatus, str]] = ..., version: _Optional[int] = ..., mentor_count: _Optional[int] = ..., mentee_count: _Optional[int] = ...) -> None: ...

class CreateProgrammeRequest(_message.Message):
    __slots__ = ("name", "description", "start_date", "end_date", "topics", "rules")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    start_date: str
    end_date: str
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    rules: ProgrammeRules
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ..., rules: _Optional[_Union[ProgrammeRules, _Mapping]] = ...) -> None: ...

class GetProgrammeRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class ListProgrammesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: ProgrammeStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[ProgrammeStatus, str]] = ...) -> None: ...

class ListProgrammesResponse(_message.Message):
    __slots__ = ("programmes", "next_page_token", "total_size")
    PROGRAMMES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    programmes: _containers.RepeatedCompositeFieldContainer[Programme]
    next_page_token: str
    total_size: int
    def __init__(self, programmes: _Optional[_Iterable[_Union[Programme, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ProgrammeCommand(_message.Message):
    __slots__ = ("programme_id", "expected_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    expected_version: int
    def __init__(self, programme_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class LearningNeed(_message.Message):
    __slots__ = ("topic", "priority")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    topic: str
    priority: int
    def __init__(self, topic: _Optional[str] = ..., priority: _Optional[int] = ...) -> None: ...

class AvailabilityWindow(_message.Message):
    __slots__ = ("weekday", "start_time", "end_time")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    start_time: str
    end_time: str
    def __init__(self, weekday: _Optional[int] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("given", "notice_version", "given_at")
    GIVEN_FIELD_NUMBER: _ClassVar[int]
    NOTICE_VERSION_FIELD_NUMBER: _ClassVar[int]
    GIVEN_AT_FIELD_NUMBER: _ClassVar[int]
    given: bool
    notice_version: str
    given_at: str
    def __init__(self, given: _Optional[bool] = ..., notice_version: _Optional[str] = ..., given_at: _Optional[str] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("display_name", "email", "birth_year", "department", "manager_employee_id", "site", "time_zone", "languages", "skills_offered", "learning_needs", "availability", "meeting_preference", "skill_levels")
    class SkillLevelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    MANAGER_EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SKILLS_OFFERED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_NEEDS_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    MEETING_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    SKILL_LEVELS_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    email: str
    birth_year: int
    department: str
    manager_employee_id: str
    site: str
    time_zone: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    skills_offered: _containers.RepeatedScalarFieldContainer[str]
    learning_needs: _containers.RepeatedCompositeFieldContainer[LearningNeed]
    availability: _containers.RepeatedCompositeFieldContainer[AvailabilityWindow]
    meeting_preference: MeetingPreference
    skill_levels: _containers.ScalarMap[str, int]
    def __init__(self, display_name: _Optional[str] = ..., email: _Optional[str] = ..., birth_year: _Optional[int] = ..., department: _Optional[str] = ..., manager_employee_id: _Optional[str] = ..., site: _Optional[str] = ..., time_zone: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., skills_offered: _Optional[_Iterable[str]] = ..., learning_needs: _Optional[_Iterable[_Union[LearningNeed, _Mapping]]] = ..., availability: _Optional[_Iterable[_Union[AvailabilityWindow, _Mapping]]] = ..., meeting_preference: _Optional[_Union[MeetingPreference, str]] = ..., skill_levels: _Optional[_Mapping[str, int]] = ...) -> None: ...

class Participant(_message.Message):
    __slots__ = ("participant_id", "programme_id", "employee_id", "role", "profile", "consent", "status", "withdrawal_reason", "version", "enrolled_at")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    employee_id: str
    role: Role
    profile: Profile
    consent: Consent
    status: ParticipantStatus
    withdrawal_reason: WithdrawalReason
    version: int
    enrolled_at: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ..., status: _Optional[_Union[ParticipantStatus, str]] = ..., withdrawal_reason: _Optional[_Union[WithdrawalReason, str]] = ..., version: _Optional[int] = ..., enrolled_at: _Optional[str] = ...) -> None: ...

class EnrolParticipantRequest(_message.Message):
    __slots__ = ("programme_id", "employee_id", "role", "profile", "consent")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    employee_id: str
    role: Role
    profile: Profile
    consent: Consent
    def __init__(self, programme_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ...) -> None: ...

class UpdateProfileRequest(_message.Message):
    __slots__ = ("participant_id", "profile", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    profile: Profile
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class WithdrawParticipantRequest(_message.Message):
    __slots__ = ("participant_id", "reason", "note", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    reason: WithdrawalReason
    note: str
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., reason: _Optional[_Union[WithdrawalReason, str]] = ..., note: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetParticipantRequest(_message.Message):
    __slots__ = ("participant_id",)
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    def __init__(self, participant_id: _Optional[str] = ...) -> None: ...

class FindParticipantRequest(_message.Message):
    __slots__ = ("programme_id", "employee_id")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    employee_id: str
    def __init__(self, programme_id: _Optional[str] = ..., employee_id: _Optional[str] = ...) -> None: ...

class ListParticipantsRequest(_message.Message):
    __slots__ = ("programme_id", "page_size", "page_token", "role", "status", "topic", "site")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    page_size: int
    page_token: str
    role: Role
    status: ParticipantStatus
    topic: str
    site: str
    def __init__(self, programme_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., status: _Optional[_Union[ParticipantStatus, str]] = ..., topic: _Optional[str] = ..., site: _Optional[str] = ...) -> None: ...

class ListParticipantsResponse(_message.Message):
    __slots__ = ("participants", "next_page_token", "total_size")
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    next_page_token: str
    total_size: int
    def __init__(self, participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetMatchingAttributesRequest(_message.Message):
    __slots__ = ("participant_ids", "as_of")
    PARTICIPANT_IDS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    participant_ids: _containers.RepeatedScalarFieldContainer[str]
    as_of: str
    def __init__(self, participant_ids: _Optional[_Iterable[str]] = ..., as_of: _Optional[str] = ...) -> None: ...

class MatchingAttributes(_message.Message):
    __slots__ = ("participant_id", "programme_id", "role", "status", "employee_id", "manager_employee_id", "department", "site", "time_zone", "birth_year", "languages", "skills_offered", "learning_needs", "availability", "meeting_preference", "skill_levels")
    class SkillLevelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    MANAGER_EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SKILLS_OFFERED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_NEEDS_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    MEETING_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    SKILL_LEVELS_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    role: Role
    status: ParticipantStatus
    employee_id: str
    manager_employee_id: str
    department: str
    site: str
    time_zone: str
    birth_year: int
    languages: _containers.RepeatedScalarFieldContainer[str]
    skills_offered: _containers.RepeatedScalarFieldContainer[str]
    learning_needs: _containers.RepeatedCompositeFieldContainer[LearningNeed]
    availability: _containers.RepeatedCompositeFieldContainer[AvailabilityWindow]
    meeting_preference: MeetingPreference
    skill_levels: _containers.ScalarMap[str, int]
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., status: _Optional[_Union[ParticipantStatus, str]] = ..., employee_id: _Optional[str] = ..., manager_employee_id: _Optional[str] = ..., department: _Optional[str] = ..., site: _Optional[str] = ..., time_zone: _Optional[str] = ..., birth_year: _Optional[int] = ..., languages: _Optional[_Iterable[str]] = ..., skills_offered: _Optional[_Iterable[str]] = ..., learning_needs: _Optional[_Iterable[_Union[LearningNeed, _Mapping]]] = ..., availability: _Optional[_Iterable[_Union[AvailabilityWindow, _Mapping]]] = ..., meeting_preference: _Optional[_Union[MeetingPreference, str]] = ..., skill_levels: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetMatchingAttributesResponse(_message.Message):
    __slots__ = ("attributes",)
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[MatchingAttributes]
    def __init__(self, attributes: _Optional[_Iterable[_Union[MatchingAttributes, _Mapping]]] = ...) -> None: ...

class EraseParticipantRequest(_message.Message):
    __slots__ = ("participant_id", "reason")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    reason: str
    def __init__(self, participant_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ErasureReceipt(_message.Message):
    __slots__ = ("participant_id", "erased_at", "version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    erased_at: str
    version: int
    def __init__(self, participant_id: _Optional[str] = ..., erased_at: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

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
