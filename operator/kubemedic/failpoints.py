"""Fault injection for crash tests, off unless ``KUBEMEDIC_FAILPOINTS`` names one.

A crash between two writes is the case idempotency exists for, and timing a
SIGKILL from outside cannot hit it reliably. So the operator can kill itself
at a named point, the way etcd's failpoints do:

- ``after-incident-object``: an incident exists, its status not yet written;
- ``after-action-key``: the action's key is stored, the mutation not done;
- ``after-mutation``: the mutation is done, its result not stored.

The variable holds a comma-separated list of names. It is read once, at
import; nothing else changes when it is unset.
"""

from __future__ import annotations

import logging
import os
import signal

logger = logging.getLogger(__name__)

_ARMED = frozenset(p.strip() for p in os.environ.get("KUBEMEDIC_FAILPOINTS", "").split(",") if p)


def hit(name: str) -> None:
    """Kill this process with SIGKILL if the failpoint ``name`` is armed."""
    if name in _ARMED:
        logger.critical("Failpoint %s hit: killing the process", name)
        os.kill(os.getpid(), signal.SIGKILL)
