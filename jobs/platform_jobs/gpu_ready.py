"""Remove the GPU startup taint from this pod's own node once its GPUs are usable.

GPU nodes register with the taint ``gpuplatform.io/gpu-not-ready:NoSchedule`` (a managed node
group's taints, a Karpenter NodePool's ``startupTaints``), so no GPU pod lands on them before
the GPU Operator has made them usable. A DaemonSet (``k8s_charts/gpu_ready.py``) runs this on
every GPU node and removes the taint when both hold:

- the node's allocatable shows a GPU resource (``nvidia.com/gpu`` or ``nvidia.com/mig-*``)
  above 0: the device plugin has registered and advertises what the pool's sharing says;
- where the node asks for a MIG layout (it carries ``nvidia.com/mig.config``, as every
  MIG-capable AL2023 pool does, ``all-disabled`` included), the MIG manager reports
  ``nvidia.com/mig.config.state=success``.

The removal is one JSON patch that first tests the taint list it read, so a concurrent change
to the node's taints is never overwritten: the patch fails and the next round reads again. It
keeps looking after that: if the taint is put back (the runbook's MIG layout change), it is
removed again once the node is ready again. It may touch only its own node and only this
taint: the ValidatingAdmissionPolicy beside the DaemonSet refuses anything else.

Configuration comes from the DaemonSet: ``NODE_NAME`` (downward API), ``STARTUP_TAINT_KEY``,
``INTERVAL_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state"

log = logging.getLogger("gpu-ready")


def gpu_units(node: dict[str, Any]) -> int:
    """GPU devices the node advertises (whole GPUs, time-slices or MIG instances)."""
    allocatable = node.get("status", {}).get("allocatable", {})
    return sum(
        int(count)
        for resource, count in allocatable.items()
        if resource == GPU_RESOURCE or resource.startswith(MIG_RESOURCE_PREFIX)
    )


def not_ready_because(node: dict[str, Any]) -> str:
    """Why the node may not take GPU pods yet; empty when it may."""
    labels = node.get("metadata", {}).get("labels", {})
    if MIG_CONFIG_LABEL in labels and labels.get(MIG_CONFIG_STATE_LABEL) != "success":
        state = labels.get(MIG_CONFIG_STATE_LABEL, "unset")
        return f"MIG layout {labels[MIG_CONFIG_LABEL]!r} not applied ({MIG_CONFIG_STATE_LABEL}={state})"
    if gpu_units(node) == 0:
        return "no GPU resource advertised yet (device plugin not registered)"
    return ""


def removal_patch(node: dict[str, Any], taint_key: str) -> list[dict[str, Any]] | None:
    """The JSON patch that removes ``taint_key`` from the node, guarded by a test of the taint
    list it was computed from; None when the node does not carry the taint."""
    taints = node.get("spec", {}).get("taints") or []
    kept = [t for t in taints if t.get("key") != taint_key]
    if len(kept) == len(taints):
        return None
    return [
        {"op": "test", "path": "/spec/taints", "value": taints},
        {"op": "replace", "path": "/spec/taints", "value": kept},
    ]


def reconcile(api: Any, node_name: str, taint_key: str) -> str:
    """One round: read the node, remove the taint if it is ready. Returns what happened."""
    node = json.loads(api.read_node(node_name, _preload_content=False).data)
    patch = removal_patch(node, taint_key)
    if patch is None:
        return "untainted"
    if reason := not_ready_because(node):
        return f"waiting: {reason}"
    api.patch_node(node_name, patch)
    return f"removed {taint_key} ({gpu_units(node)} GPU devices advertised)"


def main() -> None:
    from kubernetes import client, config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config.load_incluster_config()
    api = client.CoreV1Api()
    node_name, taint_key = os.environ["NODE_NAME"], os.environ["STARTUP_TAINT_KEY"]
    interval = float(os.environ.get("INTERVAL_SECONDS", "10"))
    last = ""
    while True:
        try:
            outcome = reconcile(api, node_name, taint_key)
        except Exception as error:  # an API error is retried next round, never fatal
            outcome = f"error: {error}"
        if outcome != last:
            log.info("%s: %s", node_name, outcome)
            last = outcome
        time.sleep(interval)


if __name__ == "__main__":
    main()
