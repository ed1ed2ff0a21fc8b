#!/usr/bin/env python3
"""How cheap is the pod watch? Prints figures; asserts nothing.

Two parts:

1. The pure path every pod event takes (selector match, failure detection,
   restart bookkeeping), for healthy and failing pods, in microseconds per
   event, and the memory the restart history keeps per pod.
2. With ``--cluster``: the operator as a process against the local control
   plane with ``--pods`` pods (kwok), measuring its memory and CPU after the
   initial listing and the time from an OOM kill to its incident.

Usage: ``.venv/bin/python benchmarks/bench_pod_watch.py [--cluster] [--pods N]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "operator"))
sys.path.insert(0, str(ROOT / "tests"))

from kubemedic.api.policies import RemediationPolicySpec  # noqa: E402
from kubemedic.domain.detecting import RestartSample, detect_pod_failures, total_restarts  # noqa: E402
from kubemedic.domain.selecting import matches_selector  # noqa: E402
from kubemedic.handlers.runtime import RestartHistory  # noqa: E402

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)


def pod(name: str, *, oom: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "app",
        "ready": True,
        "restartCount": 1 if oom else 0,
        "state": {"running": {"startedAt": "2026-12-03T11:00:00Z"}},
    }
    if oom:
        container["lastState"] = {
            "terminated": {
                "reason": "OOMKilled",
                "exitCode": 137,
                "finishedAt": "2026-12-03T11:59:50Z",
            }
        }
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "labels": {"app": "api", "pod-template-hash": "abc"},
        },
        "status": {
            "phase": "Running",
            "startTime": "2026-12-03T10:00:00Z",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-03T11:00:05Z"}
            ],
            "containerStatuses": [container],
        },
    }


def policy() -> RemediationPolicySpec:
    return RemediationPolicySpec.model_validate(
        {
            "selector": {"matchLabels": {"app": "api"}},
            "triggers": [
                {
                    "name": "oom",
                    "type": "PodFailure",
                    "podFailure": {
                        "reasons": ["OOMKilled", "CrashLoopBackOff"],
                        "restartBurst": {"count": 5, "withinSeconds": 600},
                        "notReadyForSeconds": 120,
                    },
                },
            ],
        }
    )


def bench_pure(policies: int) -> None:
    specs = [policy() for _ in range(policies)]
    history = RestartHistory()
    healthy, failing = pod("api-1"), pod("api-2", oom=True)

    def handle(body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        samples = history.record(metadata["uid"], RestartSample(NOW, total_restarts(body)))
        for spec in specs:
            if not matches_selector(metadata["labels"], spec.selector):
                continue
            for trigger in spec.triggers:
                assert trigger.pod_failure is not None
                detect_pod_failures(body, trigger.pod_failure, now=NOW, restart_history=samples)

    for label, body in (("healthy pod", healthy), ("OOM-killed pod", failing)):
        runs = 20_000
        seconds = min(timeit.repeat(lambda b=body: handle(b), number=runs, repeat=5))
        micros = seconds / runs * 1e6
        print(
            f"pure path, {label}, {policies} policies: {micros:6.1f} µs/event "
            f"({1e6 / micros:,.0f} events/s on one core)"
        )

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    big = RestartHistory()
    for i in range(10_000):
        for restarts in range(3):
            big.record(f"uid-{i}", RestartSample(NOW, restarts))
    after = tracemalloc.take_snapshot()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    tracemalloc.stop()
    print(f"restart history: {size / 10_000:.0f} bytes per pod (10,000 pods, 3 samples each)")


def bench_cluster(pods: int) -> None:
    import yaml
    from kubernetes import config
    from kubernetes.client import ApiextensionsV1Api, AppsV1Api, CoreV1Api

    from support.crds import CRDS_DIR, apply_crd, wait_for_established
    from support.incidents import create_policy, wait_for_incidents
    from support.operators import OperatorProcess
    from support.workloads import create_deployment, simulate_oom_kill

    kubeconfig = Path(
        subprocess.run(
            [str(ROOT / "hack/devcluster"), "up"], check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    api = config.new_client_from_config(config_file=str(kubeconfig))
    extensions = ApiextensionsV1Api(api)
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        apply_crd(extensions, crd)
        wait_for_established(extensions, crd["metadata"]["name"])
    core = CoreV1Api(api)
    namespace = f"bench-{int(time.time())}"
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        while not core.list_namespaced_service_account(namespace).items:
            time.sleep(0.2)
        started = time.monotonic()
        create_deployment(api, namespace, "api", replicas=pods, timeout=900)
        print(f"cluster: {pods} pods Ready in {time.monotonic() - started:.0f}s")
        create_policy(api, namespace, {"metadata": {"name": "oom"}, "spec": policy().to_wire()})

        log = Path(tempfile.mkdtemp()) / "operator.log"
        operator = OperatorProcess(kubeconfig=kubeconfig, namespace=namespace, log_path=log)
        started = time.monotonic()
        operator.start()
        time.sleep(5)
        assert operator.process is not None
        pid = operator.process.pid
        rss_kib = int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        print(
            f"operator after the initial listing of {pods} pods: RSS {rss_kib / 1024:.0f} MiB, "
            f"CPU {cpu:.1f}s since start (incl. imports)"
        )

        victim = sorted(p.metadata.name for p in core.list_namespaced_pod(namespace).items)[0]
        started = time.monotonic()
        simulate_oom_kill(api, namespace, victim)
        wait_for_incidents(api, namespace, timeout=60)
        print(f"OOM kill to Incident with {pods} pods watched: {time.monotonic() - started:.2f}s")
        operator.stop()
        AppsV1Api(api).delete_namespaced_deployment("api", namespace)
    finally:
        core.delete_namespace(namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", action="store_true", help="also run against the devcluster")
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--policies", type=int, default=5)
    args = parser.parse_args()
    bench_pure(args.policies)
    if args.cluster:
        bench_cluster(args.pods)


if __name__ == "__main__":
    main()
