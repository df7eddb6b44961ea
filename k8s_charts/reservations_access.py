"""What the reservation Lambdas may do in the cluster, and the shared workspace of dev pods.

The Lambdas' IAM role is mapped by an EKS access entry to the Kubernetes group ``GROUP``;
this chart binds that group to a Role in the dev-pod namespace (pods, services and claims:
exactly what a reservation creates and removes; and a gang's NetworkPolicy, which the Lambdas
only create, list (the expiry sweep) and delete -- never read, patch or watch) and to a
read-only ClusterRole on nodes (the planner needs each GPU node's allocatable GPUs and
address). Nothing else is granted.

Exception, written down: NetworkPolicies are additive, so whoever may create one in the dev-pod
namespace may open that namespace's pods to more than the default deny allows (into the VPC,
say). The Lambdas need it for per-reservation gang isolation (``reservations.dev_pod``); their
identity may already create any pod there, and the grant stays in that one namespace.
"""

from __future__ import annotations

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import app_labels

GROUP = "gpu-dev-reservations"
WORKSPACE_CLAIM = "workspace"
POD_VERBS = ["get", "list", "watch", "create", "delete", "patch"]
NETWORK_POLICY_VERBS = ["create", "delete", "list"]  # reservations.kube: create, sweep, cleanup


class ReservationsAccessChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        efs_storage_class: str,
        workspace_gib: int = 1000,
    ) -> None:
        super().__init__(scope, chart_id)
        labels = app_labels("gpu-dev", "reservations")
        subject = [k8s.Subject(kind="Group", name=GROUP, api_group="rbac.authorization.k8s.io")]
        k8s.KubeRole(
            self,
            "role",
            metadata=k8s.ObjectMeta(name=GROUP, namespace=namespace, labels=labels),
            rules=[
                k8s.PolicyRule(
                    api_groups=[""], resources=["pods", "services", "persistentvolumeclaims"], verbs=POD_VERBS
                ),
                k8s.PolicyRule(
                    api_groups=["networking.k8s.io"],
                    resources=["networkpolicies"],
                    verbs=NETWORK_POLICY_VERBS,
                ),
            ],
        )
        k8s.KubeRoleBinding(
            self,
            "role-binding",
            metadata=k8s.ObjectMeta(name=GROUP, namespace=namespace, labels=labels),
            role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=GROUP),
            subjects=subject,
        )
        k8s.KubeClusterRole(
            self,
            "node-reader",
            metadata=k8s.ObjectMeta(name=f"{GROUP}-node-reader", labels=labels),
            rules=[k8s.PolicyRule(api_groups=[""], resources=["nodes"], verbs=["get", "list"])],
        )
        k8s.KubeClusterRoleBinding(
            self,
            "node-reader-binding",
            metadata=k8s.ObjectMeta(name=f"{GROUP}-node-reader", labels=labels),
            role_ref=k8s.RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=f"{GROUP}-node-reader"
            ),
            subjects=subject,
        )
        # One read-write-many EFS volume every dev pod mounts at /workspace.
        k8s.KubePersistentVolumeClaim(
            self,
            "workspace",
            metadata=k8s.ObjectMeta(name=WORKSPACE_CLAIM, namespace=namespace, labels=labels),
            spec=k8s.PersistentVolumeClaimSpec(
                access_modes=["ReadWriteMany"],
                storage_class_name=efs_storage_class,
                resources=k8s.VolumeResourceRequirements(
                    requests={"storage": k8s.Quantity.from_string(f"{workspace_gib}Gi")}
                ),
            ),
        )
