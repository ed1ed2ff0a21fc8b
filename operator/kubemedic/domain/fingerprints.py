"""Incident identity: fingerprints, names and labels.

A fingerprint is policy + trigger + target. Signals with the same fingerprint
belong to the same incident while it is open (or recently resolved); names are
readable (``<policy>-<target>-<hash>``) and derived from the fingerprint, so
two racing creations of the same incident collide instead of duplicating.
"""

from __future__ import annotations

import hashlib

from kubemedic import GROUP
from kubemedic.api.common import Severity
from kubemedic.api.incidents import Target

LABEL_POLICY = f"{GROUP}/policy"
LABEL_TARGET_KIND = f"{GROUP}/target-kind"
LABEL_TARGET_NAME = f"{GROUP}/target-name"
LABEL_SEVERITY = f"{GROUP}/severity"
LABEL_FINGERPRINT = f"{GROUP}/fingerprint"
LABEL_TRIGGER = f"{GROUP}/trigger"

_NAME_LIMIT = 253
_LABEL_VALUE_LIMIT = 63


def fingerprint_of(*, policy: str, trigger: str, target: Target) -> str:
    """The identity of a failure: which policy saw which trigger fire on which target."""
    return f"{policy}/{trigger}/{target.kind}/{target.namespace}/{target.name}"


def fingerprint_hash(fingerprint: str) -> str:
    """A short stable hash of a fingerprint, usable as a label value."""
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def incident_name(*, policy: str, target: Target, fingerprint: str, sequence: int = 0) -> str:
    """A readable unique name: ``<policy>-<target>-<hash>`` (``-<n>`` for later ones)."""
    digest = fingerprint_hash(fingerprint)[:6]
    suffix = f"-{digest}" if sequence == 0 else f"-{digest}-{sequence}"
    stem = f"{policy}-{target.name}"
    stem = stem[: _NAME_LIMIT - len(suffix)].rstrip("-.")
    return f"{stem}{suffix}"


def incident_labels(
    *, policy: str, trigger: str, target: Target, severity: Severity, fingerprint: str
) -> dict[str, str]:
    """Labels that make ``kubectl get inc -l`` work for the usual questions."""
    return {
        LABEL_POLICY: _label_value(policy),
        LABEL_TRIGGER: _label_value(trigger),
        LABEL_TARGET_KIND: target.kind.value,
        LABEL_TARGET_NAME: _label_value(target.name),
        LABEL_SEVERITY: severity.value,
        LABEL_FINGERPRINT: fingerprint_hash(fingerprint),
    }


def _label_value(value: str) -> str:
    # NB: object names may be up to 253 characters, label values only 63.
    if len(value) <= _LABEL_VALUE_LIMIT:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: _LABEL_VALUE_LIMIT - 9].rstrip('-.')}-{digest}"
