"""PatchConfigMap: set keys of a ConfigMap, and put them back on resolve.

With ``revertOnResolve``, the values the keys had before (absent keys as
null) are kept in the ConfigMap itself, in the annotation
``revert.kubemedic.io/<action key>``, written by the same merge patch that
sets the keys. The revert restores a key only while it still holds the value
we set: a human who changed it since wins. It then drops the annotation, so
a second revert finds nothing to do.
"""

from __future__ import annotations

import json
import logging

from kubemedic.api.incidents import ActionResult
from kubemedic.clients.acting.requests import (
    REVERT_ANNOTATION_PREFIX,
    ActionOutcome,
    ActionRequest,
    is_stamped,
    stamp,
)
from kubemedic.clients.apiserver import ApiServer, Body, resource_path
from kubemedic.errors import NotFoundError

logger = logging.getLogger(__name__)


def config_map_path(namespace: str, name: str) -> str:
    return resource_path("v1", "configmaps", namespace=namespace, name=name)


def revert_annotation(request: ActionRequest) -> str:
    return f"{REVERT_ANNOTATION_PREFIX}{request.key}"


async def read_config_map(
    server: ApiServer, request: ActionRequest
) -> tuple[Body | None, ActionOutcome | None]:
    """The ConfigMap of the step, or the outcome that it is missing."""
    settings = request.action.patch_config_map
    assert settings is not None  # the Action model requires it for PatchConfigMap
    display = f"ConfigMap {request.target.namespace}/{settings.name}"
    try:
        return await server.get(config_map_path(request.target.namespace, settings.name)), None
    except NotFoundError:
        return None, ActionOutcome(
            ActionResult.FAILED,
            f"{display} does not exist; create it or fix patchConfigMap.name",
            f"ConfigMap {settings.name}",
        )


async def patch_config_map(server: ApiServer, request: ActionRequest) -> ActionOutcome:
    """Set the step's keys, remembering the old values when a revert is wanted."""
    settings = request.action.patch_config_map
    assert settings is not None
    namespace = request.target.namespace
    display, object_name = f"ConfigMap {namespace}/{settings.name}", f"ConfigMap {settings.name}"
    config_map, missing = await read_config_map(server, request)
    if config_map is None:
        assert missing is not None
        return missing
    keys = ", ".join(sorted(settings.data))
    if is_patched(config_map, request):
        return ActionOutcome(
            ActionResult.SUCCEEDED, f"Set {keys} of {display} already", object_name
        )

    # The previous values go into the same patch as the new ones.
    annotations = stamp(request)
    if settings.revert_on_resolve:
        data = config_map.get("data") or {}
        previous = {key: data.get(key) for key in settings.data}
        annotations[revert_annotation(request)] = json.dumps(previous, sort_keys=True)
    patch = {
        "metadata": {
            "resourceVersion": config_map["metadata"]["resourceVersion"],
            "annotations": annotations,
        },
        "data": dict(settings.data),
    }
    logger.info(
        "Setting %s of %s for incident %s/%s%s",
        keys,
        display,
        namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    await server.patch(
        config_map_path(namespace, settings.name), patch, kind="merge", dry_run=request.dry_run
    )

    if request.dry_run:
        return ActionOutcome(ActionResult.DRY_RUN, f"Would set {keys} of {display}", object_name)
    return ActionOutcome(ActionResult.SUCCEEDED, f"Set {keys} of {display}", object_name)


def is_patched(config_map: Body, request: ActionRequest) -> bool:
    """Whether the ConfigMap shows this request's patch."""
    annotations = config_map["metadata"].get("annotations") or {}
    return is_stamped(config_map, request) or revert_annotation(request) in annotations


async def find_patch(server: ApiServer, request: ActionRequest) -> ActionOutcome | None:
    """The outcome of the patch of ``request`` if the ConfigMap shows it, else None."""
    config_map, _ = await read_config_map(server, request)
    if config_map is None or not is_patched(config_map, request):
        return None
    name = config_map["metadata"]["name"]
    keys = (
        ", ".join(sorted(request.action.patch_config_map.data))
        if request.action.patch_config_map
        else ""
    )
    return ActionOutcome(
        ActionResult.SUCCEEDED,
        f"Set {keys} of ConfigMap {request.target.namespace}/{name} (found the action key on it "
        "after a restart)",
        f"ConfigMap {name}",
    )


async def revert_config_map(server: ApiServer, request: ActionRequest) -> ActionOutcome:
    """Restore the keys the request set, where nobody changed them since."""
    settings = request.action.patch_config_map
    assert settings is not None
    namespace = request.target.namespace
    display, object_name = f"ConfigMap {namespace}/{settings.name}", f"ConfigMap {settings.name}"
    config_map, missing = await read_config_map(server, request)
    if config_map is None:
        assert missing is not None
        return missing
    annotations = config_map["metadata"].get("annotations") or {}
    if revert_annotation(request) not in annotations:
        return ActionOutcome(
            ActionResult.SKIPPED,
            f"Nothing to revert in {display} for action {request.key} (reverted already, or "
            "the patch did not ask for revertOnResolve)",
            object_name,
        )

    # Only the keys that still hold our value are restored.
    previous: dict[str, str | None] = json.loads(annotations[revert_annotation(request)])
    data = config_map.get("data") or {}
    restored = {
        key: value for key, value in previous.items() if data.get(key) == settings.data.get(key)
    }
    changed = sorted(set(previous) - set(restored))
    patch = {
        "metadata": {
            "resourceVersion": config_map["metadata"]["resourceVersion"],
            "annotations": {revert_annotation(request): None},
        },
        "data": restored,
    }
    logger.info(
        "Reverting %s of %s for incident %s/%s%s",
        ", ".join(sorted(restored)) or "no keys",
        display,
        namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    await server.patch(
        config_map_path(namespace, settings.name), patch, kind="merge", dry_run=request.dry_run
    )

    verb = "Would revert" if request.dry_run else "Reverted"
    message = f"{verb} {', '.join(sorted(restored)) or 'no keys'} of {display}"
    if changed:
        message += f" (left {', '.join(changed)} alone: changed since the patch)"
    result = ActionResult.DRY_RUN if request.dry_run else ActionResult.SUCCEEDED
    return ActionOutcome(result, message, object_name)
