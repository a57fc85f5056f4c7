"""The training service process: ``python -m revmentor.training.main``.

Background jobs: the enrolment subscription (opens and closes records) and
the deadline checker, every ``TRAINING_DEADLINE_CHECK_SECONDS`` (default 60).
"""

from __future__ import annotations

from revmentor.kernel.service import ServiceParts, main
from revmentor.kernel.settings import ServiceSettings, env
from revmentor.training.api import SERVICE_NAME, TrainingServicer
from revmentor.training.application import TrainingApplication
from revmentor.training.integration import translate
from revmentor.training.subscriptions import deadline_job, subscription_job
from revmentor.training.v1 import training_pb2_grpc

SERVICE = "training"


def build() -> ServiceParts:
    app = TrainingApplication()
    settings = ServiceSettings.from_env(SERVICE)
    every = float(env("TRAINING_DEADLINE_CHECK_SECONDS", "60"))
    return ServiceParts(
        app=app,
        register=training_pb2_grpc.add_TrainingServiceServicer_to_server,
        servicer=TrainingServicer(app),
        service_names=[SERVICE_NAME],
        translate=translate,
        background=[subscription_job(app, settings.nats_url), deadline_job(app, every)],
    )


if __name__ == "__main__":
    main(SERVICE, build)
