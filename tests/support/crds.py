"""The CRDs installed in the devcluster, for any test that needs the kinds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, ApiextensionsV1Api
from kubernetes.client.exceptions import ApiException

CRDS_DIR = Path(__file__).parents[2] / "crds"


@pytest.fixture(scope="session")
def kubemedic_crds(kube_api: ApiClient) -> list[str]:
    """Apply crds/*.yaml as they are and wait until the API server serves them.

    Creation is strict, so a schema keyword the API server does not know
    fails here rather than being dropped silently.
    """
    extensions = ApiextensionsV1Api(kube_api)
    names = []
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        apply_crd(extensions, crd)
        names.append(crd["metadata"]["name"])
    for name in names:
        wait_for_established(extensions, name)
    return names


def apply_crd(extensions: ApiextensionsV1Api, crd: dict[str, Any]) -> None:
    # NB: the client sends a plain dict as it is; its stubs only know models.
    body: Any = crd
    name = crd["metadata"]["name"]
    for _ in range(5):
        try:
            extensions.create_custom_resource_definition(body, field_validation="Strict")
            return
        except ApiException as error:
            if error.status != 409:
                raise

        # It exists (an earlier session): replace it, retrying a racing writer.
        current = extensions.read_custom_resource_definition(name)
        assert current.metadata is not None
        crd["metadata"]["resourceVersion"] = current.metadata.resource_version
        try:
            extensions.replace_custom_resource_definition(name, body, field_validation="Strict")
            return
        except ApiException as error:
            if error.status != 409:
                raise
    raise TimeoutError(f"CustomResourceDefinition {name} kept changing under us")


def wait_for_established(extensions: ApiextensionsV1Api, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        crd = extensions.read_custom_resource_definition(name)
        found = crd.status.conditions if crd.status is not None else None
        conditions = {c.type: c.status for c in found or []}
        if conditions.get("Established") == "True" and conditions.get("NamesAccepted") == "True":
            return
        time.sleep(0.2)
    raise TimeoutError(f"CustomResourceDefinition {name} is not Established")
