"""The typed, validated model of one stage (dev, staging, prod, or a team's own).

Every feature of the platform is a field here with a safe default; a stage file that sets
an unknown key, a wrong type or an impossible combination is refused before any construct
is built. Cross-field rules (subnets fitting the VPC, EFA only on EFA-capable types, prod
keeping its data) live in validators so that the message names the setting at fault.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from platform_config import cpu_catalog, cron, gpu_catalog, llm_servers, mig_catalog, offerings
from platform_config.checks import ROLE_ARN_PATTERN, Unique, UniqueList, pascal, value_of
from platform_config.contract import GPU_RESOURCE
from platform_config.gpu_sharing import BOTTLEROCKET_MIG_GPUS, PoolCapacity, SharingSettings, advertised
from platform_config.job_api import JobApiSettings
from platform_config.platform_database import PlatformDatabaseSettings
from platform_config.reservations import GPU_COUNTS, ReservationsSettings
from platform_config.tenancy import TenancySettings
from platform_config.workloads import WorkloadsSettings
from reservations.policy import GpuType

KUBERNETES_VERSION: Final = "1.35"
ACCOUNT_PATTERN = r"^\d{12}$"
NAME_PATTERN = r"^[a-z][a-z0-9-]{1,20}$"
DURATION_PATTERN = r"^(\d+h)?(\d+m)?(\d+s)?$"


class _Settings(BaseModel):
    """Base for every settings block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class DataRetention(StrEnum):
    """What happens to stateful resources when their stack is deleted."""

    RETAIN = "retain"
    DESTROY = "destroy"


class CapacityType(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


class AmiFamily(StrEnum):
    """The EKS-optimized OS a pool's nodes boot (its NVIDIA variant on GPU pools).

    AL2023 gets the NVIDIA device plugin and MIG manager from the GPU Operator; Bottlerocket's
    NVIDIA variants run their own as host services (configured by Bottlerocket settings), and
    keep container data on a second volume (/dev/xvdb) apart from the small read-only OS volume.
    """

    AL2023 = "al2023"
    BOTTLEROCKET = "bottlerocket"


class NodePoolKind(StrEnum):
    GPU = "gpu"
    CPU = "cpu"


CPU_POOL = "cpu"  # the managed CPU node group's pool label, so no other pool may take it
RESERVED_POOL_NAMES = (CPU_POOL,)


def _network(cidr: str, setting: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{setting} {cidr!r} is not an IPv4 network in CIDR form ({exc})") from None


class NetworkSettings(_Settings):
    vpc_cidr: str = "10.0.0.0/16"
    public_subnet_mask: Annotated[int, Field(ge=16, le=28)] = 24
    private_subnet_mask: Annotated[int, Field(ge=16, le=28)] = 19
    nat_gateways: Annotated[int, Field(ge=1, le=6)] | None = Field(
        default=None,
        description="NAT gateways; defaults to one per AZ in prod and one otherwise.",
    )
    flow_log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = 30

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_is_usable(cls, value: str) -> str:
        network = _network(value, "vpc_cidr")
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(
                f"vpc_cidr {value!r} is /{network.prefixlen}; allowed is /16 to /20 "
                "(the VPC CNI gives every pod a VPC address, so smaller VPCs run out)"
            )
        if not network.is_private:
            raise ValueError(f"vpc_cidr {value!r} is not a private (RFC 1918) range")
        return value


class ClusterSettings(_Settings):
    kubernetes_version: Literal["1.35"] = KUBERNETES_VERSION
    service_ipv4_cidr: str = "172.20.0.0/16"
    endpoint_public_access_cidrs: UniqueList[str] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the public endpoint; empty means private only.",
    )
    admin_role_arns: UniqueList[Annotated[str, Field(pattern=ROLE_ARN_PATTERN)]] = Field(default_factory=list)
    control_plane_logs: UniqueList[
        Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
    ] = Field(default=["api", "audit", "authenticator"])

    @field_validator("service_ipv4_cidr")
    @classmethod
    def _service_cidr_is_network(cls, value: str) -> str:
        _network(value, "service_ipv4_cidr")
        return value

    @field_validator("endpoint_public_access_cidrs")
    @classmethod
    def _public_cidrs_are_restricted(cls, value: list[str]) -> list[str]:
        for cidr in value:
            network = _network(cidr, "endpoint_public_access_cidrs")
            if network.prefixlen == 0:
                raise ValueError(
                    "endpoint_public_access_cidrs must not contain 0.0.0.0/0; "
                    "name the office or VPN ranges, or leave it empty for a private endpoint"
                )
        return value


class ScalingSettings(_Settings):
    min_size: Annotated[int, Field(ge=0, le=100)] = 0
    desired_size: Annotated[int, Field(ge=0, le=100)] = 0
    max_size: Annotated[int, Field(ge=1, le=100)] = 1

    @model_validator(mode="after")
    def _sizes_are_ordered(self) -> ScalingSettings:
        if not self.min_size <= self.desired_size <= self.max_size:
            sizes = ", ".join(f"{f}={value_of(self, f)}" for f in ("min_size", "desired_size", "max_size"))
            raise ValueError(f"need min_size <= desired_size <= max_size, got {sizes}")
        return self


class CpuNodeSettings(ScalingSettings):
    instance_types: UniqueList[str] = Field(default_factory=lambda: ["m7i.xlarge"], min_length=1)
    min_size: Annotated[int, Field(ge=1, le=100)] = 2
    desired_size: Annotated[int, Field(ge=1, le=100)] = 2
    max_size: Annotated[int, Field(ge=1, le=100)] = 4
    disk_gib: Annotated[int, Field(ge=50, le=2000)] = 100

    @field_validator("instance_types")
    @classmethod
    def _catalogued_cpu_types(cls, value: list[str]) -> list[str]:
        for instance_type in value:
            if instance_type in gpu_catalog.GPU_INSTANCES:
                raise ValueError(f"{instance_type!r} is a GPU type; put it in gpu_pools, not cpu_nodes")
            if instance_type not in cpu_catalog.CPU_INSTANCES:
                raise ValueError(
                    f"{instance_type!r} is not a catalogued CPU instance type; allowed: sizes of the "
                    f"families {', '.join(cpu_catalog.known_families())} (e.g. m7i.xlarge)"
                )
        return value


class GpuPoolSettings(ScalingSettings):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    instance_type: str
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    efa: bool = Field(default=False, description="EFA interfaces and a cluster placement group.")
    data_volume_gib: Annotated[int, Field(ge=300, le=16000)] = 300
    ami_family: AmiFamily = AmiFamily.AL2023
    sharing: SharingSettings = Field(
        default_factory=SharingSettings, description="GPU sharing (README 'GPU sharing')."
    )

    @field_validator("instance_type")
    @classmethod
    def _known_gpu_type(cls, value: str) -> str:
        if value not in gpu_catalog.GPU_INSTANCES:
            raise ValueError(
                f"{value!r} is not a known GPU instance type; allowed: "
                + ", ".join(gpu_catalog.known_types())
            )
        return value

    @model_validator(mode="after")
    def _efa_needs_capable_type(self) -> GpuPoolSettings:
        if self.efa and not self.gpu.supports_efa:
            capable = [t for t in gpu_catalog.known_types() if gpu_catalog.lookup(t).supports_efa]
            raise ValueError(
                f"efa is true but {self.instance_type} has no EFA support; "
                "EFA-capable types: " + ", ".join(capable)
            )
        return self

    @model_validator(mode="after")
    def _sharing_fits_the_gpu(self) -> GpuPoolSettings:
        _check_sharing(self.name, self.sharing, [self.gpu.gpu_model], self.ami_family)
        return self

    @property
    def gpu(self) -> gpu_catalog.GpuInstance:
        return gpu_catalog.lookup(self.instance_type)

    @property
    def advertised(self) -> dict[str, int]:
        """What each node advertises (resource -> count), from the one capacity function."""
        return advertised(self.sharing, self.gpu)

    @property
    def max_gpus(self) -> int:
        """The most GPUs the pool can ever have: max_size nodes of its type's GPUs."""
        return self.max_size * self.gpu.gpus


class KarpenterNodePoolSettings(_Settings):
    """One Karpenter NodePool: GPU (the default; tainted, limited in GPUs) or CPU (platform
    services and CPU jobs; untainted, limited in vCPUs)."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    kind: NodePoolKind = NodePoolKind.GPU
    instance_families: UniqueList[str] = Field(min_length=1)
    capacity_types: UniqueList[CapacityType] = Field(
        default_factory=lambda: [CapacityType.ON_DEMAND], min_length=1
    )
    ami_family: AmiFamily = AmiFamily.AL2023
    weight: Annotated[int, Field(ge=0, le=100)] = 10
    gpu_limit: Annotated[int, Field(ge=1, le=4096)] | None = Field(
        default=None, description="GPU pools only: GPUs the pool may launch (default 16)."
    )
    cpu_limit: Annotated[int, Field(ge=2, le=100000)] | None = Field(
        default=None, description="CPU pools only: vCPUs the pool may launch (default 256)."
    )
    data_volume_gib: Annotated[int, Field(ge=50, le=16000)] | None = Field(
        default=None, description="Node data volume; default 300 GiB on GPU pools, 100 on CPU pools."
    )
    expire_after: Annotated[str, Field(pattern=DURATION_PATTERN)] = "720h"
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = "WhenEmpty"
    consolidate_after: Annotated[str, Field(pattern=DURATION_PATTERN)] = "10m"
    disruption_budget: Annotated[str, Field(pattern=r"^(\d+|\d{1,3}%)$")] = "10%"
    efa: bool = False
    sharing: SharingSettings = Field(
        default_factory=SharingSettings, description="GPU pools only (README 'GPU sharing')."
    )

    @field_validator("instance_families")
    @classmethod
    def _families_fit_the_kind(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind", NodePoolKind.GPU)
        known = gpu_catalog.known_families() if kind is NodePoolKind.GPU else cpu_catalog.known_families()
        for family in value:
            if family in known:
                continue
            other = "cpu" if family in cpu_catalog.FAMILIES else "gpu"
            hint = (
                f" ({family} is a {other.upper()} family: set kind: {other})"
                if family in cpu_catalog.FAMILIES or family in gpu_catalog.known_families()
                else ""
            )
            raise ValueError(
                f"{family!r} is not a known {kind.value.upper()} instance family{hint}; allowed: "
                + ", ".join(known)
            )
        return value

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> KarpenterNodePoolSettings:
        gpu = self.is_gpu
        wrong_limit = "cpu_limit" if gpu else "gpu_limit"
        if getattr(self, wrong_limit) is not None:
            raise ValueError(
                f"{wrong_limit} is set on a {self.kind.value.upper()} pool (kind: {self.kind.value}); "
                f"allowed: {'gpu_limit' if gpu else 'cpu_limit'}"
            )
        if self.efa and not gpu:
            raise ValueError("efa is true on a CPU pool (kind: cpu); EFA is for GPU pools")
        if not gpu and self.sharing.mode != "none":
            raise ValueError("sharing is set on a CPU pool (kind: cpu); sharing is for GPU pools")
        if gpu:
            models = sorted({gpu_catalog.lookup(t).gpu_model for t in self.catalogued_types})
            _check_sharing(self.name, self.sharing, models, self.ami_family)
        if self.sharing.mode == "mig-mixed":
            raise ValueError(
                f"pool {self.name}: sharing.mig.strategy mixed on a Karpenter pool: Karpenter launches "
                "a node only for resources its instance types list, and nvidia.com/mig-<profile> is not "
                "one, so pending MIG pods would never get a node; allowed: strategy single (MIG devices "
                "as nvidia.com/gpu), or mixed on a managed pool (gpu_pools)"
            )
        if self.efa:
            incapable = [f for f in self.instance_families if not self.efa_types(f)]
            if incapable:
                raise ValueError(
                    f"efa is true but instance family {', '.join(incapable)} has no EFA-capable size"
                )
        return self

    @staticmethod
    def efa_types(family: str) -> list[str]:
        return [
            t.instance_type
            for t in gpu_catalog.GPU_INSTANCES.values()
            if t.family == family and t.supports_efa
        ]

    @property
    def is_gpu(self) -> bool:
        return self.kind is NodePoolKind.GPU

    def advertised(self, instance_type: str) -> dict[str, int]:
        """What a node of ``instance_type`` advertises (resource -> count): the one capacity function."""
        return advertised(self.sharing, gpu_catalog.lookup(instance_type))

    @property
    def gpus_limit(self) -> int:
        """GPUs the pool may launch (GPU pools; 0 for CPU pools)."""
        return (self.gpu_limit or 16) if self.is_gpu else 0

    @property
    def vcpus_limit(self) -> int | None:
        """vCPUs the pool may launch (CPU pools; None for GPU pools, which are limited in GPUs)."""
        return None if self.is_gpu else (self.cpu_limit or 256)

    @property
    def volume_gib(self) -> int:
        return self.data_volume_gib or (300 if self.is_gpu else 100)

    @property
    def catalogued_types(self) -> list[str]:
        """The catalogued sizes of the pool's families (only EFA-capable ones when efa is on),
        wherever AWS sells them; what the pool launches is ``instance_types_in(region)``."""
        if not self.is_gpu:
            return sorted(
                t.instance_type
                for t in cpu_catalog.CPU_INSTANCES.values()
                if t.family in self.instance_families
            )
        return sorted(
            t.instance_type
            for t in gpu_catalog.GPU_INSTANCES.values()
            if t.family in self.instance_families and (t.supports_efa or not self.efa)
        )

    def instance_types_in(self, region: str) -> list[str]:
        """The sizes this pool may launch in ``region``: its catalogued sizes less those AWS does
        not sell there (a p5 pool in eu-north-1 has no p5.4xlarge). A size the offerings table
        does not know for the region (``offered`` None) is kept: the table never guesses."""
        return [t for t in self.catalogued_types if offerings.offered(t, region) is not False]

    def architectures_in(self, region: str) -> list[str]:
        """Kubernetes ``kubernetes.io/arch`` values of the sizes this pool may launch in ``region``."""
        catalog = gpu_catalog.GPU_INSTANCES if self.is_gpu else cpu_catalog.CPU_INSTANCES
        return sorted({KUBE_ARCH[catalog[t].architecture] for t in self.instance_types_in(region)})


KUBE_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def _check_sharing(pool: str, sharing: SharingSettings, gpu_models: list[str], ami: AmiFamily) -> None:
    """The pool's sharing runs on every GPU model it may launch, and on its OS (Bottlerocket
    applies one MIG profile filling each GPU, and no MIG mixed strategy)."""
    error = sharing.errors(gpu_models)
    if error:
        raise ValueError(f"pool {pool}: sharing.{error}")
    mig = sharing.mig
    if mig and ami is AmiFamily.BOTTLEROCKET:
        unsupported = [m for m in gpu_models if m not in BOTTLEROCKET_MIG_GPUS]
        if unsupported:
            raise ValueError(
                f"pool {pool}: sharing.mig on Bottlerocket: its MIG manager does not support "
                f"{', '.join(unsupported)}; allowed: {', '.join(BOTTLEROCKET_MIG_GPUS)}, or ami_family al2023"
            )
        profile = mig.layout[0]
        most = min(mig_catalog.MIG_GPUS[m].profiles[profile].max_instances for m in gpu_models)
        if mig.strategy != "single" or len(mig.layout) != most:
            raise ValueError(
                f"pool {pool}: sharing.mig on Bottlerocket applies one profile filling each GPU "
                f"(settings.kubelet-device-plugins.nvidia.mig.profile), got strategy {mig.strategy} "
                f"with {mig_catalog.describe(mig.layout)}; allowed: strategy single with "
                f"{most} x {profile}, or ami_family al2023"
            )


class KarpenterSettings(_Settings):
    enabled: bool = False
    node_pools: Annotated[list[KarpenterNodePoolSettings], Unique("name")] = Field(default_factory=list)

    @property
    def gpu_node_pools(self) -> list[KarpenterNodePoolSettings]:
        return [pool for pool in self.node_pools if pool.is_gpu]

    @model_validator(mode="after")
    def _pools_need_karpenter(self) -> KarpenterSettings:
        if self.node_pools and not self.enabled:
            raise ValueError(
                f"node_pools are set but enabled is {value_of(self, 'enabled')}; set enabled: true"
            )
        return self


class PullThroughCacheRule(_Settings):
    prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,29}$")]
    upstream_registry_url: Literal[
        "public.ecr.aws",
        "registry.k8s.io",
        "quay.io",
        "ghcr.io",
        "registry-1.docker.io",
        "registry.gitlab.com",
        "nvcr.io",
    ]
    credential_secret_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/[\w/+=.@-]+$",
        description="ARN of a Secrets Manager secret named ecr-pullthroughcache/...; "
        "referenced by ARN, its value never enters the template.",
    )

    @model_validator(mode="after")
    def _credentials_where_required(self) -> PullThroughCacheRule:
        needs_credentials = {"ghcr.io", "registry-1.docker.io", "registry.gitlab.com", "nvcr.io"}
        if self.upstream_registry_url in needs_credentials and not self.credential_secret_arn:
            raise ValueError(
                f"upstream {self.upstream_registry_url} requires credential_secret_arn "
                "(the ARN of a Secrets Manager secret named ecr-pullthroughcache/...)"
            )
        return self


class TokenRefreshSettings(_Settings):
    enabled: bool = False
    namespaces: UniqueList[
        Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
    ] = Field(default_factory=lambda: ["default"])
    secret_name: Annotated[str, Field(pattern=r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", max_length=253)] = (
        "ecr-registry-credentials"
    )
    schedule: str = "0 */6 * * *"

    @field_validator("schedule")
    @classmethod
    def _schedule_runs(cls, value: str) -> str:
        """A schedule Kubernetes accepts and that runs: its alerts are measured in it."""
        return cron.checked_schedule(value)


class RegistrySettings(_Settings):
    repositories: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")]], Unique(same=pascal)
    ] = Field(
        default_factory=lambda: [
            "dynamo/operator",
            "dynamo/vllm-runtime",
            "triton/tritonserver",
            "gpu-dev/dev-server",
        ]
    )
    keep_tagged_images: Annotated[int, Field(ge=1, le=1000)] = 50
    untagged_expiry_days: Annotated[int, Field(ge=1, le=365)] = 7
    pull_through_cache: Annotated[list[PullThroughCacheRule], Unique("prefix", same=pascal)] = Field(
        default_factory=list
    )
    token_refresh: TokenRefreshSettings = TokenRefreshSettings()


class StorageSettings(_Settings):
    retention: DataRetention = DataRetention.RETAIN
    model_bucket: bool = True
    efs_model_cache_path: str = "/model-cache"
    efs_workspace_path: str = "/workspace"
    noncurrent_version_expiry_days: Annotated[int, Field(ge=1, le=3650)] = 30


class StageConfig(_Settings):
    """One deployable stage: where it lives and every feature it turns on."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    tier: Tier
    account: Annotated[str, Field(pattern=ACCOUNT_PATTERN)]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    availability_zones: UniqueList[str]
    network: NetworkSettings = NetworkSettings()
    cluster: ClusterSettings = ClusterSettings()
    cpu_nodes: CpuNodeSettings = CpuNodeSettings()
    gpu_pools: Annotated[list[GpuPoolSettings], Unique("name", same=pascal)] = Field(default_factory=list)
    karpenter: KarpenterSettings = KarpenterSettings()
    registry: RegistrySettings = RegistrySettings()
    storage: StorageSettings = StorageSettings()
    workloads: WorkloadsSettings = WorkloadsSettings()
    reservations: ReservationsSettings = ReservationsSettings()
    tenancy: TenancySettings = TenancySettings()
    job_api: JobApiSettings = JobApiSettings()
    platform_database: PlatformDatabaseSettings = PlatformDatabaseSettings()

    @field_validator("availability_zones")
    @classmethod
    def _at_least_two_azs(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            raise ValueError(
                f"availability_zones has {len(value)} zone(s); EKS needs at least 2, allowed 2 to 6"
            )
        if len(value) > 6:
            raise ValueError(f"availability_zones has {len(value)} zones; allowed 2 to 6")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StageConfig:
        self._azs_in_region()
        self._subnets_fit()
        self._service_cidr_apart()
        self._prod_keeps_data()
        self._unique_pool_names()
        self._workload_pools_exist()
        self._triton_has_its_bucket()
        llm_servers.check_against_stage(self.workloads.llm_servers, self.gpu_pool_instances())
        self._reservation_pools_exist()
        self._team_quotas_fit()
        self._types_offered_in_region()
        self._secrets_in_stage_region()
        self._training_fits()
        self.workloads.example_agent.check_against_stage(self.workloads.llm_servers, self.tenancy)
        self.job_api.check_against_stage(
            teams=[t.name for t in self.tenancy.teams], cert_manager=self.workloads.linkerd.enabled
        )
        # Last: a stage without teams names the settings that need them first.
        self._minio_client_teams_exist()
        self._kueue_has_two_cpu_nodes()
        return self

    def _training_fits(self) -> None:
        """Training and Ray need teams (Kueue admits their jobs); RDMA ranges stay off the cluster's."""
        teams = [team.name for team in self.tenancy.teams]
        self.workloads.training.check_against_stage(teams=teams)
        self.workloads.ray.check_against_stage(teams=teams)
        reserved = {
            "network.vpc_cidr": self.network.vpc_cidr,
            "cluster.service_ipv4_cidr": self.cluster.service_ipv4_cidr,
        }
        self.workloads.rdma.check_against_stage(reserved=reserved)

    def _types_offered_in_region(self) -> None:
        """A type AWS does not sell in the stage's region fails only when CloudFormation creates
        the node group; refuse it here. Regions and types the offerings table does not cover
        (``offered`` is None) are accepted: the table knows only what its source says."""
        wanted = [(f"gpu_pools[{i}].instance_type", [p.instance_type]) for i, p in enumerate(self.gpu_pools)]
        wanted += [("cpu_nodes.instance_types", [t]) for t in self.cpu_nodes.instance_types]
        wanted += [
            (f"karpenter.node_pools[{i}].instance_families", p.catalogued_types)
            for i, p in enumerate(self.karpenter.node_pools)
        ]
        for setting, types in wanted:
            if types and all(offerings.offered(t, self.region) is False for t in types):
                where = ", ".join(offerings.offered_in(types[0])) or "no listed region"
                named = types[0] if len(types) == 1 else f"none of {', '.join(types[:3])}..."
                raise ValueError(
                    f"{setting}: {named} is not offered in {self.region} (per platform_config/offerings.py); "
                    f"allowed: a type AWS sells there, or this type in {where}"
                )

    def _team_quotas_fit(self) -> None:
        """Team GPU quotas name this stage's GPU pools and fit what each pool can ever have: a
        managed pool max_size x its type's GPUs (the catalogue's figure), a Karpenter pool its limit."""
        capacity = {
            p.name: (
                p.max_gpus,
                f"max_size {p.max_size} x {p.gpu.gpus} GPUs per {p.instance_type}",
            )
            for p in self.gpu_pools
        } | {p.name: (p.gpus_limit, "its gpu_limit") for p in self.karpenter.gpu_node_pools}
        refresh = self.registry.token_refresh
        self.tenancy.check_against_stage(
            gpu_capacity=capacity,
            cpu_pools=[*RESERVED_POOL_NAMES, *(p.name for p in self.karpenter.node_pools if not p.is_gpu)],
            other_namespaces=dict.fromkeys(
                refresh.namespaces if refresh.enabled else [], "registry.token_refresh.namespaces"
            ),
        )

    def _kueue_has_two_cpu_nodes(self) -> None:
        """With teams, Kueue's fail-closed webhook runs two replicas on different CPU nodes
        (platform_constructs/operators.py): one CPU node would leave the second Pending and the
        install waiting for it."""
        if self.tenancy.teams and self.cpu_nodes.min_size < 2:
            raise ValueError(
                f"cpu_nodes.min_size is {self.cpu_nodes.min_size}, but tenancy.teams needs two CPU nodes "
                "(Kueue's admission webhook runs two replicas on different nodes); allowed: 2 or more"
            )

    def _minio_client_teams_exist(self) -> None:
        teams = [team.name for team in self.tenancy.teams]
        for team in self.workloads.minio.client_teams:
            if team not in teams:
                raise ValueError(
                    f"workloads.minio.client_teams: {team!r} is not a team of this stage; allowed: "
                    f"{', '.join(teams) or '(none: add tenancy.teams first)'}"
                )

    def minio_client_namespaces(self) -> list[str]:
        """Every namespace whose pods may reach MinIO's S3 API: the listed ones and those of
        the listed teams."""
        minio = self.workloads.minio
        teams = [ns for ns, team in self.tenancy.namespaces.items() if team.name in minio.client_teams]
        return sorted({*minio.client_namespaces, *teams})

    def _reservation_pools_exist(self) -> None:
        """Reservations pin a dev pod to a node the planner chose, so they use managed pools
        (fixed nodes with known capacity), not Karpenter pools that start empty."""
        managed = {p.name: p for p in self.gpu_pools}
        for pool in self.reservations.gpu_pools if self.reservations.enabled else []:
            if pool not in managed:
                raise ValueError(
                    f"reservations.gpu_pools: {pool!r} is not a managed GPU pool; "
                    f"allowed: {', '.join(managed) or '(none: add gpu_pools first)'}"
                )
            if GPU_RESOURCE not in managed[pool].advertised:
                raise ValueError(
                    f"reservations.gpu_pools: {pool!r} advertises {', '.join(managed[pool].advertised)} "
                    f"(sharing {managed[pool].sharing.mode}), but a dev server requests {GPU_RESOURCE}; "
                    "allowed: a pool with sharing none, time_slicing, mps or mig strategy single"
                )
        if self.reservations.enabled:
            self._reservation_counts_served()

    def _reservation_counts_served(self) -> None:
        """Each count a stage allows must be served by some reservation pool: one node's GPUs,
        or whole nodes of an EFA pool (a multi-node reservation, README "GPU developer
        servers"). A count one pool can't serve is refused at request time for that pool only."""
        explicit = self.reservations.allowed_gpu_counts
        gpu_types = self.reservation_gpu_types()
        for count in explicit or ():
            if all(t.multi_node_refusal(count) for t in gpu_types):
                served = "; ".join(
                    f"{t.name!r} ({t.gpus_per_node} GPUs a node"
                    + (", EFA: whole nodes" if t.efa_interfaces else ", no EFA")
                    + f") takes {_counts(t)}"
                    for t in gpu_types
                )
                raise ValueError(
                    f"reservations.allowed_gpu_counts: {count} GPUs is served by no reservation pool "
                    f"(a request above one node needs an EFA pool, gpu_pools[].efa, and whole nodes); "
                    f"allowed: {served}"
                )

    def _secrets_in_stage_region(self) -> None:
        """Secrets Manager is regional: the secret sync reads every secret through the stage's
        region, and an ECR pull-through cache rule takes a secret only from its own account and
        region (AWS's ECR guide, "Creating a pull through cache rule"). A secret elsewhere (a
        stage file copied from another region) would pass synth and deploy and fail at run time."""
        for path, arn in secret_arn_settings(self):
            _, _, _, region, account, *_ = arn.split(":")
            if path.startswith("registry.pull_through_cache") and (account, region) != (
                self.account,
                self.region,
            ):
                raise ValueError(
                    f"{path}: {arn} is in account {account}, region {region}; a pull-through cache "
                    f"rule takes a secret from its own account and region only: allowed: a secret in "
                    f"account {self.account}, region {self.region}"
                )
            if region != self.region:
                raise ValueError(
                    f"{path}: {arn} is in region {region}; the stage reads its secrets in its own "
                    f"region: allowed: a secret in region {self.region} (copy or create it there)"
                )

    def _azs_in_region(self) -> None:
        for zone in self.availability_zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                raise ValueError(
                    f"availability_zones: {zone!r} is not a zone of region {self.region} "
                    f"(expected e.g. {self.region}a)"
                )

    def _subnets_fit(self) -> None:
        network = self.network
        vpc = ipaddress.IPv4Network(network.vpc_cidr)
        vpc_text = f"network.vpc_cidr {value_of(network, 'vpc_cidr')}"
        masks = {"public": network.public_subnet_mask, "private": network.private_subnet_mask}
        for kind, mask in masks.items():
            if mask <= vpc.prefixlen:
                raise ValueError(
                    f"network.{kind}_subnet_mask /{value_of(network, f'{kind}_subnet_mask')} is not "
                    f"smaller than {vpc_text}; allowed /{vpc.prefixlen + 1} to /28"
                )
        needed = len(self.availability_zones) * sum(2 ** (32 - m) for m in masks.values())
        if needed > vpc.num_addresses:
            raise ValueError(
                f"{vpc_text} is too small: {len(self.availability_zones)} AZs x "
                f"(public /{value_of(network, 'public_subnet_mask')} + private "
                f"/{value_of(network, 'private_subnet_mask')}) need {needed} addresses, "
                f"the VPC has {vpc.num_addresses}"
            )

    def _service_cidr_apart(self) -> None:
        vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
        service = ipaddress.IPv4Network(self.cluster.service_ipv4_cidr)
        if vpc.overlaps(service):
            raise ValueError(
                f"cluster.service_ipv4_cidr {value_of(self.cluster, 'service_ipv4_cidr')} overlaps "
                f"network.vpc_cidr {value_of(self.network, 'vpc_cidr')}; "
                "Kubernetes service addresses must be outside the VPC"
            )

    def _prod_keeps_data(self) -> None:
        if self.tier is Tier.PROD and self.storage.retention is DataRetention.DESTROY:
            raise ValueError(
                "storage.retention is 'destroy' on a prod stage; prod must use 'retain' "
                "so that deleting a stack never deletes models, images or file systems"
            )

    def _unique_pool_names(self) -> None:
        """Each list refuses its own repeats (``Unique``); a name may not be in both lists, nor
        be one the platform reserves."""
        pools: list[tuple[str, Sequence[GpuPoolSettings | KarpenterNodePoolSettings]]] = [
            ("gpu_pools", self.gpu_pools),
            ("karpenter.node_pools", self.karpenter.node_pools),
        ]
        for setting, group in pools:
            for index, pool in enumerate(group):
                if pool.name in RESERVED_POOL_NAMES:
                    raise ValueError(
                        f"{setting}[{index}].name {pool.name!r} is reserved for the managed CPU node "
                        "group (cpu_nodes); allowed: any other name"
                    )
        karpenter = {pool.name: index for index, pool in enumerate(self.karpenter.node_pools)}
        for index, pool in enumerate(self.gpu_pools):
            if pool.name in karpenter:
                raise ValueError(
                    f"gpu_pools[{index}].name {pool.name!r} is also karpenter.node_pools"
                    f"[{karpenter[pool.name]}].name; pool names label nodes, so allowed: "
                    "a name in one of the two lists only"
                )

    def _workload_pools_exist(self) -> None:
        """Triton, Dynamo models and LLM servers name the GPU pool they run on; disaggregated
        serving moves KV caches over EFA, so its pool must have EFA. A shared pool's unit (a
        time-slice, an MPS client, a MIG device) is one device to a process, so serving asks for
        one there. A reservation pool is the planner's alone: it counts only reservations against
        a node's GPUs, so a serving pod there would hold GPUs it has already promised."""
        pools = {p.name: p.efa for p in self.gpu_pools} | {
            p.name: p.efa for p in self.karpenter.gpu_node_pools
        }
        capacity = self.gpu_pool_capacity()
        reserved = self.reservations.gpu_pools if self.reservations.enabled else []
        triton = self.workloads.triton
        wanted = (
            [("workloads.triton", triton.gpu_pool, False, "gpus_per_replica", triton.gpus_per_replica)]
            if triton.enabled
            else []
        )
        if self.workloads.dynamo.enabled:
            wanted += [
                (f"workloads.dynamo.models[{m.name}]", m.gpu_pool, m.mode == "disaggregated",
                 "gpus_per_worker", m.gpus_per_worker)
                for m in self.workloads.dynamo.models
            ]  # fmt: skip
        wanted += [
            (f"workloads.llm_servers[{s.name}]", s.gpu_pool, False, "gpus", s.gpus)
            for s in self.workloads.llm_servers
        ]
        for setting, pool, needs_efa, count_setting, count in wanted:
            if pool not in pools:
                raise ValueError(
                    f"{setting}.gpu_pool is {pool!r}; allowed: the stage's GPU pools {sorted(pools)}"
                )
            if needs_efa and not pools[pool]:
                efa_pools = sorted(name for name, efa in pools.items() if efa)
                raise ValueError(
                    f"{setting}.gpu_pool is {pool!r}, which has no EFA; disaggregated serving needs an "
                    f"EFA pool: {efa_pools or 'none in this stage'}"
                )
            if pool in reserved:
                free = sorted(set(pools) - set(reserved))
                raise ValueError(
                    f"{setting}.gpu_pool is {pool!r}, which reservations.gpu_pools {reserved} reserves for "
                    "GPU developer servers (the planner promises a node's GPUs to reservations only); "
                    f"allowed: a pool not in reservations.gpu_pools: {free or 'none in this stage'}"
                )
            sharing = capacity[pool].sharing.mode
            if sharing != "none" and count > 1:
                raise ValueError(
                    f"{setting}.{count_setting} is {count} but pool {pool} shares its GPUs ({sharing}): a "
                    f"process sees one {capacity[pool].unit} there; allowed: 1, or a pool with sharing none"
                )

    def _triton_has_its_bucket(self) -> None:
        triton = self.workloads.triton
        if triton.enabled and triton.model_repository == "s3" and not self.storage.model_bucket:
            raise ValueError(
                "workloads.triton.model_repository is 's3' but storage.model_bucket is false; "
                "allowed: enable storage.model_bucket, or model_repository 'efs'"
            )

    @property
    def nat_gateway_count(self) -> int:
        if self.network.nat_gateways is not None:
            return self.network.nat_gateways
        return len(self.availability_zones) if self.tier is Tier.PROD else 1

    @property
    def is_prod(self) -> bool:
        return self.tier is Tier.PROD

    @property
    def needs_efa(self) -> bool:
        return any(p.efa for p in self.gpu_pools) or any(p.efa for p in self.karpenter.node_pools)

    def gpu_pool_instances(self) -> dict[str, list[gpu_catalog.GpuInstance]]:
        """Every GPU pool (managed or Karpenter) by name, with the catalogued types it may launch
        in the stage's region."""
        pools = {p.name: [p.gpu] for p in self.gpu_pools}
        return pools | {
            p.name: [gpu_catalog.lookup(t) for t in p.instance_types_in(self.region)]
            for p in self.karpenter.gpu_node_pools
        }

    def gpu_pool_capacity(self) -> dict[str, PoolCapacity]:
        """Every GPU pool by name with what it advertises: the one source of "GPUs per node"."""
        managed = {p.name: PoolCapacity(p.name, p.sharing, (p.gpu,)) for p in self.gpu_pools}
        return managed | {
            p.name: PoolCapacity(
                p.name, p.sharing, tuple(gpu_catalog.lookup(t) for t in p.instance_types_in(self.region))
            )
            for p in self.karpenter.gpu_node_pools
        }

    def reservation_gpu_types(self) -> tuple[GpuType, ...]:
        """The reservable GPU types, one per reservation pool, sized by gpu_pool_capacity: on a
        time-sliced or MIG (single) pool a dev server reserves slices, advertised as nvidia.com/gpu."""
        capacity = self.gpu_pool_capacity()
        managed = {pool.name: pool for pool in self.gpu_pools}
        return tuple(
            GpuType(
                name=name,
                gpu_model=capacity[name].instances[0].gpu_model,
                gpus_per_node=capacity[name].per_node(capacity[name].instances[0])[GPU_RESOURCE],
                efa_interfaces=capacity[name].instances[0].efa_interfaces if managed[name].efa else 0,
            )
            for name in self.reservations.gpu_pools
        )

    def reservation_gpu_counts(self) -> tuple[int, ...]:
        """reservations.allowed_gpu_counts as written, or when unset every count of 1, 2, 4, 8, 16
        that some reservation pool serves (the runtime narrows it per pool: Policy.counts_for)."""
        if self.reservations.allowed_gpu_counts is not None:
            return tuple(self.reservations.allowed_gpu_counts)
        gpu_types = self.reservation_gpu_types()
        return tuple(c for c in GPU_COUNTS if any(t.multi_node_refusal(c) is None for t in gpu_types))

    @property
    def has_gpus(self) -> bool:
        """Whether any node of the stage can have a GPU (managed pools or Karpenter GPU pools)."""
        return bool(self.gpu_pools or self.karpenter.gpu_node_pools)


def _counts(gpu_type: GpuType) -> str:
    """The counts of 1, 2, 4, 8, 16 one reservable GPU type serves, for an error message."""
    return ", ".join(str(c) for c in GPU_COUNTS if gpu_type.multi_node_refusal(c) is None)


def secret_arn_settings(model: BaseModel, path: str = "") -> list[tuple[str, str]]:
    """Every Secrets Manager ARN a stage names, with its setting: the fields whose name ends in
    ``secret_arn``, at any depth (lists by index)."""
    found: list[tuple[str, str]] = []
    for name in type(model).model_fields:
        value, where = getattr(model, name), f"{path}{name}"
        if name.endswith("secret_arn") and isinstance(value, str):
            found.append((where, value))
        elif isinstance(value, BaseModel):
            found += secret_arn_settings(value, f"{where}.")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += secret_arn_settings(item, f"{where}[{index}].")
    return found
