"""``revmentor up``: the whole platform on one machine, for ``make run``.

1. NATS: unless ``NATS_URL`` is set, a nats-server with JetStream (the one from
   the venv) stores under ``var/nats`` and logs to ``var/log/nats.log``, on
   port 4222 or - when that is taken - a free port.
2. The JetStream streams are declared.
3. Every service with a ``revmentor.<service>.main`` module runs as its own
   process with ``NATS_URL``, ``REVMENTOR_VAR_DIR``, ``<SERVICE>_GRPC_PORT`` and
   ``REVMENTOR_<SERVICE>_ADDR`` of every service; its output is shown with its
   name in front and kept in ``var/log/<service>.log``. Services trust the
   development signing key, made once under ``var/secrets/`` (see
   :mod:`revmentor.cli.devkeys`; ``revmentor token`` mints tokens with it),
   and each has its own service token (``REVMENTOR_<SERVICE>_TOKEN_FILE``,
   re-minted hourly) for calls to other services.
4. Each must report SERVING on gRPC health within 60 s.
5. An empty platform gets the demo programme (not with ``--no-seed`` or
   ``REVMENTOR_SEED=0``): enrolled, seven mentors certified, one matching
   round run and six proposals accepted by both sides; five pairs hold six
   sessions a fortnight apart and complete their mentorship, the sixth meets
   once; both members answer every feedback request, the baseline survey and
   (where completed) the end survey, and the programme's outcomes report is
   printed.
6. The endpoints are printed and written to ``var/run/endpoints.json``.

Ctrl-C or SIGTERM stops the services (SIGTERM, up to 15 s, then SIGKILL), then
NATS, and exits 0. A service that dies on its own stops everything, exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import FrameType
from typing import IO, Any

from revmentor.cli import devkeys, seeding
from revmentor.cli.children import (
    RESTART_LIMIT,
    WIDTH,
    Child,
    follow_nats_log,
    may_restart,
    pump,
    say,
    target,
)
from revmentor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, CliError
from revmentor.cli.endpoints import endpoints_file, wait_healthy, write_endpoints
from revmentor.cli.shape import Shape
from revmentor.kernel.crypto import ensure_dev_kek
from revmentor.kernel.natsauth import SecureNatsConfig, write_secure_config
from revmentor.kernel.natsserver import LocalNatsCluster, LocalNatsServer, free_port
from revmentor.kernel.settings import DEFAULT_PORTS, nats_servers
from revmentor.kernel.streams import SERVICES, declare_streams

NATS_PORT = 4222
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
TOKEN_REFRESH_SECONDS = 3600.0


def available_services() -> list[str]:
    """The services of this platform that exist as code today."""
    found = []
    for service in SERVICES:
        with contextlib.suppress(ImportError, ValueError):
            if importlib.util.find_spec(f"revmentor.{service}.main") is not None:
                found.append(service)
    return found


class Platform:
    def __init__(
        self,
        var: Path,
        seed: bool,
        nats_port: int,
        secure: bool = False,
        shape: Shape | None = None,
    ):
        self.var = var.resolve()
        self.shape = shape or Shape()
        self.cluster: LocalNatsCluster | None = None
        self.node_restarts: dict[int, deque[float]] = {}
        self.seed = seed
        self.nats_port = nats_port
        self.secure = secure
        self.nats_users: SecureNatsConfig | None = None
        self.nats: LocalNatsServer | None = None
        self.nats_url = ""
        self.children: list[Child] = []
        self.stopping = threading.Event()
        self.force = threading.Event()
        self.stop_reason = ""
        self.nats_log_stop = threading.Event()
        self.lock: IO[str] | None = None
        self.endpoints = endpoints_file(self.var)
        self.published = False

    # -- signals ------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            self.force.set()
            return
        self.stop_reason = signal.Signals(signum).name
        self.stopping.set()

    def install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> int:
        self.install_signals()
        started = time.monotonic()
        steps = (
            self.shape.check,
            self._take_lock,
            self._start_nats,
            self._declare_streams,
            self._start_services,
        )
        try:
            for step in steps:
                step()
                if self.stopping.is_set():
                    return self._stop(EXIT_OK)
            if not self._wait_healthy():
                return self._stop(EXIT_FAILED)
            if self.stopping.is_set():
                return self._stop(EXIT_OK)
            self._seed()
            self._publish_endpoints(time.monotonic() - started)
            return self._stop(self._watch())
        except CliError as error:
            first, *more = str(error).splitlines()
            say(f"error: {first}")
            for line in more:
                say(f"  {line}")
            return self._stop(error.exit_code)
        finally:
            self._cleanup()

    # -- steps -------------------------------------------------------------------------------
    def _take_lock(self) -> None:
        """One ``revmentor up`` per var dir: they would share stores and ports."""
        run_dir = self.var / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = open(run_dir / "up.lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise CliError(
                f"another `revmentor up` (pid {holder}) is already running on {self.var}.\n"
                "Stop it first (Ctrl-C in its terminal), or use another --var directory."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self.lock = lock

    def _start_nats(self) -> None:
        if self.secure and os.environ.get("NATS_URL"):
            raise CliError(
                "--secure starts its own NATS with one user per service; unset NATS_URL "
                "(or configure your server with `python -m revmentor.kernel.natsauth`)"
            )
        if os.environ.get("NATS_URL"):
            self.nats_url = os.environ["NATS_URL"]
            say(f"using NATS at {self.nats_url} (from NATS_URL)")
            return
        if self.shape.nats_cluster > 1:
            self._start_nats_cluster()
            return
        port = free_port(self.nats_port)
        if port != self.nats_port:
            say(f"port {self.nats_port} is taken; NATS on {port} instead")
        log_file = self.var / "log" / "nats.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_start = log_file.stat().st_size if log_file.exists() else 0
        config_file = None
        if self.secure:
            config_file, self.nats_users = write_secure_config(self.var / "secrets")
            say(f"NATS users and permissions from {config_file} (one user per service)")
        self.nats = LocalNatsServer(
            self.var / "nats", port=port, log_file=log_file, config_file=config_file
        )
        try:
            self.nats.start()
        except (TimeoutError, OSError) as error:
            raise CliError(
                f"nats-server did not start ({error}); see {log_file}", EXIT_FAILED
            ) from None
        self.nats_url = self.nats.url
        threading.Thread(
            target=follow_nats_log,
            args=(log_file, log_start, self.nats_log_stop),
            name="nats-log",
            daemon=True,
        ).start()
        say(f"NATS with JetStream on {self.nats_url} (store {self.var / 'nats'}, log {log_file})")

    def _start_nats_cluster(self) -> None:
        """Nodes on loopback routed into one JetStream cluster (stores under var/nats-cluster)."""
        root = self.var / "nats-cluster"
        include = None
        if self.secure:
            config_file, self.nats_users = write_secure_config(self.var / "secrets")
            root.mkdir(parents=True, exist_ok=True)
            include = root / "users.conf"
            include.write_text(config_file.read_text(encoding="utf-8"), encoding="utf-8")
            include.chmod(0o600)
        log_dir = self.var / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        size = self.shape.nats_cluster
        self.cluster = LocalNatsCluster(root, size, include=include, log_dir=log_dir)
        try:
            self.cluster.start()
        except (TimeoutError, OSError) as error:
            raise CliError(
                f"the NATS cluster did not start ({error}); see {log_dir}/nats-n*.log"
            ) from None
        self.nats_url = self.cluster.url
        say(
            f"NATS cluster of {size} nodes with JetStream on {self.nats_url} "
            f"(streams on {self.shape.stream_replicas} nodes; logs {log_dir}/nats-n*.log)"
        )

    def _declare_streams(self) -> None:
        os.environ["NATS_STREAM_REPLICAS"] = str(self.shape.stream_replicas)
        try:
            admin = self.nats_users.users["admin"].connect_options() if self.nats_users else {}
            asyncio.run(_declare(self.nats_url, admin))
        except Exception as error:  # noqa: BLE001 - any failure: say which and what to do
            hint = (
                "check NATS_URL, or unset it so `revmentor up` starts its own NATS"
                if self.nats is None and self.cluster is None
                else f"see the NATS logs under {self.var / 'log'}"
            )
            raise CliError(
                f"could not declare the JetStream streams on {self.nats_url} "
                f"({type(error).__name__}: {error}); {hint}",
                EXIT_UNREACHABLE,
            ) from None
        say(f"streams declared for {', '.join(SERVICES)} and the dead-letter stream")

    def _ports(self, services: list[str]) -> dict[str, list[int]]:
        """Each service's ports: its preferred one for the first replica, free ones after."""
        ports: dict[str, list[int]] = {}
        taken: set[int] = set()
        for service in services:
            variable = f"{service.upper()}_GRPC_PORT"
            wanted = os.environ.get(variable) or str(DEFAULT_PORTS.get(service, 0))
            if not wanted.isdigit():
                raise CliError(f"{variable}={wanted!r} is not a port number")
            preferred = int(wanted)
            port = free_port(preferred) if preferred else free_port()
            while port in taken:
                port = free_port()
            if preferred and port != preferred:
                say(f"port {preferred} is taken; {service} on {port} instead")
            taken.add(port)
            ports[service] = [port]
            for _ in range(1, self.shape.replicas):
                port = free_port()
                while port in taken:
                    port = free_port()
                taken.add(port)
                ports[service].append(port)
        return ports

    def _start_services(self) -> None:
        services = available_services()
        if not services:
            raise CliError("no service modules found (revmentor.<service>.main); reinstall")
        ports = self._ports(services)
        self.shape.prepare_postgres(services)
        env = dict(os.environ)
        env.update(
            NATS_URL=self.nats_url,
            NATS_STREAM_REPLICAS=str(self.shape.stream_replicas),
            REVMENTOR_VAR_DIR=str(self.var),
            PYTHONUNBUFFERED="1",
        )
        env.update(devkeys.service_env(self.var))
        env["REVMENTOR_KEK_FILE"] = str(self.var / "secrets" / "kek")
        ensure_dev_kek(self.var)
        (self.var / "secrets").chmod(0o700)  # signing key, KEK, NATS passwords
        env.update({f"REVMENTOR_{s.upper()}_ADDR": target(p) for s, p in ports.items()})
        (self.var / "log").mkdir(parents=True, exist_ok=True)
        # The first process of each service makes its tables; the other replicas
        # start once it is healthy (concurrent CREATE TABLE IF NOT EXISTS races).
        for service in services:
            self._spawn(service, 0, ports[service][0], self._service_env(env, service))
        if self.shape.replicas > 1 and self._wait_healthy():
            for service in services:
                for index, port in enumerate(ports[service][1:], start=1):
                    self._spawn(service, index, port, self._service_env(env, service))

    def _service_env(self, env: dict[str, str], service: str) -> dict[str, str]:
        child_env = {**env, **self.shape.store_env(service)}
        token_file = devkeys.write_service_token(self.var, service)
        child_env[f"REVMENTOR_{service.upper()}_TOKEN_FILE"] = str(token_file)
        if self.nats_users:  # each service gets its own NATS user, and only its own
            child_env.update(self.nats_users.users[service].env())
        return child_env

    def _spawn(self, service: str, index: int, port: int, env: dict[str, str]) -> Child:
        name = service if self.shape.replicas == 1 else f"{service}-{index + 1}"
        child_env = {**env, f"{service.upper()}_GRPC_PORT": str(port)}
        process = subprocess.Popen(
            [sys.executable, "-m", f"revmentor.{service}.main"],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches `up`, which stops them in order
        )
        log_file = self.var / "log" / f"{name}.log"
        child = Child(name, port, process, log_file, service=service, env=child_env)
        self._follow(child)
        self.children.append(child)
        say(f"started {name} (pid {process.pid}) on gRPC port {port}")
        self._write_processes()
        return child

    def _follow(self, child: Child) -> None:
        child.reader = threading.Thread(
            target=pump, args=(child,), name=f"{child.name}-output", daemon=True
        )
        child.reader.start()

    def _write_processes(self) -> None:
        """var/run/processes.json: the pid of every process, kept current (restarts)."""
        nodes = self.cluster.nodes if self.cluster else ([self.nats] if self.nats else [])
        data = {
            "services": {c.name: c.process.pid for c in self.children},
            "nats": [n.process.pid for n in nodes if n is not None and n.process is not None],
        }
        write_endpoints(self.var / "run" / "processes.json", data)

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        for child in self.children:

            def worth_waiting(child: Child = child) -> bool:
                return child.running() and not self.stopping.is_set()

            healthy = wait_healthy(
                child.address, max(0.0, deadline - time.monotonic()), worth_waiting
            )
            if self.stopping.is_set():
                return True
            if healthy:
                continue
            if not child.running():
                say(
                    f"error: {child.name} exited with code {child.process.returncode} "
                    f"while starting; {child.last_lines()}"
                )
            else:
                say(
                    f"error: {child.name} did not report SERVING on {child.address} within "
                    f"{HEALTH_TIMEOUT:.0f} s; {child.last_lines()}"
                )
            return False
        return True

    def _seed(self) -> None:
        if not self.seed or os.environ.get("REVMENTOR_SEED", "1") == "0":
            say("demo seeding off (--no-seed / REVMENTOR_SEED=0)")
            return
        seeding.seed_demo(self.var, self._target)

    def _target(self, service: str) -> str | None:
        """The gRPC target of a service: its address, or all its replicas' (round robin)."""
        ports = [c.port for c in self.children if c.service == service]
        return target(ports) if ports else None

    def _publish_endpoints(self, elapsed: float) -> None:
        first: dict[str, str] = {}
        replicas: dict[str, list[str]] = {}
        for child in self.children:
            first.setdefault(child.service, child.address)
            replicas.setdefault(child.service, []).append(child.address)
        data = {
            "nats": self.nats_url,
            "services": first,
            "replicas": replicas,
            "pid": os.getpid(),
            "var": str(self.var),
        }
        write_endpoints(self.endpoints, data)
        self.published = True
        say(f"ready in {elapsed:.1f} s:")
        say(f"  {'nats':<{WIDTH}}  {self.nats_url}")
        for child in self.children:
            say(f"  {child.name:<{WIDTH}}  {child.address}  (gRPC, reflection on)")
        say(f"endpoints in {self.endpoints}; Ctrl-C stops everything")

    def _watch(self) -> int:
        """Until a signal (exit 0) or a process dying on its own (exit 1).

        Service tokens are re-minted every :data:`TOKEN_REFRESH_SECONDS`, long
        before they expire; the services read the new file on their next call.
        """
        refreshed = time.monotonic()
        while not self.stopping.wait(0.25):
            if time.monotonic() - refreshed > TOKEN_REFRESH_SECONDS:
                for service in {c.service for c in self.children}:
                    devkeys.write_service_token(self.var, service)
                refreshed = time.monotonic()
            for child in list(self.children):
                if not child.running() and not self._revive(child):
                    say(
                        f"error: {child.name} stopped on its own (exit code "
                        f"{child.process.returncode}); stopping everything. {child.last_lines()}"
                    )
                    return EXIT_FAILED
            if self.cluster is not None and not self._revive_nodes():
                return EXIT_FAILED
            if self.nats is not None and self.nats.process and self.nats.process.poll() is not None:
                say(
                    f"error: nats-server stopped on its own (exit code "
                    f"{self.nats.process.returncode}); stopping everything. "
                    f"See {self.var / 'log' / 'nats.log'}"
                )
                return EXIT_FAILED
        return EXIT_OK

    def _revive(self, child: Child) -> bool:
        """Restart a dead replica, as Kubernetes would; False (stop everything) with
        one replica per service, or when it keeps dying."""
        if self.shape.replicas == 1 or not may_restart(child.restarts):
            return False
        say(f"{child.name} died (exit code {child.process.returncode}); restarting it")
        if child.reader is not None:
            child.reader.join(timeout=2)
        child.process = subprocess.Popen(
            [sys.executable, "-m", f"revmentor.{child.service}.main"],
            env=child.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._follow(child)
        self._write_processes()
        return True

    def _revive_nodes(self) -> bool:
        """Restart a dead NATS node (the cluster keeps serving on the others)."""
        assert self.cluster is not None
        for index, node in enumerate(self.cluster.nodes):
            if node.process is None or node.process.poll() is None:
                continue
            if not may_restart(self.node_restarts.setdefault(index, deque(maxlen=RESTART_LIMIT))):
                say(f"error: NATS node n{index + 1} keeps dying; stopping everything")
                return False
            say(f"NATS node n{index + 1} died; restarting it")
            try:
                node.start()
            except (TimeoutError, OSError) as error:
                say(f"error: NATS node n{index + 1} did not restart ({error})")
                return False
            self._write_processes()
        return True

    # -- shutdown ----------------------------------------------------------------------------
    def _stop(self, code: int) -> int:
        if self.stop_reason:
            say(f"{self.stop_reason}: stopping")
        if self.published:  # never another instance's file
            with contextlib.suppress(FileNotFoundError):
                self.endpoints.unlink()
        running = [c for c in self.children if c.running()]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(c.running() for c in running):
            if time.monotonic() >= deadline or self.force.is_set():
                break
            time.sleep(0.05)
        for child in running:
            if child.running():
                why = "a second signal" if self.force.is_set() else f"{STOP_TIMEOUT:.0f} s"
                say(f"{child.name} still running after {why}; killing it")
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
            child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=5)
            say(f"{child.name} stopped (exit code {child.process.returncode})")
        if self.nats is not None:
            self.nats.stop()
            self.nats_log_stop.set()
            say("nats-server stopped")
        if self.cluster is not None:
            self.cluster.stop()
            say("NATS cluster stopped")
        self.children = []
        self.nats = None
        self.cluster = None
        return code

    def _cleanup(self) -> None:
        """Whatever happened above: no process left behind, lock released."""
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            child.process.wait()
        if self.nats is not None:
            self.nats.kill()
        if self.cluster is not None:
            for node in self.cluster.nodes:
                node.kill()
        self.nats_log_stop.set()
        if self.lock is not None:
            self.lock.close()


async def _declare(url: str, credentials: dict[str, Any]) -> None:
    import nats

    async def quiet(error: Exception) -> None:
        """Connection errors surface as the exception handled by the caller."""

    # one retry, then NoServersError (0 would mean "retry forever" for the first connect)
    nc = await asyncio.wait_for(
        nats.connect(
            nats_servers(url),
            connect_timeout=5,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=quiet,
            **credentials,
        ),
        timeout=15,
    )
    try:
        await _declare_when_ready(nc)
    finally:
        await nc.close()


async def _declare_when_ready(nc: Any, patience: float = 45.0) -> None:
    """Declare the streams, retrying while JetStream is not ready yet: a new
    cluster elects its meta leader a few seconds after its nodes start."""
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import ServiceUnavailableError

    deadline = time.monotonic() + patience
    while True:
        try:
            await asyncio.wait_for(declare_streams(nc.jetstream(timeout=5)), timeout=20)
            return
        except (NoRespondersError, NatsTimeout, ServiceUnavailableError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def run(
    var: Path,
    seed: bool,
    nats_port: int = NATS_PORT,
    secure: bool = False,
    shape: Shape | None = None,
) -> int:
    return Platform(var, seed, nats_port, secure, shape or Shape()).run()
