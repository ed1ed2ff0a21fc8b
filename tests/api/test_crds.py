"""The generated CRDs: in sync with the models, and structural."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubemedic.api import crds
from kubemedic.cli import main

CRDS_DIR = Path(__file__).parents[2] / "crds"


def schema_nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node under ``node``, with a readable path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from schema_nodes(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(node["additionalProperties"], f"{path}{{}}")


def generated_schemas() -> list[Any]:
    return [
        pytest.param(
            crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], id=crd["spec"]["names"]["kind"]
        )
        for crd in crds.all_crds()
    ]


def test_crds_folder_equals_what_kubemedic_crds_generates(tmp_path: Path) -> None:
    main(["crds", "--out", str(tmp_path)])

    generated = {p.name: p.read_text() for p in tmp_path.glob("*.yaml")}
    committed = {p.name: p.read_text() for p in CRDS_DIR.glob("*.yaml")}
    assert generated == committed, "crds/ is stale: run `kubemedic crds --out crds`"


def test_printing_the_crds_gives_the_same_documents(capsys: pytest.CaptureFixture[str]) -> None:
    main(["crds"])

    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert documents == crds.all_crds()


@pytest.mark.parametrize("schema", generated_schemas())
def test_every_string_is_bounded(schema: dict[str, Any]) -> None:
    unbounded = [
        path
        for path, node in schema_nodes(schema)
        if node.get("type") == "string"
        and path not in (".apiVersion", ".kind")
        and not ({"maxLength", "enum"} & node.keys() or node.get("format") == "date-time")
    ]

    assert unbounded == []


@pytest.mark.parametrize("schema", generated_schemas())
def test_every_array_and_map_is_bounded(schema: dict[str, Any]) -> None:
    unbounded = [
        path
        for path, node in schema_nodes(schema)
        if (node.get("type") == "array" and "maxItems" not in node)
        or (isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node)
    ]

    assert unbounded == []


@pytest.mark.parametrize("schema", generated_schemas())
def test_every_node_is_typed_and_free_of_json_schema_leftovers(schema: dict[str, Any]) -> None:
    leftovers = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "const", "default", "propertyNames"}

    untyped = [path for path, node in schema_nodes(schema) if "type" not in node]
    unsupported = [
        (path, sorted(leftovers & node.keys()))
        for path, node in schema_nodes(schema)
        if leftovers & node.keys()
    ]

    assert untyped == []
    assert unsupported == []


@pytest.mark.parametrize("schema", generated_schemas())
def test_every_field_is_described(schema: dict[str, Any]) -> None:
    undescribed = [
        path
        for path, node in schema_nodes(schema)
        if path.startswith((".spec.", ".status."))
        and not path.endswith("[]")
        and not path.endswith("{}")
        and not node.get("description")
    ]

    assert undescribed == []


def test_named_lists_of_a_policy_are_keyed_by_name() -> None:
    spec = crds.policy_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]

    keyed = {
        path: node.get("x-kubernetes-list-map-keys")
        for path, node in schema_nodes(spec)
        if node.get("x-kubernetes-list-type") == "map"
    }

    assert keyed == {
        ".triggers": ["name"],
        ".actions": ["name"],
        ".escalation.timeouts": ["severity"],
        ".notifications.receivers": ["name"],
    }


@pytest.mark.parametrize(
    ("crd", "short_name", "columns"),
    [
        pytest.param(
            crds.incident_crd(),
            "inc",
            ["Sev", "Phase", "Target", "Actions", "Ack", "Age"],
            id="inc",
        ),
        pytest.param(
            crds.policy_crd(),
            "rpol",
            ["Mode", "Ready", "Allowed", "Open", "Actions/1h", "Age"],
            id="rpol",
        ),
    ],
)
def test_crd_shows_the_on_call_columns_first_and_the_rest_at_priority_1(
    crd: dict[str, Any], short_name: str, columns: list[str]
) -> None:
    version = crd["spec"]["versions"][0]

    default_columns = [
        c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")
    ]
    assert default_columns == columns
    assert crd["spec"]["names"]["shortNames"] == [short_name]
    assert crd["spec"]["names"]["categories"] == ["kubemedic"]
    assert version["subresources"] == {"status": {}}
