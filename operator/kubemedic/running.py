"""``kubemedic run``: the operator's process.

The process first becomes the leader (holds the Lease), then runs kopf with
our handlers until it is told to stop or loses the Lease. Losing the Lease
stops every handler before another replica can take over; the process then
exits non-zero, so its Deployment restarts it as a standby.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import kopf
import kubernetes
import prometheus_client

from kubemedic import GROUP
from kubemedic.clients.acting import Actuator
from kubemedic.clients.apiserver import ApiServer
from kubemedic.clients.configuring import load_kubeconfig
from kubemedic.clients.leases import LeaderElector
from kubemedic.clients.notifying import Notifier
from kubemedic.clients.prometheus import Prometheus
from kubemedic.clients.secrets import KubernetesSecretResolver
from kubemedic.handlers import register
from kubemedic.handlers.controller import Controller, Settings

logger = logging.getLogger(__name__)

LEASE_NAME = "kubemedic-leader"


def run_operator(args: argparse.Namespace) -> int:
    """Run the operator in the foreground; the exit code of the process."""
    log_format = {
        "plain": kopf.LogFormat.PLAIN,
        "full": kopf.LogFormat.FULL,
        "json": kopf.LogFormat.JSON,
    }[args.log_format]
    kopf.configure(verbose=args.verbose, log_format=log_format)
    load_kubeconfig()
    if args.metrics_port:
        prometheus_client.start_http_server(args.metrics_port)
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    api = kubernetes.client.ApiClient()
    server = ApiServer(api)
    namespace = args.leader_election_namespace or os.environ.get("POD_NAMESPACE") or "default"

    # Become the leader first: a standby replica must not act at all.
    elector: LeaderElector | None = None
    if not args.no_leader_election:
        identity = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        elector = LeaderElector(server, namespace=namespace, name=LEASE_NAME, identity=identity)
        await elector.acquire()

    prometheus_url = args.prometheus_url or os.environ.get("KUBEMEDIC_PROMETHEUS_URL")
    notifier = Notifier(KubernetesSecretResolver(kubernetes.client.CoreV1Api(api)))
    ctl = Controller(
        server=server,
        actuator=Actuator(api),
        prometheus=Prometheus(prometheus_url) if prometheus_url else None,
        notifier=notifier,
        settings=Settings(
            resync_seconds=float(os.environ.get("KUBEMEDIC_RESYNC_SECONDS", "5")),
            pause_namespace=args.pause_annotation_namespace or namespace,
        ),
    )
    registry = kopf.OperatorRegistry()
    register(registry, ctl)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    # NB: the Lease task starts before kopf does: kopf treats every task
    # created after its start as its own, and waits for it on shutdown.
    waiters: set[asyncio.Task[Any]] = set()
    if elector is not None:
        waiters.add(asyncio.create_task(elector.hold(), name="lease"))
    stop_flag: asyncio.Event = asyncio.Event()

    @kopf.on.cleanup(registry=registry)
    def release_stop_flag(**_: Any) -> None:
        # NB: kopf waits up to 5 s on shutdown for its waiter on our flag.
        stop_flag.set()

    operator = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=_settings(),
            standalone=True,
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            liveness_endpoint=args.liveness,
            stop_flag=stop_flag,
        ),
        name="kopf",
    )
    waiters.add(operator)
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)

    # Either kopf stopped (a signal), or the Lease was lost: stop everything.
    exit_code = 0
    if operator not in done:
        logger.error("Stopping all handlers: this replica no longer holds the Lease")
        stop_flag.set()
        exit_code = 1
    for task in waiters:
        if task is not operator:
            task.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await notifier.aclose()
    if elector is not None and exit_code == 0:
        await elector.release()
    return exit_code


def _settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()

    # Events are posted on purpose, with reasons of our own; logs stay logs.
    settings.posting.enabled = False

    # Nothing of kopf's bookkeeping is needed on the objects; if it ever is,
    # it is named after our group.
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.scanning.disabled = True
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30
    return settings
