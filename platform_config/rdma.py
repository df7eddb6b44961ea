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

from platform_config.checks import Unique

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


class RdmaSettings(_Settings):
    enabled: bool = False
    link_layer: LinkLayer = LinkLayer.INFINIBAND
    device_plugin: DevicePlugin = DevicePlugin.SRIOV
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 8
    interfaces: Annotated[list[RdmaInterface], Unique("name")] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _consistent(self) -> RdmaSettings:
        if self.enabled and not self.interfaces:
            raise ValueError(
                "workloads.rdma.interfaces is empty but rdma is enabled; allowed: the node's RDMA "
                "interfaces with a subnet each (seed 004: lan2 to lan5)"
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
        """No interface range may overlap the stage's own ranges (``reserved``: setting -> CIDR)."""
        for interface in self.interfaces if self.enabled else []:
            for setting, cidr in reserved.items():
                if interface.network.overlaps(ipaddress.IPv4Network(cidr)):
                    raise ValueError(
                        f"workloads.rdma.interfaces[{interface.name}].subnet {interface.subnet} overlaps "
                        f"{setting} {cidr}; allowed: a range outside the cluster's own networks"
                    )
