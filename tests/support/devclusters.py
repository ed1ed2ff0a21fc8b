"""Starting the local control plane through `hack/devcluster`.

The script owns the processes; this module only runs it and reads its state
(`cluster.json`, `logs/`), so that a test session and a shell share one
cluster and a rerun of the tests finds it already up.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEVCLUSTER_SCRIPT = REPO / "hack" / "devcluster"
BUILD_SCRIPT = REPO / "hack" / "build-binaries"


def find_state_dir() -> Path:
    """The folder `hack/devcluster` keeps its state and logs in."""
    default = Path.home() / ".cache" / "kubemedic" / "devcluster"
    return Path(os.environ.get("KUBEMEDIC_DEVCLUSTER_DIR") or default)


def run_devcluster(command: str, *, timeout: float = 1800) -> str:
    """Run a `hack/devcluster` subcommand and return its result line.

    The generous default timeout covers `up` on a machine where the
    control-plane binaries are not built yet.
    """
    result = subprocess.run(
        [str(DEVCLUSTER_SCRIPT), command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"hack/devcluster {command} failed ({result.returncode}):\n{result.stderr}"
        )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class DevCluster:
    """A running cluster: its admin kubeconfig, binaries and logs."""

    kubeconfig: Path
    bin_dir: Path
    state_dir: Path

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the kubectl built with the control plane against this cluster."""
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )


def find_bin_dir(state_dir: Path) -> Path:
    """Where kubectl and friends are: the cluster's own, else the build cache."""
    try:
        state = json.loads((state_dir / "cluster.json").read_text())
        return Path(state["bin_dir"])
    except (OSError, ValueError, KeyError):
        pass
    output = subprocess.run(
        [str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=True, timeout=1800
    ).stdout
    return Path(output.strip().splitlines()[-1])


def start_devcluster() -> DevCluster:
    """Bring the cluster up (a no-op when it is up) and describe it.

    $KUBECONFIG_KUBEMEDIC, when set, names the kubeconfig of a cluster that
    is already running (a kind cluster, say); nothing is started then.
    """
    state_dir = find_state_dir()
    external = os.environ.get("KUBECONFIG_KUBEMEDIC")
    kubeconfig = Path(external) if external else Path(run_devcluster("up"))
    return DevCluster(kubeconfig=kubeconfig, bin_dir=find_bin_dir(state_dir), state_dir=state_dir)
