from revmentor.options.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class MatchingRoundCompleted(_message.Message):
    __slots__ = ("round_id", "programme_id", "round_number", "inputs_digest", "algorithm_version", "mentees_considered", "proposed", "unmatched")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INPUTS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MENTEES_CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    programme_id: str
    round_number: int
    inputs_digest: str
    algorithm_version: str
    mentees_considered: int
    proposed: int
    unmatched: int
    def __init__(self, round_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., round_number: _Optional[int] = ..., inputs_digest: _Optional[str] = ..., algorithm_version: _Optional[str] = ..., mentees_considered: _Optional[int] = ..., proposed: _Optional[int] = ..., unmatched: _Optional[int] = ...) -> None: ...

class MatchProposed(_message.Message):
    __slots__ = ("match_id", "programme_id", "mentee_id", "mentor_id", "round_id", "origin", "score", "expires_at", "overridden")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    round_id: str
    origin: str
    score: float
    expires_at: str
    overridden: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., round_id: _Optional[str] = ..., origin: _Optional[str] = ..., score: _Optional[float] = ..., expires_at: _Optional[str] = ..., overridden: _Optional[_Iterable[str]] = ...) -> None: ...

class ProposalAccepted(_message.Message):
    __slots__ = ("match_id", "programme_id", "participant_id", "side")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    participant_id: str
    side: str
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., side: _Optional[str] = ...) -> None: ...

class ProposalDeclined(_message.Message):
    __slots__ = ("match_id", "programme_id", "mentee_id", "mentor_id", "declined_by", "status")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    DECLINED_BY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    declined_by: str
    status: str
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., declined_by: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class MatchConfirmed(_message.Message):
    __slots__ = ("match_id", "programme_id", "mentee_id", "mentor_id", "confirmed_at")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    confirmed_at: str
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., confirmed_at: _Optional[str] = ...) -> None: ...

class MatchEnded(_message.Message):
    __slots__ = ("match_id", "programme_id", "mentee_id", "mentor_id", "outcome", "ended_at")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MENTEE_ID_FIELD_NUMBER: _ClassVar[int]
    MENTOR_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str
    outcome: str
    ended_at: str
    def __init__(self, match_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., mentee_id: _Optional[str] = ..., mentor_id: _Optional[str] = ..., outcome: _Optional[str] = ..., ended_at: _Optional[str] = ...) -> None: ...
