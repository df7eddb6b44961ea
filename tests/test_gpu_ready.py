"""Pods land only on ready GPUs: every GPU pool's nodes start with the startup taint; everything
that must run on a GPU node before it is ready tolerates it; the remover takes it off only when
the node advertises its GPUs (and its MIG layout is applied), may touch only its own node, and
can reach the API server through the namespace's NetworkPolicies."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from k8s_charts.gpu_ready import NAME
from platform_config import namespaces as ns
from platform_config.contract import (
    GPU_STARTUP_TAINT_KEY,
    GPU_TAINT_KEY,
    MIG_CONFIG_LABEL,
    MIG_CONFIG_STATE_LABEL,
)
from platform_config.loader import load_stages
from tests.manifests import manifests_in_template, render
from tests.test_gpu_operator import _operator_values
from tools.flow_matrix import stage_flows

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jobs" / "platform_jobs"))
import gpu_ready

STAGES = {stage.name: stage for stage in load_stages()}
STARTUP = {"key": GPU_STARTUP_TAINT_KEY, "value": "true", "effect": "NoSchedule"}
GPU = {"key": GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"}


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """Kubernetes' matching (ToleratesTaint): effect empty or equal; key empty with Exists, or
    equal; Exists matches any value, Equal (the default) the taint's value."""
    return any(
        t.get("effect", "") in ("", taint["effect"])
        and (t.get("key", "") == taint["key"] or (not t.get("key") and t.get("operator") == "Exists"))
        and (t.get("operator", "Equal") == "Exists" or t.get("value", "") == taint["value"])
        for t in tolerations
    )


def _manifests(synth, stage: str, stack: str = "Nodes") -> list[dict]:
    return manifests_in_template(synth.template(stage, stack))


def _remover(synth, stage: str, kind: str) -> dict:
    (obj,) = [o for o in _manifests(synth, stage) if o["kind"] == kind and o["metadata"]["name"] == NAME]
    return obj


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_gpu_pool_starts_with_the_startup_taint(synth, stage):
    config = STAGES[stage]
    groups = synth.resources(stage, "Nodes", "AWS::EKS::Nodegroup").values()
    gpu_groups = {g["Properties"]["Labels"]["gpuplatform.io/pool"]: g for g in groups}
    gpu_groups = {name: g for name, g in gpu_groups.items() if name in {p.name for p in config.gpu_pools}}
    assert set(gpu_groups) == {p.name for p in config.gpu_pools}
    for name, group in gpu_groups.items():
        taints = [
            {"key": t["Key"], "value": t["Value"], "effect": {"NO_SCHEDULE": "NoSchedule"}[t["Effect"]]}
            for t in group["Properties"]["Taints"]
        ]
        assert STARTUP in taints and GPU in taints, name
    pools = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in _manifests(synth, stage)
        if o["kind"] == "NodePool"
    }
    for pool in config.karpenter.node_pools:
        spec = pools[pool.name]
        if pool.is_gpu:
            # startupTaints: Karpenter launches nodes for pods that do not tolerate it
            assert spec["startupTaints"] == [STARTUP] and STARTUP not in spec["taints"], pool.name
        else:
            assert "startupTaints" not in spec, pool.name
    # and the remover runs on exactly those pools
    daemonset = _remover(synth, stage, "DaemonSet") if config.has_gpus else None
    if daemonset is not None:
        (term,) = daemonset["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        (expression,) = term["matchExpressions"]
        assert set(expression["values"]) == set(config.gpu_pool_capacity())


@pytest.mark.parametrize("stage", sorted(s for s in STAGES if STAGES[s].has_gpus))
def test_everything_that_makes_a_gpu_node_ready_tolerates_the_startup_taint(synth, stage):
    values = _operator_values(synth, stage)
    # the ClusterPolicy's daemonsets.tolerations: device plugin, MIG manager, GFD, DCGM
    # exporter, validator -- every operand DaemonSet the operator creates
    operands = values["daemonsets"]["tolerations"]
    nfd_worker = values["node-feature-discovery"]["worker"]["tolerations"]
    remover = _remover(synth, stage, "DaemonSet")["spec"]["template"]["spec"]["tolerations"]
    for tolerations in (operands, nfd_worker, remover):
        assert tolerates(tolerations, STARTUP) and tolerates(tolerations, GPU)
    # the NFD worker keeps the chart's control-plane toleration
    assert tolerates(
        nfd_worker, {"key": "node-role.kubernetes.io/control-plane", "value": "", "effect": "NoSchedule"}
    )
    if STAGES[stage].needs_efa:
        (efa,) = [
            r for r in synth.resources(stage, "Nodes", "Custom::AWSCDK-EKS-HelmChart").values()
            if r["Properties"]["Chart"] == "aws-efa-k8s-device-plugin"
        ]  # fmt: skip
        assert tolerates(json.loads(render(efa["Properties"]["Values"]))["tolerations"], STARTUP)


def test_the_matcher_refuses_what_kubernetes_refuses():
    assert not tolerates([{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}], STARTUP)
    assert not tolerates([{"key": GPU_STARTUP_TAINT_KEY, "value": "false"}], STARTUP)
    assert not tolerates(
        [{"key": GPU_STARTUP_TAINT_KEY, "operator": "Exists", "effect": "NoExecute"}], STARTUP
    )
    assert tolerates([{"operator": "Exists"}], STARTUP)


# -- the remover -------------------------------------------------------------------------------


def node(*, allocatable: dict, labels: dict | None = None, taints: list | None = None) -> dict:
    return {
        "metadata": {"name": "n1", "labels": labels or {}},
        "spec": {"taints": [GPU, STARTUP] if taints is None else taints},
        "status": {"allocatable": allocatable},
    }


class FakeApi:
    def __init__(self, body: dict) -> None:
        self.body = body
        self.patches: list[tuple[str, list]] = []

    def read_node(self, name, _preload_content):
        return SimpleNamespace(data=json.dumps(self.body).encode())

    def patch_node(self, name, body):
        self.patches.append((name, body))


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (node(allocatable={"cpu": "8"}), "waiting: no GPU resource advertised yet"),
        (node(allocatable={"nvidia.com/gpu": "0"}), "waiting: no GPU resource advertised yet"),
        (
            node(allocatable={"nvidia.com/gpu": "4"}, labels={MIG_CONFIG_LABEL: "all-disabled"}),
            "waiting: MIG layout 'all-disabled' not applied (nvidia.com/mig.config.state=unset)",
        ),
        (
            node(
                allocatable={"nvidia.com/mig-3g.40gb": "8"},
                labels={MIG_CONFIG_LABEL: "mig-3g.40gb", MIG_CONFIG_STATE_LABEL: "pending"},
            ),
            "waiting: MIG layout 'mig-3g.40gb' not applied (nvidia.com/mig.config.state=pending)",
        ),
        (node(allocatable={"nvidia.com/gpu": "16"}), "removed gpuplatform.io/gpu-not-ready (16 GPU devices"),
        (
            node(
                allocatable={"nvidia.com/mig-3g.40gb": "8", "nvidia.com/mig-1g.10gb": "8"},
                labels={MIG_CONFIG_LABEL: "mig-mixed", MIG_CONFIG_STATE_LABEL: "success"},
            ),
            "removed gpuplatform.io/gpu-not-ready (16 GPU devices",
        ),
        (node(allocatable={"nvidia.com/gpu": "4"}, taints=[GPU]), "untainted"),
    ],
)
def test_the_remover_waits_for_advertised_gpus_and_an_applied_mig_layout(body, outcome):
    api = FakeApi(body)
    assert gpu_ready.reconcile(api, "n1", GPU_STARTUP_TAINT_KEY).startswith(outcome)
    if outcome.startswith("removed"):
        # guarded by the taints it read; only the startup taint goes
        assert api.patches == [
            (
                "n1",
                [
                    {"op": "test", "path": "/spec/taints", "value": [GPU, STARTUP]},
                    {"op": "replace", "path": "/spec/taints", "value": [GPU]},
                ],
            )
        ]
    else:
        assert api.patches == []


def test_the_remover_may_patch_only_nodes_and_only_its_own_node_s_startup_taint(synth):
    role = _remover(synth, "dev", "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
    policy = _remover(synth, "dev", "ValidatingAdmissionPolicy")["spec"]
    assert policy["failurePolicy"] == "Fail"
    (condition,) = policy["matchConditions"]
    assert f"system:serviceaccount:{ns.GPU_OPERATOR}:{NAME}" in condition["expression"]
    expressions = " ".join(v["expression"] for v in policy["validations"])
    assert "request.userInfo.extra['authentication.kubernetes.io/node-name'][0]" in expressions
    assert f"t.key != '{GPU_STARTUP_TAINT_KEY}'" in expressions
    binding = _remover(synth, "dev", "ValidatingAdmissionPolicyBinding")["spec"]
    assert binding == {"policyName": NAME, "validationActions": ["Deny"]}
    pod = _remover(synth, "dev", "DaemonSet")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_remover_reaches_the_api_server_through_the_network_policies(synth):
    flows = stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == "dev"})
    remover = flows.cluster.workload(f"{ns.GPU_OPERATOR}/{NAME}")
    api_server = flows.endpoint("vpc")
    verdict = flows.cluster.check(remover, api_server, 443)
    assert verdict, str(verdict)
    # allowed by the namespace's rule, not because nothing isolates the pod
    assert verdict.egress.startswith(f"{ns.GPU_OPERATOR}/allow-vpc-endpoints egress")
    assert not flows.cluster.allowed(remover, flows.endpoint("internet"), 443)
