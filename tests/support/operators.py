"""The operator under test, as a real process: `python -m kubemedic run`.

Each test gets its own operator watching only the test's namespace, holding
its Lease there, so tests never share an operator or a leader. The process
logs to a file that is shown when the test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

OPERATOR_DIR = Path(__file__).parents[2] / "operator"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OperatorProcess:
    """One `kubemedic run` process, started and stopped by a test."""

    def __init__(
        self,
        *,
        kubeconfig: Path,
        namespace: str,
        log_path: Path,
        prometheus_url: str | None = None,
        resync_seconds: float = 1.0,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.log_path = log_path
        self.prometheus_url = prometheus_url
        self.resync_seconds = resync_seconds
        self.extra_args = extra_args
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, *, wait: bool = True) -> OperatorProcess:
        self.port = free_port()
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONPATH": str(OPERATOR_DIR),
            "KUBEMEDIC_RESYNC_SECONDS": str(self.resync_seconds),
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "kubemedic",
            "run",
            "--namespace",
            self.namespace,
            "--leader-election-namespace",
            self.namespace,
            "--liveness",
            f"http://127.0.0.1:{self.port}/healthz",
            "--verbose",
            *self.extra_args,
        ]
        if self.prometheus_url:
            command += ["--prometheus-url", self.prometheus_url]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until kopf answers its liveness probe (the Lease is held by then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the operator exited with {self.process.returncode}:\n{self.logs()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"the operator did not become ready:\n{self.logs()[-3000:]}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop in time; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself; its exit code."""
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no Lease release, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
