"""The RDMA data plane of seed 004 (InfiniBand or RoCE beside the primary pod network), from
``workloads.rdma``: the NicClusterPolicy the NVIDIA Network Operator reconciles (Multus, the
CNI plugins, NVIDIA's IPAM and one device plugin), then per named interface an ``IPPool`` and a
secondary network, and a training pod template that attaches every network.

``device_plugin: sriov`` (the default, InfiniBand or RoCE): the SR-IOV network device plugin
advertises each interface's device as ``nvidia.com/rdma_<interface>`` and a
``HostDeviceNetwork`` moves it into the pod. ``device_plugin: shared`` (RoCE only): the RDMA
shared device plugin advertises ``rdma/rdma_shared_<interface>`` (up to 63 pods per HCA) and a
``MacvlanNetwork`` puts a macvlan interface on it. Everything selects the RDMA nodes by their
label (``gpuplatform.io/rdma=true``, set when they join), tolerates the GPU taint, and the pods
run in the ``rdma-jobs`` namespace, where the networks are defined.
"""

from __future__ import annotations

import json

import cdk8s
from constructs import Construct

from k8s_charts.kueue_queues import KUEUE_API, LOCAL_QUEUE
from k8s_charts.training import GPU_TOLERATION, api_object, restricted
from platform_config.contract import GPU_RESOURCE
from platform_config.namespaces import NETWORK_OPERATOR as NETWORK_OPERATOR_NAMESPACE
from platform_config.namespaces import RDMA_JOBS as RDMA_JOBS_NAMESPACE
from platform_config.rdma import RDMA_NODE_LABEL, DevicePlugin, LinkLayer, RdmaInterface, RdmaSettings
from platform_config.versions import NCCL_TESTS, NETWORK_OPERATOR_COMPONENTS, TRAINING_PYTORCH

MELLANOX_API = "mellanox.com/v1alpha1"
IPAM_API = "nv-ipam.nvidia.com/v1alpha1"
POLICY_NAME = "nic-cluster-policy"  # the only name the operator reconciles
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
RDMA_NODES = {
    "nodeSelectorTerms": [
        {"matchExpressions": [{"key": RDMA_NODE_LABEL, "operator": "In", "values": ["true"]}]}
    ]
}
RDMA_HCA_MAX = 63  # pods per HCA with the shared plugin (its documented maximum)
# A training pod's share of a node per GPU (the pod template's shape and the queue's quota).
CPU_PER_GPU = 8
MEMORY_GIB_PER_GPU = 64
RDMA_FLAVOR = "rdma"  # GPU pool names never take it: pools are named for their hardware


def _component(image: str) -> dict:
    return {
        "image": image,
        "repository": NETWORK_OPERATOR_COMPONENTS.repository,
        "version": NETWORK_OPERATOR_COMPONENTS.tag,
    }


def network_name(interface: RdmaInterface) -> str:
    return f"rdma-{interface.name}"


def resource_name(settings: RdmaSettings, interface: RdmaInterface) -> str:
    """The extended resource a pod asks for to get the interface."""
    if settings.device_plugin is DevicePlugin.SHARED:
        return f"rdma/rdma_shared_{interface.name}"
    return f"nvidia.com/rdma_{interface.name}"


def nic_cluster_policy(settings: RdmaSettings) -> dict:
    spec: dict = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": RDMA_NODES},
        "tolerations": [GPU_TOLERATION],
        "secondaryNetwork": {"cniPlugins": _component("plugins"), "multus": _component("multus-cni")},
        "nvIpam": {**_component("nvidia-k8s-ipam"), "enableWebhook": False},
    }
    if settings.device_plugin is DevicePlugin.SHARED:
        config = {
            "configList": [
                {
                    "resourceName": f"rdma_shared_{i.name}",
                    "rdmaHcaMax": RDMA_HCA_MAX,
                    "selectors": {"ifNames": [i.name]},
                }
                for i in settings.interfaces
            ]
        }
        spec["rdmaSharedDevicePlugin"] = {
            **_component("k8s-rdma-shared-dev-plugin"),
            "config": json.dumps(config),
        }
    else:
        config = {
            "resourceList": [
                {
                    "resourcePrefix": "nvidia.com",
                    "resourceName": f"rdma_{i.name}",
                    "selectors": {"ifNames": [i.name], "isRdma": True},
                }
                for i in settings.interfaces
            ]
        }
        spec["sriovDevicePlugin"] = {
            **_component("sriov-network-device-plugin"),
            "config": json.dumps(config),
        }
    return {
        "apiVersion": MELLANOX_API,
        "kind": "NicClusterPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": spec,
    }


def ip_pool(interface: RdmaInterface) -> dict:
    return {
        "apiVersion": IPAM_API,
        "kind": "IPPool",
        "metadata": {"name": network_name(interface), "namespace": NETWORK_OPERATOR_NAMESPACE},
        "spec": {
            "subnet": interface.subnet,
            "perNodeBlockSize": interface.per_node_block_size,
            "nodeSelector": RDMA_NODES,
        },
    }


def secondary_network(settings: RdmaSettings, interface: RdmaInterface) -> dict:
    ipam = json.dumps({"type": "nv-ipam", "poolName": network_name(interface)})
    if settings.device_plugin is DevicePlugin.SHARED:
        kind = "MacvlanNetwork"
        spec: dict = {"master": interface.name, "mode": "bridge", "mtu": 9000}
    else:
        kind = "HostDeviceNetwork"
        spec = {"resourceName": f"rdma_{interface.name}"}
    spec |= {"networkNamespace": RDMA_JOBS_NAMESPACE, "ipam": ipam}
    return {
        "apiVersion": MELLANOX_API,
        "kind": kind,
        "metadata": {"name": network_name(interface)},
        "spec": spec,
    }


def nccl_env(settings: RdmaSettings) -> dict[str, str]:
    """Seed 004's NCCL settings: InfiniBand transport between nodes (verbs over the attached
    HCAs, RoCE v2 GID on Ethernet), GPUDirect RDMA where GPU and HCA share a PCIe host bridge,
    NVLink between the GPUs of a node, and NCCL's own NUMA-aware CPU affinity (the pod is
    Guaranteed with whole CPUs, so the kubelet's topology manager aligns CPUs, GPUs and HCAs
    on a node that runs it with the single-numa-node or restricted policy)."""
    env = {
        "NCCL_NET": "IB",
        "NCCL_IB_DISABLE": "0",
        "NCCL_NET_GDR_LEVEL": "PHB",
        "NCCL_P2P_LEVEL": "NVL",
        "NCCL_IGNORE_CPU_AFFINITY": "0",
        "NCCL_SOCKET_IFNAME": "eth0",
        "NCCL_DEBUG": "INFO",
    }
    hcas = [i.hca for i in settings.interfaces if i.hca]
    if hcas:
        env["NCCL_IB_HCA"] = "=" + ",".join(hcas)
    if settings.link_layer is LinkLayer.ETHERNET:
        env["NCCL_IB_GID_INDEX"] = "3"  # RoCE v2 over IPv4
    return env


def _rdma_pod(settings: RdmaSettings, *, image: str, gpus: int, cpu: int, memory_gib: int,
              command: list[str], restart: str) -> dict:  # fmt: skip
    """A pod on the RDMA nodes with every RDMA network attached and IPC_LOCK (the memory an HCA
    reads is pinned: registered memory must stay put)."""
    quantities: dict[str, str | int] = {"cpu": cpu, "memory": f"{memory_gib}Gi"}
    if gpus:
        quantities[GPU_RESOURCE] = gpus
    quantities |= {resource_name(settings, i): 1 for i in settings.interfaces}
    return {
        "metadata": {
            "labels": {"app.kubernetes.io/name": "rdma"},
            "annotations": {NETWORKS_ANNOTATION: ",".join(network_name(i) for i in settings.interfaces)},
        },
        "spec": {
            "restartPolicy": restart,
            "nodeSelector": {RDMA_NODE_LABEL: "true"},
            "tolerations": [GPU_TOLERATION],
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "command": command,
                    "env": [{"name": k, "value": v} for k, v in nccl_env(settings).items()],
                    "securityContext": restricted(add=["IPC_LOCK"]),
                    "resources": {"requests": quantities, "limits": quantities},
                    "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
                }
            ],
            "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}],
        },
    }


def training_pod_template(settings: RdmaSettings) -> dict:
    """The pod a distributed training job on the RDMA nodes starts from (``kubectl get
    podtemplate -n rdma-jobs rdma-training -o yaml``): every GPU of the node, every network."""
    template = _rdma_pod(
        settings, image=TRAINING_PYTORCH.uri, gpus=settings.gpus_per_node,
        cpu=CPU_PER_GPU * settings.gpus_per_node, memory_gib=MEMORY_GIB_PER_GPU * settings.gpus_per_node,
        command=["sleep", "infinity"], restart="Never",
    )  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "rdma-training", "namespace": RDMA_JOBS_NAMESPACE},
        "template": template,
    }


# The test pod's check: every network's interface has an address from its pool (Multus names
# them net1, net2, ...), and every HCA the pod sees has an active port.
TEST_SCRIPT = """\
set -u
status=0
for n in $(seq 1 {count}); do
  if ip -4 -o addr show dev net$n | grep -q inet; then ip -4 -o addr show dev net$n
  else echo "FAIL: net$n has no IPv4 address"; status=1; fi
done
if ! ibv_devinfo | grep -q PORT_ACTIVE; then echo "FAIL: no active RDMA port"; status=1; fi
ibv_devinfo | grep -E 'hca_id|state|link_layer'
[ $status -eq 0 ] && echo "PASS: {count} RDMA networks attached, ports active"
exit $status
"""


def rdma_test_pod(settings: RdmaSettings) -> dict:
    pod = _rdma_pod(
        settings, image=NCCL_TESTS.uri, gpus=0, cpu=1, memory_gib=2,
        command=["bash", "-c", TEST_SCRIPT.format(count=len(settings.interfaces))], restart="Never",
    )  # fmt: skip
    pod["metadata"] |= {"name": "rdma-test", "namespace": RDMA_JOBS_NAMESPACE}
    return {"apiVersion": "v1", "kind": "Pod", **pod}


def rdma_queue(settings: RdmaSettings) -> list[dict]:
    """Kueue's objects for the RDMA nodes: a ResourceFlavor on their label (Kueue adds the
    selector and the GPU toleration to what it admits there), a ClusterQueue whose quota is the
    nodes' GPUs with each GPU's share of CPU and memory, and the LocalQueue ``default`` in
    ``rdma-jobs``, the namespace the RDMA networks live in. The queue is no team's and in no
    cohort: the RDMA nodes are not lent, and no team queue lists the flavor."""
    gpus = settings.nodes * settings.gpus_per_node
    quota = [
        {"name": "cpu", "nominalQuota": CPU_PER_GPU * gpus},
        {"name": "memory", "nominalQuota": f"{MEMORY_GIB_PER_GPU * gpus}Gi"},
        {"name": GPU_RESOURCE, "nominalQuota": gpus},
    ]
    return [
        {
            "apiVersion": KUEUE_API,
            "kind": "ResourceFlavor",
            "metadata": {"name": RDMA_FLAVOR},
            "spec": {"nodeLabels": {RDMA_NODE_LABEL: "true"}, "tolerations": [GPU_TOLERATION]},
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "ClusterQueue",
            "metadata": {"name": RDMA_JOBS_NAMESPACE},
            "spec": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": RDMA_JOBS_NAMESPACE}},
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [
                    {
                        "coveredResources": ["cpu", "memory", GPU_RESOURCE],
                        "flavors": [{"name": RDMA_FLAVOR, "resources": quota}],
                    }
                ],
            },
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "LocalQueue",
            "metadata": {"name": LOCAL_QUEUE, "namespace": RDMA_JOBS_NAMESPACE},
            "spec": {"clusterQueue": RDMA_JOBS_NAMESPACE},
        },
    ]


class RdmaChart(cdk8s.Chart):
    """The NicClusterPolicy, the IP pools, the networks and the training pod template (after
    the Network Operator's chart, which installs their CRDs); with Kueue (``queued``), the RDMA
    queue (after Kueue's chart)."""

    def __init__(self, scope: Construct, chart_id: str, *, settings: RdmaSettings, queued: bool) -> None:
        super().__init__(scope, chart_id)
        for obj in rdma_queue(settings) if queued else []:
            api_object(self, obj)
        api_object(self, nic_cluster_policy(settings))
        for interface in settings.interfaces:
            api_object(self, ip_pool(interface))
            api_object(self, secondary_network(settings, interface))
        api_object(self, training_pod_template(settings))
