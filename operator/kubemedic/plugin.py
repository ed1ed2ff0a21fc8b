"""``kubectl medic``: the kubectl plugin for on-call engineers.

::

    kubectl medic list [-n NS | -A]          incidents, worst first
    kubectl medic show INCIDENT              timeline and actions of one incident
    kubectl medic ack INCIDENT [--by NAME]   take an incident (spec.acknowledgedBy)
    kubectl medic retry INCIDENT             restart an escalated incident's ladder
    kubectl medic false-positive INCIDENT    close an incident as a false positive
    kubectl medic pause|resume [-n NS]       the global switch on the operator's namespace
    kubectl medic version

Humans only ever change ``spec`` (and the pause annotation); the operator
reads the change and records it in status.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import Any

import kubernetes

from kubemedic import GROUP, VERSION, __version__
from kubemedic.api.incidents import Incident, Phase
from kubemedic.clients.configuring import load_kubeconfig
from kubemedic.handlers.controller import PAUSE_ANNOTATION

_PHASE_ORDER = {
    phase: i
    for i, phase in enumerate(
        [
            Phase.ESCALATED,
            Phase.REMEDIATING,
            Phase.INVESTIGATING,
            Phase.DETECTED,
            Phase.MONITORING,
            Phase.RESOLVED,
        ]
    )
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kubectl-medic`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "version":
        print(f"kubectl-medic {__version__}")
        return 0
    load_kubeconfig()
    try:
        result: int = args.func(args)
    except kubernetes.client.ApiException as exc:
        print(f"error: {exc.status} {exc.reason}: {_message_of(exc)}", file=sys.stderr)
        return 1
    return result


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl medic", description="Work with incidents.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("version", help="print the plugin's version")

    listing = commands.add_parser("list", help="list incidents, worst first")
    listing.add_argument("-n", "--namespace", default=None)
    listing.add_argument("-A", "--all-namespaces", action="store_true")
    listing.set_defaults(func=_list)

    for name, helptext, func in (
        ("show", "print an incident's timeline and actions", _show),
        ("ack", "acknowledge an incident", _ack),
        ("retry", "restart an escalated incident's ladder from its first step", _retry),
        ("false-positive", "resolve an incident as a false positive", _false_positive),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("incident")
        command.add_argument("-n", "--namespace", default=None)
        if name == "ack":
            command.add_argument("--by", default=None, help="who takes it (default: $USER)")
        command.set_defaults(func=func)

    for name, value in (("pause", True), ("resume", False)):
        command = commands.add_parser(
            name, help=f"{name} every action of the operator (the global switch)"
        )
        command.add_argument(
            "-n",
            "--namespace",
            default="kubemedic-system",
            help="the operator's namespace (default: kubemedic-system)",
        )
        command.set_defaults(func=_pause, value=value)
    return parser


def _list(args: argparse.Namespace) -> int:
    api = kubernetes.client.CustomObjectsApi()
    if args.all_namespaces:
        body: Any = api.list_cluster_custom_object(GROUP, VERSION, "incidents")
    else:
        body = api.list_namespaced_custom_object(GROUP, VERSION, _namespace(args), "incidents")
    incidents = [Incident.from_wire(item) for item in body.get("items", [])]
    incidents.sort(
        key=lambda i: (
            _PHASE_ORDER[i.status.phase],
            (i.status.severity or i.spec.severity).rank,
            str(i.metadata.get("name")),
        )
    )
    print(f"{'NAMESPACE':20} {'INCIDENT':40} {'SEV':4} {'PHASE':13} {'TARGET':30} {'ACK':12}")
    for incident in incidents:
        target = incident.spec.target
        print(
            f"{str(incident.metadata.get('namespace'))[:20]:20} "
            f"{str(incident.metadata.get('name'))[:40]:40} "
            f"{(incident.status.severity or incident.spec.severity).value:4} "
            f"{incident.status.phase.value:13} {f'{target.kind}/{target.name}'[:30]:30} "
            f"{(incident.spec.acknowledged_by or '-')[:12]:12}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    incident = Incident.from_wire(_read(args))
    status = incident.status
    print(
        f"Incident {incident.metadata.get('namespace')}/{incident.metadata.get('name')}: "
        f"{(status.severity or incident.spec.severity).value} {status.phase.value}, "
        f"{incident.spec.target.display}, policy {incident.spec.policy_ref.name}"
    )
    if status.message:
        print(f"  {status.message}")
    print("Timeline:")
    if status.timeline_dropped:
        print(f"  ({status.timeline_dropped} older entries dropped)")
    for entry in status.timeline:
        print(f"  {entry.time.strftime('%H:%M:%S')}  {entry.type:18} {entry.message}")
    print("Actions:")
    for action in status.actions:
        print(
            f"  {action.started_at.strftime('%H:%M:%S')}  {action.step} ({action.type.value}) "
            f"{action.result.value}: {action.message}"
        )
    return 0


def _ack(args: argparse.Namespace) -> int:
    who = args.by or os.environ.get("USER") or getpass.getuser()
    _patch(args, {"spec": {"acknowledgedBy": who}})
    print(f"Acknowledged {args.incident} as {who}")
    return 0


def _retry(args: argparse.Namespace) -> int:
    retries = int((_read(args).get("spec") or {}).get("retries") or 0) + 1
    _patch(args, {"spec": {"retries": retries}})
    print(f"Asked for retry {retries} of {args.incident}")
    return 0


def _false_positive(args: argparse.Namespace) -> int:
    _patch(args, {"spec": {"falsePositive": True}})
    print(f"Marked {args.incident} as a false positive")
    return 0


def _pause(args: argparse.Namespace) -> int:
    value = "true" if args.value else None
    body: Any = {"metadata": {"annotations": {PAUSE_ANNOTATION: value}}}
    kubernetes.client.CoreV1Api().patch_namespace(args.namespace, body)
    print(f"{'Paused' if args.value else 'Resumed'} all actions (Namespace {args.namespace})")
    return 0


def _read(args: argparse.Namespace) -> dict[str, Any]:
    body: Any = kubernetes.client.CustomObjectsApi().get_namespaced_custom_object(
        GROUP, VERSION, _namespace(args), "incidents", args.incident
    )
    return dict(body)


def _patch(args: argparse.Namespace, patch: dict[str, Any]) -> None:
    body: Any = patch
    kubernetes.client.CustomObjectsApi().patch_namespaced_custom_object(
        GROUP, VERSION, _namespace(args), "incidents", args.incident, body
    )


def _namespace(args: argparse.Namespace) -> str:
    if args.namespace:
        return str(args.namespace)
    try:
        _, context = kubernetes.config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
        return str(context["context"].get("namespace") or "default")
    except (kubernetes.config.ConfigException, KeyError, TypeError):
        return "default"


def _message_of(exc: kubernetes.client.ApiException) -> str:
    import json

    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.body)
    except ValueError:
        return str(exc.body)
