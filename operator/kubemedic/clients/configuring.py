"""Where the Kubernetes credentials come from: in-cluster, else the kubeconfig."""

from __future__ import annotations

import kubernetes


def load_kubeconfig() -> None:
    """Configure the ``kubernetes`` client for this process."""
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
