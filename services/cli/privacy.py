"""``revmentor participant export|erase``: GDPR access/portability and erasure.

Export asks every service that holds participant data for its part and merges
them into one JSON document (art. 15/20). Erasure is asked of enrolment, the
owner of the person's identity; it publishes ``ParticipantErased`` and every
other service destroys its own keys for that participant (art. 17).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from revmentor.cli.common import EXIT_FAILED, CliError
from revmentor.cli.endpoints import require_reachable, service_target
from revmentor.cli.importer import bearer, refused_message
from revmentor.cli.up import available_services
from revmentor.enrolment.v1 import enrolment_pb2 as enrolment_pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as enrolment_grpc
from revmentor.feedback.v1 import feedback_pb2 as feedback_pb
from revmentor.feedback.v1 import feedback_pb2_grpc as feedback_grpc
from revmentor.kernel.tls import secure_channel
from revmentor.matching.v1 import matching_pb2 as matching_pb
from revmentor.matching.v1 import matching_pb2_grpc as matching_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as scheduling_pb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as scheduling_grpc
from revmentor.training.v1 import training_pb2 as training_pb
from revmentor.training.v1 import training_pb2_grpc as training_grpc

TOOL = "cli:privacy"

#: service -> (its stub class, its export request class); every service exports.
_EXPORTS: dict[str, tuple[Any, Any]] = {
    "enrolment": (enrolment_grpc.EnrolmentServiceStub, enrolment_pb.ExportParticipantDataRequest),
    "training": (training_grpc.TrainingServiceStub, training_pb.ExportParticipantDataRequest),
    "matching": (matching_grpc.MatchingServiceStub, matching_pb.ExportParticipantDataRequest),
    "scheduling": (
        scheduling_grpc.SchedulingServiceStub,
        scheduling_pb.ExportParticipantDataRequest,
    ),
    "feedback": (feedback_grpc.FeedbackServiceStub, feedback_pb.ExportParticipantDataRequest),
}

Exporter = Callable[[grpc.Channel, str, Any], Any]


def _exporter(stub_class: Any, request_class: Any) -> Exporter:
    """How to ask one service for a participant's export."""

    def export(channel: grpc.Channel, participant_id: str, metadata: Any) -> Any:
        return stub_class(channel).ExportParticipantData(
            request_class(participant_id=participant_id), metadata=metadata, timeout=30
        )

    return export


#: service -> how to ask it for its export.
EXPORTERS: dict[str, Exporter] = {service: _exporter(*parts) for service, parts in _EXPORTS.items()}


def _call(service: str, work: Callable[[grpc.Channel], Any], absent_ok: bool = False) -> Any:
    """Call ``service``; with ``absent_ok`` a NOT_FOUND answers None (it holds nothing)."""
    address, source = service_target(service)
    require_reachable(service, address, source)
    with secure_channel(address) as channel:
        try:
            return work(channel)
        except grpc.RpcError as error:
            if absent_ok and error.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                return None
            raise CliError(f"{service}: {refused_message(error)}", EXIT_FAILED) from None


def export(participant_id: str, token: str | None, output: Path | None) -> int:
    metadata = bearer(token, TOOL)
    document: dict[str, Any] = {
        "participant_id": participant_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "services": {},
    }
    for service, exporter in EXPORTERS.items():
        if service not in available_services():
            continue

        def ask(channel: grpc.Channel, exporter: Exporter = exporter) -> Any:
            return exporter(channel, participant_id, metadata)

        reply = _call(service, ask, absent_ok=service != "enrolment")
        held = json.loads(reply.document_json) if reply is not None else {"held": "nothing"}
        document["services"][service] = held
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return 0
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"exported {participant_id} from {', '.join(EXPORTERS)} to {output}", file=sys.stderr)
    return 0


def erase(participant_id: str, reason: str, token: str | None) -> int:
    metadata = bearer(token, TOOL)
    request = enrolment_pb.EraseParticipantRequest(participant_id=participant_id, reason=reason)
    receipt = _call(
        "enrolment",
        lambda channel: enrolment_grpc.EnrolmentServiceStub(channel).EraseParticipant(
            request, metadata=metadata, timeout=30
        ),
    )
    print(
        f"erased {receipt.participant_id} at {receipt.erased_at} (version {receipt.version}); "
        "other services destroy their keys when they receive ParticipantErased"
    )
    return 0
