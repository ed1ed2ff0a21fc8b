"""The console scripts, as installed by `pip install -e .` into the venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def run_script(name: str, *args: str) -> str:
    script = BIN / name
    if not script.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable} (run make venv)")
    done = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_kubemedic_run_help_lists_its_options() -> None:
    output = run_script("kubemedic", "run", "--help")
    for option in ("--namespace", "--prometheus-url", "--log-format", "--liveness"):
        assert option in output


def test_kubectl_medic_prints_its_version() -> None:
    assert run_script("kubectl-medic", "version").startswith("kubectl-medic 0.")


def test_kubemedic_crds_prints_both_definitions() -> None:
    documents = list(yaml.safe_load_all(run_script("kubemedic", "crds")))
    assert [d["spec"]["names"]["kind"] for d in documents] == ["RemediationPolicy", "Incident"]
