"""The example policies parse with the models and read back as written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubemedic.api.policies import Mode, RemediationPolicy

EXAMPLES_DIR = Path(__file__).parents[2] / "examples"
POLICIES = [
    path
    for path in sorted(EXAMPLES_DIR.glob("*.yaml"))
    if yaml.safe_load(path.read_text())["kind"] == "RemediationPolicy"
]


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_example_policy_round_trips_through_the_model_unchanged(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text())

    policy = RemediationPolicy.from_wire(manifest)

    assert policy.to_manifest() == manifest


def test_examples_cover_every_trigger_type_and_a_dry_run() -> None:
    policies = [RemediationPolicy.from_wire(yaml.safe_load(p.read_text())) for p in POLICIES]

    trigger_types = {t.type for p in policies for t in p.spec.triggers}
    assert {str(t) for t in trigger_types} == {"PodFailure", "PrometheusQuery", "MemoryTrend"}
    assert any(p.spec.safety.mode is Mode.DRY_RUN for p in policies)


def test_receivers_secret_example_holds_only_marked_placeholders() -> None:
    secret = yaml.safe_load((EXAMPLES_DIR / "receivers-secret.yaml").read_text())

    assert secret["kind"] == "Secret"
    assert all("PLACEHOLDER" in value for value in secret["stringData"].values())
