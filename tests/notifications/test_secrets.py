"""Reading the Secrets receivers refer to, from the real local control plane."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient, CoreV1Api, V1ObjectMeta, V1Secret

from kubemedic.api.common import SecretKeyRef
from kubemedic.clients.secrets import KubernetesSecretResolver
from kubemedic.errors import NotFoundError


@pytest.mark.cluster
async def test_kubernetes_resolver_reads_a_key_and_names_what_is_missing(
    kube_api: ApiClient, namespace: str
) -> None:
    core = CoreV1Api(kube_api)
    core.create_namespaced_secret(
        namespace,
        V1Secret(
            metadata=V1ObjectMeta(name="slack"),
            string_data={"url": "https://hooks.slack.com/services/T0/B0/x\n"},
        ),
    )
    secrets = KubernetesSecretResolver(core)

    value = await secrets.read(namespace, SecretKeyRef(name="slack", key="url"))
    with pytest.raises(NotFoundError) as no_key:
        await secrets.read(namespace, SecretKeyRef(name="slack", key="token"))
    with pytest.raises(NotFoundError) as no_secret:
        await secrets.read(namespace, SecretKeyRef(name="pagerduty", key="routing-key"))

    assert value == "https://hooks.slack.com/services/T0/B0/x"
    assert str(no_key.value).startswith(f"Secret {namespace}/slack has no key token (it has: url)")
    assert str(no_secret.value).startswith(
        f"Secret {namespace}/pagerduty does not exist; create it with the key routing-key"
    )
