"""Incident identity: readable, DNS-safe names and labels that fit their limits."""

from __future__ import annotations

import re

import pytest

from kubemedic.api.common import Severity
from kubemedic.api.incidents import Target, TargetKind
from kubemedic.domain.fingerprints import (
    LABEL_FINGERPRINT,
    LABEL_POLICY,
    LABEL_TARGET_KIND,
    LABEL_TARGET_NAME,
    fingerprint_hash,
    fingerprint_of,
    incident_labels,
    incident_name,
)

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

SHORT = Target(kind=TargetKind.DEPLOYMENT, namespace="shop", name="api")
LONG_NAME = "a" * 120 + "." + "b" * 131  # 252 characters: a legal object name
LONG = Target(kind=TargetKind.STATEFUL_SET, namespace="shop", name=LONG_NAME)
TRAILING = Target(kind=TargetKind.POD, namespace="shop", name="x" * 200 + "-" + "y" * 52)


def name_of(target: Target, *, policy: str = "oom", sequence: int = 0) -> str:
    fingerprint = fingerprint_of(policy=policy, trigger="oom", target=target)
    return incident_name(policy=policy, target=target, fingerprint=fingerprint, sequence=sequence)


def test_fingerprint_names_policy_trigger_and_target() -> None:
    assert fingerprint_of(policy="p", trigger="t", target=SHORT) == "p/t/Deployment/shop/api"


def test_name_is_readable() -> None:
    name = name_of(SHORT)

    assert re.fullmatch(r"oom-api-[0-9a-f]{6}", name)


def test_name_is_stable_for_the_same_fingerprint_and_differs_for_another() -> None:
    other = Target(kind=TargetKind.DEPLOYMENT, namespace="shop", name="web")

    assert name_of(SHORT) == name_of(SHORT)
    assert name_of(SHORT) != name_of(other)
    assert name_of(SHORT) != name_of(SHORT, policy="leaks")


def test_later_incidents_of_a_fingerprint_get_a_sequence_suffix() -> None:
    first, second = name_of(SHORT), name_of(SHORT, sequence=2)

    assert second == f"{first}-2"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(SHORT, id="short"),
        pytest.param(LONG, id="longest-name"),
        pytest.param(TRAILING, id="cut-at-a-dash"),
    ],
)
@pytest.mark.parametrize("sequence", [0, 7, 12345])
def test_names_are_dns_safe_and_fit(target: Target, sequence: int) -> None:
    name = name_of(target, policy="p" * 63, sequence=sequence)

    assert len(name) <= 253
    assert DNS_SUBDOMAIN.fullmatch(name), name


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(SHORT, id="short"),
        pytest.param(LONG, id="longest-name"),
        pytest.param(TRAILING, id="cut-at-a-dash"),
    ],
)
def test_label_values_fit_even_for_long_names(target: Target) -> None:
    fingerprint = fingerprint_of(policy="oom", trigger="oom", target=target)

    labels = incident_labels(
        policy="p" * 100,
        trigger="oom",
        target=target,
        severity=Severity.SEV2,
        fingerprint=fingerprint,
    )

    for value in labels.values():
        assert len(value) <= 63
        assert LABEL_VALUE.fullmatch(value), value
    assert labels[LABEL_FINGERPRINT] == fingerprint_hash(fingerprint)
    assert labels[LABEL_TARGET_KIND] == target.kind.value


def test_short_label_values_are_kept_as_they_are() -> None:
    labels = incident_labels(
        policy="oom",
        trigger="oom",
        target=SHORT,
        severity=Severity.SEV3,
        fingerprint=fingerprint_of(policy="oom", trigger="oom", target=SHORT),
    )

    assert (labels[LABEL_POLICY], labels[LABEL_TARGET_NAME]) == ("oom", "api")


def test_long_label_values_stay_distinct() -> None:
    def target_label(name: str) -> str:
        target = Target(kind=TargetKind.DEPLOYMENT, namespace="shop", name=name)
        labels = incident_labels(
            policy="oom", trigger="oom", target=target, severity=Severity.SEV3, fingerprint="f"
        )
        return labels[LABEL_TARGET_NAME]

    assert target_label("a" * 80 + "1") != target_label("a" * 80 + "2")
