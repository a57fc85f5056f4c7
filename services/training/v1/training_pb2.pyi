from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModuleKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODULE_KIND_UNSPECIFIED: _ClassVar[ModuleKind]
    MODULE_KIND_E_LEARNING: _ClassVar[ModuleKind]
    MODULE_KIND_WORKSHOP: _ClassVar[ModuleKind]
    MODULE_KIND_READING: _ClassVar[ModuleKind]

class Audience(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIENCE_UNSPECIFIED: _ClassVar[Audience]
    AUDIENCE_MENTOR: _ClassVar[Audience]
    AUDIENCE_MENTEE: _ClassVar[Audience]

class RecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_STATUS_UNSPECIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_NOT_STARTED: _ClassVar[RecordStatus]
    RECORD_STATUS_IN_PROGRESS: _ClassVar[RecordStatus]
    RECORD_STATUS_CERTIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_COMPLETED: _ClassVar[RecordStatus]
    RECORD_STATUS_REVOKED: _ClassVar[RecordStatus]
    RECORD_STATUS_CLOSED: _ClassVar[RecordStatus]

class ModuleStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODULE_STATUS_UNSPECIFIED: _ClassVar[ModuleStatus]
    MODULE_STATUS_NOT_STARTED: _ClassVar[ModuleStatus]
    MODULE_STATUS_STARTED: _ClassVar[ModuleStatus]
    MODULE_STATUS_FAILED: _ClassVar[ModuleStatus]
    MODULE_STATUS_PASSED: _ClassVar[ModuleStatus]
    MODULE_STATUS_WAIVED: _ClassVar[ModuleStatus]
MODULE_KIND_UNSPECIFIED: ModuleKind
MODULE_KIND_E_LEARNING: ModuleKind
MODULE_KIND_WORKSHOP: ModuleKind
MODULE_KIND_READING: ModuleKind
AUDIENCE_UNSPECIFIED: Audience
AUDIENCE_MENTOR: Audience
AUDIENCE_MENTEE: Audience
RECORD_STATUS_UNSPECIFIED: RecordStatus
RECORD_STATUS_NOT_STARTED: RecordStatus
RECORD_STATUS_IN_PROGRESS: RecordStatus
RECORD_STATUS_CERTIFIED: RecordStatus
RECORD_STATUS_COMPLETED: RecordStatus
RECORD_STATUS_REVOKED: RecordStatus
RECORD_STATUS_CLOSED: RecordStatus
MODULE_STATUS_UNSPECIFIED: ModuleStatus
MODULE_STATUS_NOT_STARTED: ModuleStatus
MODULE_STATUS_STARTED: ModuleStatus
MODULE_STATUS_FAILED: ModuleStatus
MODULE_STATUS_PASSED: ModuleStatus
MODULE_STATUS_WAIVED: ModuleStatus

class Module(_message.Message):
    __slots__ = ("module_id", "title", "kind", "required", "estimated_minutes", "pass_mark", "audience")
    MODULE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MINUTES_FIELD_NUMBER: _ClassVar[int]
    PASS_MARK_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    module_id: str
    title: str
    kind: ModuleKind
    required: bool
    estimated_minutes: int
    pass_mark: int
    audience: Audience
    def __init__(self, module_id: _Optional[str] = ..., title: _Optional[str] = ..., kind: _Optional[_Union[ModuleKind, str]] = ..., required: _Optional[bool] = ..., estimated_minutes: _Optional[int] = ..., pass_mark: _Optional[int] = ..., audience: _Optional[_Union[Audience, str]] = ...) -> None: ...

class Curriculum(_message.Message):
    __slots__ = ("programme_id", "version", "is_default", "modules")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MODULES_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    version: int
    is_default: bool
    modules: _containers.RepeatedCompositeFieldContainer[Module]
    def __init__(self, programme_id: _Optional[str] = ..., version: _Optional[int] = ..., is_default: _Optional[bool] = ..., modules: _Optional[_Iterable[_Union[Module, _Mapping]]] = ...) -> None: ...

class DefineCurriculumRequest(_message.Message):
    __slots__ = ("programme_id", "modules")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MODULES_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    modules: _containers.RepeatedCompositeFieldContainer[Module]
    def __init__(self, programme_id: _Optional[str] = ..., modules: _Optional[_Iterable[_Union[Module, _Mapping]]] = ...) -> None: ...

class GetCurriculumRequest(_message.Message):
    __slots__ = ("programme_id", "version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    version: int
    def __init__(self, programme_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class SetTrainingDeadlineRequest(_message.Message):
    __slots__ = ("programme_id", "deadline")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    deadline: str
    def __init__(self, programme_id: _Optional[str] = ..., deadline: _Optional[str] = ...) -> None: ...

class ProgrammeTraining(_message.Message):
    __slots__ = ("programme_id", "deadline", "curriculum_version")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    deadline: str
    curriculum_version: int
    def __init__(self, programme_id: _Optional[str] = ..., deadline: _Optional[str] = ..., curriculum_version: _Optional[int] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("attempt", "score", "passed", "recorded_at")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    score: int
    passed: bool
    recorded_at: str
    def __init__(self, attempt: _Optional[int] = ..., score: _Optional[int] = ..., passed: _Optional[bool] = ..., recorded_at: _Optional[str] = ...) -> None: ...

class ModuleProgress(_message.Message):
    __slots__ = ("module", "status", "attempts", "attended", "waiver_reason")
    MODULE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_FIELD_NUMBER: _ClassVar[int]
    WAIVER_REASON_FIELD_NUMBER: _ClassVar[int]
    module: Module
    status: ModuleStatus
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    attended: bool
    waiver_reason: str
    def __init__(self, module: _Optional[_Union[Module, _Mapping]] = ..., status: _Optional[_Union[ModuleStatus, str]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., attended: _Optional[bool] = ..., waiver_reason: _Optional[str] = ...) -> None: ...

class TrainingRecord(_message.Message):
    __slots__ = ("record_id", "participant_id", "programme_id", "role", "status", "curriculum_version", "modules", "certified_at", "revocation_reason", "overdue", "version")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODULES_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    participant_id: str
    programme_id: str
    role: Audience
    status: RecordStatus
    curriculum_version: int
    modules: _containers.RepeatedCompositeFieldContainer[ModuleProgress]
    certified_at: str
    revocation_reason: str
    overdue: bool
    version: int
    def __init__(self, record_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., role: _Optional[_Union[Audience, str]] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., curriculum_version: _Optional[int] = ..., modules: _Optional[_Iterable[_Union[ModuleProgress, _Mapping]]] = ..., certified_at: _Optional[str] = ..., revocation_reason: _Optional[str] = ..., overdue: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class StartModuleRequest(_message.Message):
    __slots__ = ("participant_id", "module_id", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    module_id: str
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., module_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CompleteModuleRequest(_message.Message):
    __slots__ = ("participant_id", "module_id", "score", "attempt", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    module_id: str
    score: int
    attempt: int
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., module_id: _Optional[str] = ..., score: _Optional[int] = ..., attempt: _Optional[int] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RecordAttendanceRequest(_message.Message):
    __slots__ = ("participant_id", "module_id", "session_date", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_DATE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    module_id: str
    session_date: str
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., module_id: _Optional[str] = ..., session_date: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class WaiveModuleRequest(_message.Message):
    __slots__ = ("participant_id", "module_id", "reason", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    module_id: str
    reason: str
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., module_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RevokeCertificationRequest(_message.Message):
    __slots__ = ("participant_id", "reason", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    reason: str
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RequestRecertificationRequest(_message.Message):
    __slots__ = ("participant_id", "curriculum_version", "expected_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    curriculum_version: int
    expected_version: int
    def __init__(self, participant_id: _Optional[str] = ..., curriculum_version: _Optional[int] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetTrainingRecordRequest(_message.Message):
    __slots__ = ("participant_id",)
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    def __init__(self, participant_id: _Optional[str] = ...) -> None: ...

class GetProgrammeReadinessRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class StatusCount(_message.Message):
    __slots__ = ("role", "status", "count")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    role: Audience
    status: RecordStatus
    count: int
    def __init__(self, role: _Optional[_Union[Audience, str]] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., count: _Optional[int] = ...) -> None: ...

class ProgrammeReadiness(_message.Message):
    __slots__ = ("programme_id", "deadline", "counts", "mentors", "certified_mentors", "overdue_mentor_ids")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    MENTORS_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_MENTORS_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_MENTOR_IDS_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    deadline: str
    counts: _containers.RepeatedCompositeFieldContainer[StatusCount]
    mentors: int
    certified_mentors: int
    overdue_mentor_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, programme_id: _Optional[str] = ..., deadline: _Optional[str] = ..., counts: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., mentors: _Optional[int] = ..., certified_mentors: _Optional[int] = ..., overdue_mentor_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListCertifiedMentorsRequest(_message.Message):
    __slots__ = ("programme_id", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class CertifiedMentor(_message.Message):
    __slots__ = ("participant_id", "curriculum_version", "certified_at")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    curriculum_version: int
    certified_at: str
    def __init__(self, participant_id: _Optional[str] = ..., curriculum_version: _Optional[int] = ..., certified_at: _Optional[str] = ...) -> None: ...

class ListCertifiedMentorsResponse(_message.Message):
    __slots__ = ("mentors", "next_page_token", "total_size")
    MENTORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    mentors: _containers.RepeatedCompositeFieldContainer[CertifiedMentor]
    next_page_token: str
    total_size: int
    def __init__(self, mentors: _Optional[_Iterable[_Union[CertifiedMentor, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

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
