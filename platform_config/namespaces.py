"""Every namespace the platform owns: its owning component and its Pod Security level.

The first piece of the cluster contract (issue 11): the namespaces chart labels each namespace
from this table (``enforce``, ``audit`` and ``warn`` at one level), and a level below
``restricted`` carries its reason here, next to the name. Levels are what the pods that run
there need, checked against their charts (values files in ``../shared/helm``):

* ``restricted`` admits only non-root pods with all capabilities dropped, no privilege
  escalation and a ``RuntimeDefault`` seccomp profile;
* ``baseline`` admits root and the default capabilities, but no host namespaces, host paths,
  privileged containers or added capabilities beyond its list (AUDIT_WRITE, CHOWN,
  DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP,
  SETUID, SYS_CHROOT);
* ``privileged`` admits anything: only node agents and mesh plumbing get it.

Linkerd's proxy injector adds a ``linkerd-init`` container with NET_ADMIN and NET_RAW (the
chart's ``cniEnabled: false``: the Linkerd CNI plugin is not installed), which no level below
``privileged`` admits; so a namespace whose pods are meshed is ``privileged`` while the mesh is on
(:func:`pod_security`). Installing the Linkerd CNI plugin would let those namespaces go back to
their own level.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PodSecurity(StrEnum):
    RESTRICTED = "restricted"
    BASELINE = "baseline"
    PRIVILEGED = "privileged"


@dataclass(frozen=True)
class OwnedNamespace:
    name: str
    component: str
    level: PodSecurity
    reason: str = ""  # required below restricted

    def __post_init__(self) -> None:
        if self.level is not PodSecurity.RESTRICTED and not self.reason:
            raise ValueError(f"namespace {self.name!r} is {self.level} without a written reason")


MONITORING = "monitoring"
NATS = "nats"
INFERENCE = "inference"
DYNAMO = "dynamo-system"
PLATFORM_SECRETS = "platform-secrets"
LINKERD = "linkerd"
CERT_MANAGER = "cert-manager"
MINIO = "minio"
KARPENTER = "karpenter"
GPU_OPERATOR = "gpu-operator"
ECR_TOKEN_REFRESH = "ecr-token-refresh"
GPU_DEV = "gpu-dev"
KUEUE = "kueue-system"
TRAINER = "kubeflow-system"
KUBERAY = "kuberay-system"
EFA_TEST = "efa-test"
NETWORK_OPERATOR = "nvidia-network-operator"
RDMA_JOBS = "rdma-jobs"
LLM_SERVING = "llm-serving"
VELERO = "velero"
MLFLOW = "mlflow"
GPU_CONTROLPLANE = "gpu-controlplane"

MESH_REASON = "meshed: linkerd-init adds NET_ADMIN and NET_RAW (no Linkerd CNI plugin)"

NAMESPACES: dict[str, OwnedNamespace] = {
    n.name: n
    for n in (
        OwnedNamespace(
            MONITORING,
            "kube-prometheus-stack, Loki, Alloy",
            PodSecurity.PRIVILEGED,
            "node agents: the node exporter uses hostNetwork, hostPID and hostPath (/proc, /sys, /)",
        ),
        OwnedNamespace(NATS, "NATS JetStream (k8s_charts/nats.py)", PodSecurity.RESTRICTED),
        OwnedNamespace(INFERENCE, "Triton (k8s_charts/triton.py)", PodSecurity.RESTRICTED),
        OwnedNamespace(
            DYNAMO,
            "Dynamo operator and graphs (k8s_charts/dynamo_graphs.py)",
            PodSecurity.PRIVILEGED,
            "disaggregated workers add IPC_LOCK (EFA memory registration), outside baseline's "
            "capability list; the vLLM runtime image runs as its root user",
        ),
        OwnedNamespace(PLATFORM_SECRETS, "secret sync (k8s_charts/secret_sync.py)", PodSecurity.RESTRICTED),
        OwnedNamespace(
            LINKERD,
            "Linkerd control plane",
            PodSecurity.PRIVILEGED,
            "the control plane's own pods are meshed: linkerd-init adds NET_ADMIN and NET_RAW",
        ),
        OwnedNamespace(CERT_MANAGER, "cert-manager and trust-manager", PodSecurity.RESTRICTED),
        OwnedNamespace(MINIO, "MinIO (k8s_charts/minio.py)", PodSecurity.RESTRICTED),
        OwnedNamespace(KARPENTER, "Karpenter controller", PodSecurity.RESTRICTED),
        OwnedNamespace(
            GPU_OPERATOR,
            "NVIDIA GPU Operator and its node agents (platform_constructs/gpu_operator.py)",
            PodSecurity.PRIVILEGED,
            "its node agents are privileged: the device plugin mounts the kubelet's device-plugins "
            "hostPath, the MIG manager reconfigures GPUs and reboots, the DCGM exporter runs as root",
        ),
        OwnedNamespace(
            ECR_TOKEN_REFRESH, "ECR token refresh (k8s_charts/ecr_token_refresh.py)", PodSecurity.RESTRICTED
        ),
        OwnedNamespace(KUEUE, "Kueue controller (GPU admission of the teams' work)", PodSecurity.RESTRICTED),
        OwnedNamespace(
            LLM_SERVING, "vLLM and TGI servers (k8s_charts/llm_servers.py)", PodSecurity.RESTRICTED
        ),
        OwnedNamespace(
            MLFLOW, "MLflow tracking server and registry (Helm chart mlflow)", PodSecurity.RESTRICTED
        ),
        OwnedNamespace(
            VELERO,
            "Velero server, backup locations and schedules (k8s_charts/velero.py)",
            PodSecurity.RESTRICTED,
        ),
        OwnedNamespace(
            GPU_CONTROLPLANE, "job API and dispatcher (k8s_charts/job_api.py)", PodSecurity.RESTRICTED
        ),
        OwnedNamespace(
            GPU_DEV,
            "developers' pods (reservations/dev_pod.py)",
            PodSecurity.BASELINE,
            "sshd runs as root with CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, SYS_CHROOT, KILL "
            "and AUDIT_WRITE, and users sudo (privilege escalation); no host access, no "
            "privileged containers, no added capabilities beyond baseline's",
        ),
        OwnedNamespace(TRAINER, "Kubeflow Trainer and JobSet controllers", PodSecurity.RESTRICTED),
        OwnedNamespace(KUBERAY, "KubeRay operator", PodSecurity.RESTRICTED),
        OwnedNamespace(
            EFA_TEST,
            "EFA/NCCL acceptance test (k8s_charts/efa_test.py)",
            PodSecurity.BASELINE,
            "nccl-tests' MPI launcher starts the ranks over ssh, and the test image's sshd runs as "
            "root; no host access, no privileged containers, no added capabilities",
        ),
        OwnedNamespace(
            NETWORK_OPERATOR,
            "NVIDIA Network Operator and its node agents (k8s_charts/rdma.py)",
            PodSecurity.PRIVILEGED,
            "node agents: Multus and the CNI plugins install into the host's /opt/cni/bin and "
            "/etc/cni/net.d; the device plugins mount the kubelet's device-plugins hostPath",
        ),
        OwnedNamespace(
            RDMA_JOBS,
            "RDMA training pods and the RDMA test pod (k8s_charts/rdma.py)",
            PodSecurity.PRIVILEGED,
            "RDMA pods add IPC_LOCK to pin the memory they register with the HCA, a capability "
            "outside baseline's list",
        ),
    )
}


# Kept by Kubernetes itself: neither the platform's table nor a team may claim them.
KUBE_SYSTEM = "kube-system"  # CoreDNS, the managed add-ons, the EFA device plugin
KUBERNETES_NAMESPACES = frozenset({"default", KUBE_SYSTEM, "kube-public", "kube-node-lease"})


def owned(name: str) -> OwnedNamespace:
    try:
        return NAMESPACES[name]
    except KeyError:
        raise KeyError(
            f"namespace {name!r} is not in platform_config/namespaces.py; owned namespaces: "
            f"{', '.join(sorted(NAMESPACES))}"
        ) from None


def pod_security(name: str, *, meshed: bool = False) -> tuple[PodSecurity, str]:
    """The level a namespace enforces, with its reason (empty for ``restricted``). A namespace
    a setting names (``registry.token_refresh.namespaces``) holds that setting owner's
    workloads, which get ``restricted``."""
    namespace = NAMESPACES.get(name) or OwnedNamespace(name, "named by a setting", PodSecurity.RESTRICTED)
    if meshed and namespace.level is not PodSecurity.PRIVILEGED:
        return PodSecurity.PRIVILEGED, MESH_REASON
    return namespace.level, namespace.reason


def pod_security_labels(level: PodSecurity) -> dict[str, str]:
    """``enforce``, ``audit`` and ``warn`` at one level, each pinned to ``latest``'s rules."""
    return {f"pod-security.kubernetes.io/{mode}": str(level) for mode in ("enforce", "audit", "warn")}
