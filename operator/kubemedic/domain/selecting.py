"""Label selectors, evaluated the way the API server does."""

from __future__ import annotations

from collections.abc import Mapping

from kubemedic.api.common import SelectorOperator
from kubemedic.api.policies import Selector


def matches_selector(labels: Mapping[str, str], selector: Selector) -> bool:
    """Whether an object with ``labels`` is selected; an empty selector selects all."""
    for key, wanted in (selector.match_labels or {}).items():
        if labels.get(key) != wanted:
            return False
    for requirement in selector.match_expressions or []:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        values = requirement.values or []
        match requirement.operator:
            case SelectorOperator.IN:
                if value not in values:
                    return False
            case SelectorOperator.NOT_IN:
                if present and value in values:
                    return False
            case SelectorOperator.EXISTS:
                if not present:
                    return False
            case SelectorOperator.DOES_NOT_EXIST:
                if present:
                    return False
    return True


def to_label_selector(selector: Selector) -> str:
    """The selector as the API's ``labelSelector`` query string."""
    parts = [f"{k}={v}" for k, v in sorted((selector.match_labels or {}).items())]
    for requirement in selector.match_expressions or []:
        values = ",".join(requirement.values or [])
        match requirement.operator:
            case SelectorOperator.IN:
                parts.append(f"{requirement.key} in ({values})")
            case SelectorOperator.NOT_IN:
                parts.append(f"{requirement.key} notin ({values})")
            case SelectorOperator.EXISTS:
                parts.append(requirement.key)
            case SelectorOperator.DOES_NOT_EXIST:
                parts.append(f"!{requirement.key}")
    return ",".join(parts)
