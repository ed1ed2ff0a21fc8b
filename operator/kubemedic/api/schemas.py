"""Structural OpenAPI v3 schemas for CRDs, made from pydantic's JSON Schema.

pydantic emits JSON Schema 2020-12 with ``$defs`` and ``$ref``; the API
server wants a structural schema: every node typed, no references, no
``anyOf`` for optional fields, no ``additionalProperties: false`` beside
``properties``, and OpenAPI 3.0's boolean ``exclusiveMinimum``. This module
rewrites one into the other and nothing else; the content (descriptions,
bounds, CEL rules) comes from the models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Keywords that have no place in a CRD schema or that we deliberately drop:
# defaults live in the models, so GitOps manifests read back as written;
# propertyNames (the bounds of map keys) is not part of the API server's
# schema language, the models still check the keys.
_DROPPED_KEYS = {"title", "default", "$defs", "examples", "propertyNames"}


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of ``model``, references inlined."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.get("$defs", {})
    schema: dict[str, Any] = _rewrite(raw, definitions)
    return schema


def _rewrite(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node

    # An inline reference keeps the referrer's description over the target's.
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _rewrite(merged, definitions)

    # Optional[X] is anyOf [X, null]: the field is simply not required.
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _rewrite({**options[0], **rest}, definitions)

    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "properties":
            result[key] = {name: _rewrite(prop, definitions) for name, prop in value.items()}
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            result[bound] = value
            result[key] = True
        elif key == "type" and value == "integer":
            result[key] = value
            result.setdefault("format", "int64")
        elif key == "type" and value == "number":
            result[key] = value
            result.setdefault("format", "double")
        else:
            result[key] = _rewrite(value, definitions)

    # An enum of strings needs its type; pydantic sometimes leaves it out.
    if "enum" in result and "type" not in result:
        result["type"] = "string"
    if "const" in result:
        result["enum"] = [result.pop("const")]
        result.setdefault("type", "string")
    if result.get("x-kubernetes-preserve-unknown-fields"):
        # NB: ``additionalProperties: true`` beside it would make the API
        # server prune (or, strictly, reject) every field nested in the values.
        result.pop("additionalProperties", None)
        result.setdefault("type", "object")
    return result
