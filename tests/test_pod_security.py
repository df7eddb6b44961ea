"""Pod Security enforced on every namespace the platform owns, a default deny in each, and the
reservations group held to creating pods in ``gpu-dev``, where baseline refuses a privileged
one: asserted on every stage's synthesized manifests."""

from __future__ import annotations

import copy

import pytest

from platform_config.loader import load_stages
from platform_config.namespaces import NAMESPACES, PodSecurity, pod_security
from tools.assembly import manifests_in_template
from tools.flow_matrix import HELM_CHART_TYPE, _dev_pod

STAGES = sorted(stage.name for stage in load_stages())
MODES = ("enforce", "audit", "warn")
# Pod Security Standards, baseline: the capabilities a container may add
# (https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip


def objects(synth, stage: str) -> list[dict]:
    return [o for (s, _), t in synth.templates.items() if s == stage for o in manifests_in_template(t)]


def baseline_violations(spec: dict) -> list[str]:
    """What the baseline level refuses in a pod spec (the checks a workstation could trip)."""
    found = [f"{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    found += [f"hostPath volume {v['name']}" for v in spec.get("volumes", []) if "hostPath" in v]
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"{container['name']}: privileged")
        added = set((context.get("capabilities") or {}).get("add", [])) - BASELINE_CAPABILITIES
        found += [f"{container['name']}: adds {cap}" for cap in sorted(added)]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_namespace_enforces_audits_and_warns_at_its_level(synth, stage):
    namespaces = [o for o in objects(synth, stage) if o["kind"] == "Namespace"]
    assert namespaces
    for namespace in namespaces:
        labels, name = namespace["metadata"]["labels"], namespace["metadata"]["name"]
        levels = {labels.get(f"pod-security.kubernetes.io/{mode}") for mode in MODES}
        assert len(levels) == 1 and None not in levels, f"{stage} {name}: {labels}"
        level = PodSecurity(levels.pop())
        assert (
            level is PodSecurity.RESTRICTED or pod_security(name, meshed=level is PodSecurity.PRIVILEGED)[1]
        )


def test_only_written_exceptions_are_below_restricted():
    below = {n.name: n.level for n in NAMESPACES.values() if n.level is not PodSecurity.RESTRICTED}
    assert below == {
        "gpu-dev": PodSecurity.BASELINE,
        "monitoring": PodSecurity.PRIVILEGED,
        "dynamo-system": PodSecurity.PRIVILEGED,
        "linkerd": PodSecurity.PRIVILEGED,
        "efa-test": PodSecurity.BASELINE,
        "nvidia-network-operator": PodSecurity.PRIVILEGED,
        "rdma-jobs": PodSecurity.PRIVILEGED,
        "gpu-operator": PodSecurity.PRIVILEGED,
    }
    assert pod_security("nats") == (PodSecurity.RESTRICTED, "")
    assert pod_security("inference", meshed=True)[0] is PodSecurity.PRIVILEGED  # linkerd-init
    assert pod_security("dynamo-cloud") == (PodSecurity.RESTRICTED, "")  # named by a setting


@pytest.mark.parametrize("stage", STAGES)
def test_every_helm_release_goes_into_a_namespace_the_platform_labels(synth, stage):
    created = {o["metadata"]["name"] for o in objects(synth, stage) if o["kind"] == "Namespace"}
    for (s, stack), template in synth.templates.items():
        for resource in template.get("Resources", {}).values():
            if s == stage and resource["Type"] == HELM_CHART_TYPE:
                props = resource["Properties"]
                assert props.get("CreateNamespace") is not True, f"{stage}/{stack} {props['Chart']}"
                assert props["Namespace"] in created | {"kube-system"}, f"{stage} {props['Chart']}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_namespace_has_a_default_deny_of_both_directions(synth, stage):
    found = objects(synth, stage)
    namespaces = {o["metadata"]["name"] for o in found if o["kind"] == "Namespace"}
    denies = {
        o["metadata"]["namespace"]
        for o in found
        if o["kind"] == "NetworkPolicy"
        and o["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    }
    assert namespaces and namespaces == denies


@pytest.mark.parametrize("stage", STAGES)
def test_the_reservations_group_creates_pods_only_in_gpu_dev_where_baseline_refuses_privileged(synth, stage):
    found = objects(synth, stage)
    group = "gpu-dev-reservations"
    bound = {
        (b["roleRef"]["kind"], b["roleRef"]["name"], b["metadata"].get("namespace"))
        for b in found
        if b["kind"] in ("RoleBinding", "ClusterRoleBinding")
        and any(s["kind"] == "Group" and s["name"] == group for s in b.get("subjects", []))
    }
    if not bound:
        pytest.skip(f"{stage} has no reservations")
    creating = set()
    for kind, name, namespace in bound:
        role_kind = "ClusterRole" if kind == "ClusterRole" else "Role"
        (role,) = [
            o for o in found
            if o["kind"] == role_kind and o["metadata"]["name"] == name
            and (role_kind == "ClusterRole" or o["metadata"]["namespace"] == namespace)
        ]  # fmt: skip
        for rule in role["rules"]:
            if {"pods", "*"} & set(rule["resources"]) and {"create", "*"} & set(rule["verbs"]):
                assert kind == "Role", f"{name}: a ClusterRole would let the group create pods anywhere"
                creating.add(namespace)
    assert creating == {"gpu-dev"}
    (namespace,) = [o for o in found if o["kind"] == "Namespace" and o["metadata"]["name"] == "gpu-dev"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    # the dev pod the processor creates passes baseline; a privileged or host-mounting one fails
    templates = {k[1]: t for k, t in synth.templates.items() if k[0] == stage}
    dev = _dev_pod(templates)
    assert dev is not None
    assert baseline_violations(dev["spec"]) == []
    bad = copy.deepcopy(dev)
    bad["spec"]["containers"][0]["securityContext"] = {
        "privileged": True,
        "capabilities": {"add": ["SYS_ADMIN"]},
    }
    bad["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert baseline_violations(bad["spec"]) == [
        "hostPath volume host",
        "dev: privileged",
        "dev: adds SYS_ADMIN",
    ]
