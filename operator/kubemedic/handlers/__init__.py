"""kopf registrations and the orchestration around them.

Each handler validates what it receives, gathers observations through the
clients, asks the domain what to do, carries it out through the clients,
writes status and posts Events. ``register`` puts them all into one kopf
registry; ``runtime`` holds what they share while the operator runs.
"""

from kubemedic.handlers.registering import register

__all__ = ["register"]
