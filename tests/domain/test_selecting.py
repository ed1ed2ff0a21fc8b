"""Label selectors: matched the way the API server matches them."""

from __future__ import annotations

from typing import Any

import pytest

from kubemedic.api.policies import Selector
from kubemedic.domain.selecting import matches_selector, to_label_selector

LABELS = {"app": "api", "tier": "backend"}


def selector(**wire: Any) -> Selector:
    return Selector.from_wire(wire)


@pytest.mark.parametrize(
    ("wanted", "is_match"),
    [
        pytest.param(selector(), True, id="empty-selects-all"),
        pytest.param(selector(matchLabels={"app": "api"}), True, id="labels-match"),
        pytest.param(selector(matchLabels={"app": "web"}), False, id="label-differs"),
        pytest.param(selector(matchLabels={"team": "x"}), False, id="label-missing"),
        pytest.param(
            selector(matchExpressions=[{"key": "app", "operator": "In", "values": ["api", "web"]}]),
            True,
            id="in",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "app", "operator": "In", "values": ["web"]}]),
            False,
            id="in-other-value",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "team", "operator": "In", "values": ["x"]}]),
            False,
            id="in-key-missing",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "app", "operator": "NotIn", "values": ["api"]}]),
            False,
            id="notin-excluded",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "app", "operator": "NotIn", "values": ["web"]}]),
            True,
            id="notin-other-value",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "team", "operator": "NotIn", "values": ["x"]}]),
            True,
            id="notin-key-missing",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "tier", "operator": "Exists"}]), True, id="exists"
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "team", "operator": "Exists"}]),
            False,
            id="exists-missing",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "team", "operator": "DoesNotExist"}]),
            True,
            id="does-not-exist",
        ),
        pytest.param(
            selector(matchExpressions=[{"key": "app", "operator": "DoesNotExist"}]),
            False,
            id="does-not-exist-present",
        ),
        pytest.param(
            selector(
                matchLabels={"app": "api"},
                matchExpressions=[{"key": "tier", "operator": "In", "values": ["frontend"]}],
            ),
            False,
            id="requirements-are-anded",
        ),
    ],
)
def test_matches_selector(wanted: Selector, is_match: bool) -> None:
    assert matches_selector(LABELS, wanted) is is_match


@pytest.mark.parametrize(
    ("wanted", "query"),
    [
        pytest.param(selector(), "", id="empty"),
        pytest.param(
            selector(matchLabels={"tier": "backend", "app": "api"}),
            "app=api,tier=backend",
            id="labels-sorted",
        ),
        pytest.param(
            selector(
                matchLabels={"app": "api"},
                matchExpressions=[
                    {"key": "env", "operator": "In", "values": ["prod", "staging"]},
                    {"key": "canary", "operator": "NotIn", "values": ["true"]},
                    {"key": "tier", "operator": "Exists"},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            ),
            "app=api,env in (prod,staging),canary notin (true),tier,!legacy",
            id="every-operator",
        ),
    ],
)
def test_to_label_selector(wanted: Selector, query: str) -> None:
    assert to_label_selector(wanted) == query
