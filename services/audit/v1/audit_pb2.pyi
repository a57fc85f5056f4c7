from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReadEventsRequest(_message.Message):
    __slots__ = ("after_position", "since", "page_size", "page_token")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    since: str
    page_size: int
    page_token: str
    def __init__(self, after_position: _Optional[int] = ..., since: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ReadEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[LoggedEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[LoggedEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class LoggedEvent(_message.Message):
    __slots__ = ("position", "aggregate_id", "version", "type", "topic", "recorded_at", "actor", "correlation_id", "causation_id", "state_json", "chain_hash", "decode_error", "recorded_at_micros")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HASH_FIELD_NUMBER: _ClassVar[int]
    DECODE_ERROR_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_MICROS_FIELD_NUMBER: _ClassVar[int]
    position: int
    aggregate_id: str
    version: int
    type: str
    topic: str
    recorded_at: str
    actor: str
    correlation_id: str
    causation_id: str
    state_json: str
    chain_hash: str
    decode_error: str
    recorded_at_micros: int
    def __init__(self, position: _Optional[int] = ..., aggregate_id: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[str] = ..., topic: _Optional[str] = ..., recorded_at: _Optional[str] = ..., actor: _Optional[str] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., state_json: _Optional[str] = ..., chain_hash: _Optional[str] = ..., decode_error: _Optional[str] = ..., recorded_at_micros: _Optional[int] = ...) -> None: ...

class GetAggregateHistoryRequest(_message.Message):
    __slots__ = ("aggregate_id", "page_size", "page_token")
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    aggregate_id: str
    page_size: int
    page_token: str
    def __init__(self, aggregate_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class VerifyChainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChainVerification(_message.Message):
    __slots__ = ("service", "ok", "first_broken_position", "reason", "rows", "chained", "checkpoints_checked", "checkpoints_rejected", "last_checkpoint_position", "verified_at", "unchained", "chain_head_position", "rejections")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_POSITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    CHAINED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECKPOINT_POSITION_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    UNCHAINED_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_POSITION_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    service: str
    ok: bool
    first_broken_position: int
    reason: str
    rows: int
    chained: int
    checkpoints_checked: int
    checkpoints_rejected: int
    last_checkpoint_position: int
    verified_at: str
    unchained: int
    chain_head_position: int
    rejections: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service: _Optional[str] = ..., ok: _Optional[bool] = ..., first_broken_position: _Optional[int] = ..., reason: _Optional[str] = ..., rows: _Optional[int] = ..., chained: _Optional[int] = ..., checkpoints_checked: _Optional[int] = ..., checkpoints_rejected: _Optional[int] = ..., last_checkpoint_position: _Optional[int] = ..., verified_at: _Optional[str] = ..., unchained: _Optional[int] = ..., chain_head_position: _Optional[int] = ..., rejections: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplayProgrammeRequest(_message.Message):
    __slots__ = ("programme_id", "at")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    at: str
    def __init__(self, programme_id: _Optional[str] = ..., at: _Optional[str] = ...) -> None: ...

class ReplayUpdate(_message.Message):
    __slots__ = ("progress", "state")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    progress: ReplayProgress
    state: ProgrammeState
    def __init__(self, progress: _Optional[_Union[ReplayProgress, _Mapping]] = ..., state: _Optional[_Union[ProgrammeState, _Mapping]] = ...) -> None: ...

class ReplayProgress(_message.Message):
    __slots__ = ("position", "last_position", "applied")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    position: int
    last_position: int
    applied: int
    def __init__(self, position: _Optional[int] = ..., last_position: _Optional[int] = ..., applied: _Optional[int] = ...) -> None: ...

class ProgrammeState(_message.Message):
    __slots__ = ("service", "programme_id", "at", "position", "applied", "left_out", "state_json", "digest", "live_digest")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    LEFT_OUT_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    LIVE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    service: str
    programme_id: str
    at: str
    position: int
    applied: int
    left_out: int
    state_json: str
    digest: str
    live_digest: str
    def __init__(self, service: _Optional[str] = ..., programme_id: _Optional[str] = ..., at: _Optional[str] = ..., position: _Optional[int] = ..., applied: _Optional[int] = ..., left_out: _Optional[int] = ..., state_json: _Optional[str] = ..., digest: _Optional[str] = ..., live_digest: _Optional[str] = ...) -> None: ...
