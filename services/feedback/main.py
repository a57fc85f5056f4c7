"""The feedback service process: ``python -m revmentor.feedback.main``.

Background jobs: the enrolment, training, matching and scheduling
subscriptions (catalogues, the funnel, surveys, pairs, held sessions) and the
closing of feedback windows past their due time every
``FEEDBACK_CLOSE_CHECK_SECONDS`` (default 300). Whether a participant is the
caller is asked of enrolment at ``REVMENTOR_ENROLMENT_ADDR`` with the caller's
own token; feedback needs no service token of its own.
"""

from __future__ import annotations

from revmentor.feedback.api import SERVICE_NAME, FeedbackServicer
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.integration import translate
from revmentor.feedback.subscriptions import CLOSE_CHECK_SECONDS, closing_job, subscription_job
from revmentor.feedback.v1 import feedback_pb2_grpc
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.kernel.service import ServiceParts, main
from revmentor.kernel.settings import ServiceSettings, env

SERVICE = "feedback"


def build() -> ServiceParts:
    app = FeedbackApplication()
    settings = ServiceSettings.from_env(SERVICE)
    every = float(env("FEEDBACK_CLOSE_CHECK_SECONDS", str(CLOSE_CHECK_SECONDS)))
    return ServiceParts(
        app=app,
        register=feedback_pb2_grpc.add_FeedbackServiceServicer_to_server,
        servicer=FeedbackServicer(app, OwnershipCheck(SERVICE)),
        service_names=[SERVICE_NAME],
        translate=translate,
        background=[subscription_job(app, settings.nats_url), closing_job(app, every)],
    )


if __name__ == "__main__":
    main(SERVICE, build)
