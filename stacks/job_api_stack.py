"""The job submission API on the cluster (issue 14): image, identities, manifests, load balancer.

Its database lives in the Storage stack (stateful); everything here is stateless and can be
destroyed and redeployed alone. Destroy order, which this stack's dependencies encode and
``tests/test_job_api.py`` asserts on the synthesized assembly: CloudFormation deletes this
stack before Nodes, Cluster, Storage and Network (it depends on each); inside it, the
``LoadBalancer`` Service is applied after, so deleted before, the namespace, its policies and
the database ingress rule, and its deletion (``kubectl delete``, which waits for the service
controller's finalizer) returns only once the NLB and its security group rules are gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdk8s
from aws_cdk import IgnoreMode, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from k8s_charts import job_api
from k8s_charts.kueue_queues import LOCAL_QUEUE
from k8s_charts.linkerd_identity import ROOT_ISSUER
from k8s_charts.namespaces import NamespacesChart
from platform_config import namespaces
from platform_config.checks import pascal
from platform_config.contract import GPU_TAINT_KEY, POOL_LABEL
from platform_config.model import StageConfig
from platform_config.versions import PLATFORM_JOBS_BASE
from platform_constructs.platform_jobs import attach
from platform_constructs.postgres import PlatformDatabase
from platform_constructs.workload_identity import irsa_role
from stacks.storage_stack import JOB_API_DATABASE
from stacks.workloads_stack import network_policies

NAMESPACE = namespaces.GPU_CONTROLPLANE
ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "images/job_api/Dockerfile"
# The build context is the repository root (the Dockerfile copies job_api/); only these enter it.
CONTEXT = ["*", "!job_api", "!images/job_api", "**/__pycache__", "**/*.pyc"]


def ecr_registry(config: StageConfig) -> str:
    """The stage's ECR registry, which also serves its pull-through caches (as path prefixes)."""
    return f"{config.account}.dkr.ecr.{config.region}.amazonaws.com"


def service_settings(config: StageConfig) -> dict[str, Any]:
    """The service's ``ServiceSettings`` document (job_api_contract.md) from the stage."""
    settings, tenancy = config.job_api, config.tenancy
    teams = {
        team.name: {
            "namespace": team.namespaces[0],
            "local_queue": LOCAL_QUEUE,
            "priority_class": tenancy.team_priority_class(team),
            "max_active_gpus": team.gpus,
            "members": list(settings.team_members.get(team.name, settings.allowed_principal_arns)),
        }
        for team in tenancy.teams
        if team.gpus  # a team without a GPU quota has nothing the API could admit
    }
    # Jobs go to every GPU pool but the reservations' (the planner promises those nodes' GPUs to
    # developer servers alone); a job asks for what its pool advertises (the capacity function).
    reserved = config.reservations.gpu_pools if config.reservations.enabled else []
    pools = {
        name: {
            "gpu_type": capacity.instances[0].gpu_model,
            "resource": capacity.unit,
            "gpus_per_node": max(capacity.units_per_node(i) for i in capacity.instances),
            "node_selector": {POOL_LABEL: name},
            "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        }
        for name, capacity in config.gpu_pool_capacity().items()
        if name not in reserved
    }
    return {
        "stage": config.name,
        "region": config.region,
        "allowed_principal_arns": list(settings.allowed_principal_arns),
        "key_ttl_minutes": settings.key_ttl_minutes,
        "allowed_registries": [ecr_registry(config), *settings.extra_registries],
        "max_runtime_minutes": settings.max_runtime_minutes,
        "limits": settings.limits.model_dump(),
        "teams": teams,
        "pools": pools,
    }


class JobApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        cluster: eks.ICluster,
        database: PlatformDatabase,
        owned_namespaces: list[str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        secret = database.consumers[JOB_API_DATABASE]
        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(ROOT),
            file=DOCKERFILE,
            exclude=CONTEXT,
            ignore_mode=IgnoreMode.DOCKER,
            build_args={"BASE_IMAGE": PLATFORM_JOBS_BASE.uri},
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        roles = {
            account: self._role(account, cluster=cluster, secret=secret, key=database.key)
            for account in (job_api.API, job_api.DISPATCHER)
        }
        # Pods use the EKS cluster security group (managed nodes carry it; no security groups
        # for pods): the database admits it in the Workloads stack, deployed before this one
        # (one rule for every consumer's pods), and NetworkPolicy narrows 5432 to these pods.

        created: list[Construct] = []
        if NAMESPACE not in owned_namespaces:
            space = attach(
                self, "Namespace", cluster, NamespacesChart(cdk8s.App(), "ns", namespaces=[NAMESPACE])
            )
            policies = attach(self, "NetworkPolicies", cluster, network_policies(config, [NAMESPACE]))
            policies.node.add_dependency(space)
            created = [space, policies]
        chart = job_api.JobApiChart(
            cdk8s.App(),
            "job-api",
            namespace=NAMESPACE,
            image=image.image_uri,
            region=self.region,
            settings=service_settings(config),
            team_namespaces=list(config.tenancy.namespaces),
            role_arns={account: role.role_arn for account, role in roles.items()},
            database_secret_arn=secret.secret_arn,
            api_replicas=config.job_api.api_replicas,
            dispatcher_replicas=config.job_api.dispatcher_replicas,
            root_issuer=ROOT_ISSUER,
            cert_manager_namespace=namespaces.CERT_MANAGER,
        )
        self.service = attach(self, "Service", cluster, chart)
        self.service.node.add_dependency(*created, *roles.values())

    def _role(
        self, account: str, *, cluster: eks.ICluster, secret: secretsmanager.ISecret, key: kms.IKey
    ) -> iam.Role:
        """IRSA for one ServiceAccount: read the job API's database secret, nothing else. STS
        needs no permission: the service only forwards callers' signed requests."""
        role = irsa_role(
            self,
            f"{pascal(account)}Role",
            cluster=cluster,
            namespace=NAMESPACE,
            service_account=account,
            description=f"{account}: read the job API's database secret",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secret.secret_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}
                },
            )
        )
        return role
