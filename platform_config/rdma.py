"""Stage settings of the RDMA data plane (seed 004): InfiniBand or RoCE interfaces beside the
primary pod network, for GPU nodes that have them.

On EC2 the RDMA path is EFA (``gpu_pools[].efa``, Karpenter ``efa``); EC2 instances have no
InfiniBand or RoCE NICs. This block is for GPU servers of one's own that join the cluster as EKS
Hybrid Nodes (README, "RDMA data plane"). Off by default. Each named interface becomes a
secondary network (a ``HostDeviceNetwork`` with the SR-IOV device plugin, or a
``MacvlanNetwork`` with the RDMA shared device plugin) with its own ``IPPool``.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from platform_config.checks import ROLE_ARN_PATTERN, Unique, UniqueList

# A Linux network interface name (IFNAMSIZ 16, so at most 15 characters): seed 004's lan2-lan5.
INTERFACE_PATTERN = r"^[a-z][a-z0-9]{0,14}$"
HCA_PATTERN = r"^mlx5_\d{1,3}$"
# The label an RDMA node carries (set when it joins: nodeadm's kubelet flags); every RDMA
# component and pod selects it.
RDMA_NODE_LABEL = "gpuplatform.io/rdma"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkLayer(StrEnum):
    INFINIBAND = "infiniband"
    ETHERNET = "ethernet"  # RoCE v2


class DevicePlugin(StrEnum):
    """How a pod gets an interface: ``sriov`` hands it a whole device (a PF, or a VF created on
    the host) through the SR-IOV network device plugin and the host-device CNI; ``shared`` lets
    many pods share the HCA through the RDMA shared device plugin, with a macvlan interface on it
    (Ethernet only: macvlan needs an Ethernet link)."""

    SRIOV = "sriov"
    SHARED = "shared"


class RdmaInterface(_Settings):
    name: Annotated[str, Field(pattern=INTERFACE_PATTERN)]
    subnet: str = Field(description="The IPv4 range pods get addresses from on this interface.")
    hca: Annotated[str, Field(pattern=HCA_PATTERN)] | None = Field(
        None, description="The HCA behind the interface (e.g. mlx5_2), for NCCL_IB_HCA."
    )
    per_node_block_size: Annotated[int, Field(ge=2, le=4096)] = 16

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, value: str) -> str:
        try:
            ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"subnet {value!r} is not an IPv4 network in CIDR form ({exc})") from None
        return value

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @model_validator(mode="after")
    def _block_fits(self) -> RdmaInterface:
        if self.per_node_block_size * 2 > self.network.num_addresses:
            raise ValueError(
                f"interface {self.name}: per_node_block_size {self.per_node_block_size} leaves room for "
                f"fewer than 2 nodes in {self.subnet}; allowed: at most {self.network.num_addresses // 2}"
            )
        return self


# EKS's own bounds on a remote node or pod network (RemoteNetworkConfig): RFC 1918, /8 to /32.
RFC_1918 = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _remote_network(value: str, setting: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{setting} {value!r} is not an IPv4 network in CIDR form ({exc})") from None
    if network.prefixlen < 8 or not any(network.subnet_of(private) for private in RFC_1918):
        raise ValueError(
            f"{setting} {value!r} is not allowed; allowed: a range inside 10.0.0.0/8, 172.16.0.0/12 or "
            "192.168.0.0/16, /8 to /32 (EKS RemoteNetworkConfig)"
        )
    return network


class HybridNodes(_Settings):
    """How the RDMA nodes join: EKS Hybrid Nodes (servers of one's own, outside EC2, joined with
    ``nodeadm``). The cluster gets their ranges (``RemoteNetworkConfig``: the control plane
    routes to the nodes, and to webhooks running on them) and a ``HYBRID_LINUX`` access entry for
    the role their credentials (SSM hybrid activations or IAM Roles Anywhere) assume."""

    node_cidrs: UniqueList[str] = Field(
        min_length=1, description="The on-premises ranges the nodes' addresses are in."
    )
    pod_cidrs: UniqueList[str] = Field(
        default_factory=list,
        description="The ranges the nodes' CNI gives pods (needed for webhooks on them).",
    )
    role_arn: Annotated[str, Field(pattern=ROLE_ARN_PATTERN)] = Field(
        description="The Hybrid Nodes IAM role the nodes assume."
    )

    def networks(self) -> dict[str, ipaddress.IPv4Network]:
        """Setting path -> network, for every remote range."""
        found = {}
        for field in ("node_cidrs", "pod_cidrs"):
            for i, cidr in enumerate(getattr(self, field)):
                setting = f"workloads.rdma.hybrid_nodes.{field}[{i}]"
                found[setting] = _remote_network(cidr, setting)
        return found

    @model_validator(mode="after")
    def _apart(self) -> HybridNodes:
        items = list(self.networks().items())
        for i, (first, a) in enumerate(items):
            for second, b in items[i + 1 :]:
                if a.overlaps(b):
                    raise ValueError(
                        f"{first} {a} overlaps {second} {b}; allowed: ranges apart from each other"
                    )
        return self


class RdmaSettings(_Settings):
    enabled: bool = False
    link_layer: LinkLayer = LinkLayer.INFINIBAND
    device_plugin: DevicePlugin = DevicePlugin.SRIOV
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 8
    nodes: Annotated[int, Field(ge=1, le=1024)] = Field(
        2, description="How many RDMA nodes join: Kueue's quota on them is their GPUs."
    )
    interfaces: Annotated[list[RdmaInterface], Unique("name")] = Field(default_factory=list, max_length=16)
    hybrid_nodes: HybridNodes | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RdmaSettings:
        if self.enabled and not self.interfaces:
            raise ValueError(
                "workloads.rdma.interfaces is empty but rdma is enabled; allowed: the node's RDMA "
                "interfaces with a subnet each (seed 004: lan2 to lan5)"
            )
        if self.enabled and self.hybrid_nodes is None:
            raise ValueError(
                "workloads.rdma.hybrid_nodes is not set but rdma is enabled; EC2 has no InfiniBand or RoCE "
                "NICs, so the RDMA nodes join as EKS Hybrid Nodes: allowed: hybrid_nodes with node_cidrs "
                'and role_arn (README, "RDMA data plane")'
            )
        if self.device_plugin is DevicePlugin.SHARED and self.link_layer is LinkLayer.INFINIBAND:
            raise ValueError(
                "workloads.rdma.device_plugin is 'shared' with link_layer 'infiniband'; the shared plugin's "
                "macvlan interface needs an Ethernet link, so allowed: device_plugin 'sriov' for "
                "InfiniBand, or link_layer 'ethernet' (RoCE)"
            )
        for i, first in enumerate(self.interfaces):
            for second in self.interfaces[i + 1 :]:
                if first.network.overlaps(second.network):
                    raise ValueError(
                        f"workloads.rdma.interfaces: {first.name} {first.subnet} overlaps {second.name} "
                        f"{second.subnet}; allowed: one range of its own per interface"
                    )
        return self

    def check_against_stage(self, *, reserved: dict[str, str]) -> None:
        """No interface range and no hybrid node or pod range may overlap the stage's own ranges
        (``reserved``: setting -> CIDR), and no interface range a hybrid node or pod range."""
        if not self.enabled:
            return
        remote = self.hybrid_nodes.networks() if self.hybrid_nodes else {}
        for setting, network in remote.items():
            for own, cidr in reserved.items():
                if network.overlaps(ipaddress.IPv4Network(cidr)):
                    raise ValueError(
                        f"{setting} {network} overlaps {own} {cidr}; allowed: a range outside the VPC and "
                        "the service range (EKS RemoteNetworkConfig)"
                    )
        for interface in self.interfaces:
            for setting, cidr in {**reserved, **{k: str(v) for k, v in remote.items()}}.items():
                if interface.network.overlaps(ipaddress.IPv4Network(cidr)):
                    raise ValueError(
                        f"workloads.rdma.interfaces[{interface.name}].subnet {interface.subnet} overlaps "
                        f"{setting} {cidr}; allowed: a range outside the cluster's own networks"
                    )
