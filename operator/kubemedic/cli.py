"""The ``kubemedic`` command: run the operator, print the CRDs, report incidents."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kubemedic import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kubemedic`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    result: int = args.func(args)
    return result


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubemedic",
        description="A Kubernetes operator that turns failures into incidents and heals them.",
    )
    parser.add_argument("--version", action="version", version=f"kubemedic {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the operator")
    run.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace (repeatable); all namespaces if omitted",
    )
    run.add_argument(
        "--prometheus-url",
        default=None,
        help="Prometheus base URL for query and memory-trend triggers "
        "(default: $KUBEMEDIC_PROMETHEUS_URL)",
    )
    run.add_argument(
        "--log-format",
        choices=["plain", "full", "json"],
        default="plain",
        help="log format; json for log collectors",
    )
    run.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    run.add_argument(
        "--leader-election-namespace",
        default=None,
        help="namespace of the leader-election Lease (default: $POD_NAMESPACE or 'default')",
    )
    run.add_argument(
        "--no-leader-election",
        action="store_true",
        help="act without holding the Lease (only for a single replica)",
    )
    run.add_argument(
        "--liveness",
        default=None,
        metavar="URL",
        help="serve liveness probes at this URL, e.g. http://0.0.0.0:8080/healthz",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port (default: none)",
    )
    run.add_argument(
        "--pause-annotation-namespace",
        default=None,
        help="namespace whose annotation kubemedic.io/paused=true pauses all actions "
        "(default: the leader-election namespace)",
    )
    run.set_defaults(func=_run)

    crds = commands.add_parser("crds", help="print the CustomResourceDefinitions as YAML")
    crds.add_argument("--out", type=Path, default=None, help="write one file per CRD into DIR")
    crds.set_defaults(func=_crds)

    report = commands.add_parser("report", help="summarize incidents of a namespace")
    report.add_argument("--namespace", "-n", default=None, help="namespace (all if omitted)")
    report.set_defaults(func=_report)
    return parser


def _run(args: argparse.Namespace) -> int:
    from kubemedic import running

    return running.run_operator(args)


def _crds(args: argparse.Namespace) -> int:
    from kubemedic.api import crds

    documents = crds.all_crds()
    if args.out is None:
        sys.stdout.write("---\n".join(crds.render_yaml(d) for d in documents))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for document in documents:
        path = args.out / f"{document['metadata']['name']}.yaml"
        path.write_text(crds.render_yaml(document))
        print(f"Wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from kubemedic import reporting

    return reporting.print_report(namespace=args.namespace)


if __name__ == "__main__":
    raise SystemExit(main())
