"""IAM roles for Kubernetes service accounts: EKS Pod Identity and IRSA.

Pod Identity is the default for add-ons (no OIDC condition to keep in sync, session tags);
IRSA is used where a workload must run before or without the Pod Identity agent (vpc-cni)
or where a team's tooling expects the ``eks.amazonaws.com/role-arn`` annotation. Both trust
policies name exactly one namespace and service account.
"""

from __future__ import annotations

from aws_cdk import CfnJson
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct


def pod_identity_role(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    namespace: str,
    service_account: str,
    description: str,
    managed_policies: list[iam.IManagedPolicy] | None = None,
) -> iam.Role:
    """A role assumable through EKS Pod Identity, associated with one service account."""
    role = iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal("pods.eks.amazonaws.com")),
        managed_policies=managed_policies,
    )
    eks.CfnPodIdentityAssociation(
        scope,
        f"{construct_id}Association",
        cluster_name=cluster.cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.role_arn,
    )
    return role


def irsa_role(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    namespace: str,
    service_account: str,
    description: str,
    managed_policies: list[iam.IManagedPolicy] | None = None,
) -> iam.Role:
    """A role assumable only by ``system:serviceaccount:<namespace>:<service_account>``."""
    provider = cluster.open_id_connect_provider
    issuer = provider.open_id_connect_provider_issuer
    conditions = CfnJson(
        scope,
        f"{construct_id}TrustConditions",
        value={
            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{issuer}:aud": "sts.amazonaws.com",
        },
    )
    return iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.OpenIdConnectPrincipal(provider, conditions={"StringEquals": conditions}),
        managed_policies=managed_policies,
    )


def irsa_service_account(
    scope: Construct, construct_id: str, *, cluster: eks.ICluster, name: str, namespace: str, after: Construct
) -> eks.ServiceAccount:
    """A Kubernetes service account with its own IRSA role, created once ``after`` (the
    manifest that creates its namespace) is applied; for the in-cluster platform jobs."""
    account = eks.ServiceAccount(
        scope,
        construct_id,
        cluster=cluster,
        name=name,
        namespace=namespace,
        identity_type=eks.IdentityType.IRSA,
    )
    account.node.add_dependency(after)
    return account
