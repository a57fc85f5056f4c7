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
   ``REVMENTOR_SEED=0``): enrolled, five mentors certified, one matching round
   run and its first proposals accepted by both sides, and each confirmed pair
   with a session held last week and one booked for next week; both members
   of each pair then give their feedback on it and answer their baseline
   survey, and the programme's outcomes report is printed.
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
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import grpc

from revmentor.cli import demo, demo_feedback, devkeys
from revmentor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, CliError, emit
from revmentor.cli.endpoints import endpoints_file, wait_healthy, write_endpoints
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.feedback.v1.feedback_pb2_grpc import FeedbackServiceStub
from revmentor.kernel.crypto import ensure_dev_kek
from revmentor.kernel.natsauth import SecureNatsConfig, write_secure_config
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.settings import DEFAULT_PORTS
from revmentor.kernel.streams import SERVICES, declare_streams
from revmentor.kernel.tls import secure_channel
from revmentor.matching.v1.matching_pb2_grpc import MatchingServiceStub
from revmentor.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceStub
from revmentor.training.v1.training_pb2_grpc import TrainingServiceStub

NATS_PORT = 4222
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
LOG_TAIL = 30
TOKEN_REFRESH_SECONDS = 3600.0
WIDTH = max(len(name) for name in (*SERVICES, "nats", "up"))


def say(text: str, name: str = "up") -> None:
    emit(f"{name:<{WIDTH}} | {text}")


def available_services() -> list[str]:
    """The services of this platform that exist as code today."""
    found = []
    for service in SERVICES:
        with contextlib.suppress(ImportError, ValueError):
            if importlib.util.find_spec(f"revmentor.{service}.main") is not None:
                found.append(service)
    return found


@dataclass
class Child:
    """One service process and the tail of what it printed."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    reader: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def last_lines(self) -> str:
        if self.reader is not None:
            self.reader.join(timeout=2)
        lines = list(self.tail) or ["(no output)"]
        shown = "\n".join(f"    {line}" for line in lines)
        return f"last lines of its output (all of it is in {self.log_file}):\n{shown}"


def _pump(child: Child) -> None:
    """Copy a child's output to the terminal (named) and to its log file."""
    assert child.process.stdout is not None
    with open(child.log_file, "ab") as log:
        for raw in iter(child.process.stdout.readline, b""):
            log.write(raw)
            log.flush()
            line = raw.decode("utf-8", "replace").rstrip()
            child.tail.append(line)
            say(line, child.name)


def _follow_nats_log(path: Path, start: int, stop: threading.Event) -> None:
    """Show NATS warnings and errors from its log file (the banner stays in the file)."""
    with contextlib.suppress(OSError), open(path, "rb") as log:
        log.seek(start)
        while True:
            raw = log.readline()
            if not raw:
                if stop.wait(0.2):
                    return
                continue
            line = raw.decode("utf-8", "replace").rstrip()
            if any(mark in line for mark in ("[WRN]", "[ERR]", "[FTL]", "Server is ready")):
                say(line, "nats")


class Platform:
    def __init__(self, var: Path, seed: bool, nats_port: int, secure: bool = False):
        self.var = var.resolve()
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
        steps = (self._take_lock, self._start_nats, self._declare_streams, self._start_services)
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
            target=_follow_nats_log,
            args=(log_file, log_start, self.nats_log_stop),
            name="nats-log",
            daemon=True,
        ).start()
        say(f"NATS with JetStream on {self.nats_url} (store {self.var / 'nats'}, log {log_file})")

    def _declare_streams(self) -> None:
        try:
            admin = self.nats_users.users["admin"].connect_options() if self.nats_users else {}
            asyncio.run(_declare(self.nats_url, admin))
        except Exception as error:  # noqa: BLE001 - any failure: say which and what to do
            hint = (
                "check NATS_URL, or unset it so `revmentor up` starts its own NATS"
                if self.nats is None
                else f"see {self.var / 'log' / 'nats.log'}"
            )
            raise CliError(
                f"could not declare the JetStream streams on {self.nats_url} "
                f"({type(error).__name__}: {error}); {hint}",
                EXIT_UNREACHABLE,
            ) from None
        say(f"streams declared for {', '.join(SERVICES)} and the dead-letter stream")

    def _ports(self, services: list[str]) -> dict[str, int]:
        ports: dict[str, int] = {}
        for service in services:
            variable = f"{service.upper()}_GRPC_PORT"
            wanted = os.environ.get(variable) or str(DEFAULT_PORTS.get(service, 0))
            if not wanted.isdigit():
                raise CliError(f"{variable}={wanted!r} is not a port number")
            preferred = int(wanted)
            port = free_port(preferred) if preferred else free_port()
            while port in ports.values():
                port = free_port()
            if preferred and port != preferred:
                say(f"port {preferred} is taken; {service} on {port} instead")
            ports[service] = port
        return ports

    def _start_services(self) -> None:
        services = available_services()
        if not services:
            raise CliError("no service modules found (revmentor.<service>.main); reinstall")
        ports = self._ports(services)
        env = dict(os.environ)
        env.update(
            NATS_URL=self.nats_url,
            REVMENTOR_VAR_DIR=str(self.var),
            PYTHONUNBUFFERED="1",
        )
        env.update(devkeys.service_env(self.var))
        env["REVMENTOR_KEK_FILE"] = str(self.var / "secrets" / "kek")
        ensure_dev_kek(self.var)
        (self.var / "secrets").chmod(0o700)  # signing key, KEK, NATS passwords
        env.update({f"REVMENTOR_{s.upper()}_ADDR": f"127.0.0.1:{p}" for s, p in ports.items()})
        log_dir = self.var / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        for service in services:
            child_env = {**env, f"{service.upper()}_GRPC_PORT": str(ports[service])}
            token_file = devkeys.write_service_token(self.var, service)
            child_env[f"REVMENTOR_{service.upper()}_TOKEN_FILE"] = str(token_file)
            if self.nats_users:  # each service gets its own NATS user, and only its own
                child_env.update(self.nats_users.users[service].env())
            process = subprocess.Popen(
                [sys.executable, "-m", f"revmentor.{service}.main"],
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches `up`, which stops them in order
            )
            child = Child(service, ports[service], process, log_dir / f"{service}.log")
            child.reader = threading.Thread(
                target=_pump, args=(child,), name=f"{service}-output", daemon=True
            )
            child.reader.start()
            self.children.append(child)
            say(f"started {service} (pid {process.pid}) on gRPC port {child.port}")

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
        enrolment = next((c for c in self.children if c.name == "enrolment"), None)
        if enrolment is None:
            return
        token = devkeys.load(self.var).mint(demo.ACTOR, ["admin"], devkeys.TOOL_TOKEN_SECONDS)
        try:
            with secure_channel(enrolment.address) as channel:
                stub = pb_grpc.EnrolmentServiceStub(channel)
                found = stub.ListProgrammes(
                    pb.ListProgrammesRequest(page_size=1),
                    timeout=30,
                    metadata=(("authorization", f"Bearer {token}"),),
                )
                if found.total_size:
                    say(f"{found.total_size} programme(s) already there; not seeding the demo")
                    return
                summary = demo.seed(stub, token)
                training = next((c for c in self.children if c.name == "training"), None)
                if training is not None:
                    with secure_channel(training.address) as training_channel:
                        summary += demo.train(stub, TrainingServiceStub(training_channel), token)
                matching = next((c for c in self.children if c.name == "matching"), None)
                if matching is not None and training is not None:
                    with secure_channel(matching.address) as matching_channel:
                        summary += demo.match(stub, MatchingServiceStub(matching_channel), token)
                    scheduling = next((c for c in self.children if c.name == "scheduling"), None)
                    if scheduling is not None:
                        with secure_channel(scheduling.address) as scheduling_channel:
                            summary += demo.schedule(
                                stub, SchedulingServiceStub(scheduling_channel), token
                            )
                            summary += self._seed_feedback(stub, scheduling_channel, token)
                say(summary)
        except grpc.RpcError as error:
            say(
                f"warning: could not seed the demo programme ({error.code().name}: "  # type: ignore[attr-defined]
                f"{error.details()}); the platform runs without it"  # type: ignore[attr-defined]
            )

    def _seed_feedback(self, enrolment: Any, scheduling_channel: Any, token: str) -> str:
        """The pairs' feedback and baseline surveys, each member acting as themself."""
        feedback = next((c for c in self.children if c.name == "feedback"), None)
        if feedback is None:
            return ""
        key = devkeys.load(self.var)

        def mint(employee_id: str, role: str) -> str:
            return key.mint(
                f"demo:{employee_id}", [role], devkeys.TOOL_TOKEN_SECONDS, employee_id=employee_id
            )

        with secure_channel(feedback.address) as channel:
            return demo_feedback.feedback(
                enrolment,
                SchedulingServiceStub(scheduling_channel),
                FeedbackServiceStub(channel),
                token,
                mint,
                demo.NAME,
            )

    def _publish_endpoints(self, elapsed: float) -> None:
        data = {
            "nats": self.nats_url,
            "services": {c.name: c.address for c in self.children},
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
                for child in self.children:
                    devkeys.write_service_token(self.var, child.name)
                refreshed = time.monotonic()
            for child in self.children:
                if not child.running():
                    say(
                        f"error: {child.name} stopped on its own (exit code "
                        f"{child.process.returncode}); stopping everything. {child.last_lines()}"
                    )
                    return EXIT_FAILED
            if self.nats is not None and self.nats.process and self.nats.process.poll() is not None:
                say(
                    f"error: nats-server stopped on its own (exit code "
                    f"{self.nats.process.returncode}); stopping everything. "
                    f"See {self.var / 'log' / 'nats.log'}"
                )
                return EXIT_FAILED
        return EXIT_OK

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
        self.children = []
        self.nats = None
        return code

    def _cleanup(self) -> None:
        """Whatever happened above: no process left behind, lock released."""
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            child.process.wait()
        if self.nats is not None:
            self.nats.kill()
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
            url,
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
        await asyncio.wait_for(declare_streams(nc.jetstream(timeout=5)), timeout=20)
    finally:
        await nc.close()


def run(var: Path, seed: bool, nats_port: int = NATS_PORT, secure: bool = False) -> int:
    return Platform(var, seed, nats_port, secure).run()
