"""CEL rules for the generated CRDs, attached to models as schema extras."""

from __future__ import annotations

from typing import Any


def cel(*rules: tuple[str, str] | tuple[str, str, str]) -> dict[str, Any]:
    """Schema extras holding ``x-kubernetes-validations`` for the given rules.

    Each rule is ``(expression, message)`` or ``(expression, message,
    fieldPath)``; the field path makes the API server name the offending field
    in its error, so users know what to fix.
    """
    validations = []
    for rule in rules:
        entry = {"rule": rule[0], "message": rule[1]}
        if len(rule) == 3:
            entry["fieldPath"] = rule[2]
        validations.append(entry)
    return {"x-kubernetes-validations": validations}


def list_map(*keys: str) -> dict[str, Any]:
    """Schema extras making an array a map keyed on ``keys``.

    The API server then rejects two items with the same keys (naming the
    duplicate's index), and server-side apply merges items by key instead of
    replacing the whole list.
    """
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}
