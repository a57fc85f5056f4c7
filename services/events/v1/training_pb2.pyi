from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class TrainingRecordOpened(_message.Message):
    __slots__ = ("record_id", "participant_id", "programme_id", "role", "curriculum_version", "required_modules")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_MODULES_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    participant_id: str
    programme_id: str
    role: str
    curriculum_version: int
    required_modules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., role: _Optional[str] = ..., curriculum_version: _Optional[int] = ..., required_modules: _Optional[_Iterable[str]] = ...) -> None: ...

class ModuleCompleted(_message.Message):
    __slots__ = ("participant_id", "programme_id", "module", "attempt", "passed", "how")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    HOW_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    module: str
    attempt: int
    passed: bool
    how: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., module: _Optional[str] = ..., attempt: _Optional[int] = ..., passed: _Optional[bool] = ..., how: _Optional[str] = ...) -> None: ...

class MentorCertified(_message.Message):
    __slots__ = ("participant_id", "programme_id", "curriculum_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    curriculum_version: int
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., curriculum_version: _Optional[int] = ...) -> None: ...

class OrientationCompleted(_message.Message):
    __slots__ = ("participant_id", "programme_id", "curriculum_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    CURRICULUM_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    curriculum_version: int
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., curriculum_version: _Optional[int] = ...) -> None: ...

class CertificationRevoked(_message.Message):
    __slots__ = ("participant_id", "programme_id")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ...) -> None: ...

class RecertificationRequested(_message.Message):
    __slots__ = ("participant_id", "programme_id", "from_version", "to_version")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    from_version: int
    to_version: int
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class TrainingRecordClosed(_message.Message):
    __slots__ = ("participant_id", "programme_id")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ...) -> None: ...

class MentorTrainingOverdue(_message.Message):
    __slots__ = ("participant_id", "programme_id", "deadline")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    programme_id: str
    deadline: str
    def __init__(self, participant_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., deadline: _Optional[str] = ...) -> None: ...

class CurriculumVersionPublished(_message.Message):
    __slots__ = ("programme_id", "version", "required_modules")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_MODULES_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    version: int
    required_modules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, programme_id: _Optional[str] = ..., version: _Optional[int] = ..., required_modules: _Optional[_Iterable[str]] = ...) -> None: ...
