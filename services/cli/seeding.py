"""The demo programme `revmentor up` seeds into an empty platform.

Through the public gRPC APIs, as users would (see :mod:`revmentor.cli.demo`
and :mod:`revmentor.cli.demo_feedback`): enrolled, mentors certified, a
matching round and its proposals accepted, sessions held (five pairs complete
their mentorship) and booked, feedback and baseline and end surveys from each
member acting as themself. A platform
that already holds a programme is left alone; a failure is a warning, and the
platform runs without the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from revmentor.cli import demo, demo_feedback, devkeys
from revmentor.cli.children import say
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.feedback.v1.feedback_pb2_grpc import FeedbackServiceStub
from revmentor.kernel.tls import secure_channel
from revmentor.matching.v1.matching_pb2_grpc import MatchingServiceStub
from revmentor.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceStub
from revmentor.training.v1.training_pb2_grpc import TrainingServiceStub

#: service -> its gRPC target (None when the service does not run).
Targets = Callable[[str], str | None]


def seed_demo(var: Path, target: Targets) -> None:
    """Seed the demo unless a programme exists; says what it did."""
    enrolment = target("enrolment")
    if enrolment is None:
        return
    token = devkeys.load(var).mint(demo.ACTOR, ["admin"], devkeys.TOOL_TOKEN_SECONDS)
    try:
        with secure_channel(enrolment) as channel:
            stub = pb_grpc.EnrolmentServiceStub(channel)
            found = stub.ListProgrammes(
                pb.ListProgrammesRequest(page_size=1),
                timeout=30,
                metadata=(("authorization", f"Bearer {token}"),),
            )
            if found.total_size:
                say(f"{found.total_size} programme(s) already there; not seeding the demo")
                return
            say(demo.seed(stub, token) + _downstream(var, target, stub, token))
    except grpc.RpcError as error:
        say(
            f"warning: could not seed the demo programme ({error.code().name}: "  # type: ignore[attr-defined]
            f"{error.details()}); the platform runs without it"  # type: ignore[attr-defined]
        )


def _downstream(var: Path, target: Targets, enrolment: Any, token: str) -> str:
    """Training, matching, scheduling and feedback, as far as they run."""
    training = target("training")
    if training is None:
        return ""
    with secure_channel(training) as channel:
        summary = demo.train(enrolment, TrainingServiceStub(channel), token)
    matching = target("matching")
    if matching is None:
        return summary
    with secure_channel(matching) as channel:
        summary += demo.match(enrolment, MatchingServiceStub(channel), token)
    scheduling = target("scheduling")
    if scheduling is None:
        return summary
    with secure_channel(scheduling) as channel:
        summary += demo.schedule(enrolment, SchedulingServiceStub(channel), token)
        summary += _feedback(var, target, enrolment, channel, token)
    return summary


def _feedback(var: Path, target: Targets, enrolment: Any, scheduling: Any, token: str) -> str:
    """The pairs' feedback and baseline surveys, each member acting as themself."""
    feedback = target("feedback")
    if feedback is None:
        return ""
    key = devkeys.load(var)

    def mint(employee_id: str, role: str) -> str:
        return key.mint(
            f"demo:{employee_id}", [role], devkeys.TOOL_TOKEN_SECONDS, employee_id=employee_id
        )

    with secure_channel(feedback) as channel:
        return demo_feedback.feedback(
            enrolment,
            SchedulingServiceStub(scheduling),
            FeedbackServiceStub(channel),
            token,
            mint,
            demo.NAME,
        )
