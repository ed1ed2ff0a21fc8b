"""Helpers for tests that run against the real local control plane.

The pieces, one module each:

- `devclusters`: starting `hack/devcluster` and finding its state and logs.
- `prometheuses`: a handle on the local Prometheus (targets, stop, start,
  queries).
- `exporters`: a real Prometheus exporter inside the test process, whose
  metric values a test sets.
- `workloads`: creating Deployments, waiting for pods, and making a pod report
  what a kubelet would after an OOM kill or a crash loop.

The fixtures that wrap them live in `tests/conftest.py`.
"""
