"""The GPU startup-taint remover: a DaemonSet on every GPU node that removes its own node's
``gpuplatform.io/gpu-not-ready`` taint once the node's GPUs are advertised and its MIG layout
is applied (``jobs/platform_jobs/gpu_ready.py``; README "GPU sharing", "Pods land only on
ready GPUs").

Restricted as far as Kubernetes allows:

- RBAC grants ``get`` and ``patch`` on nodes and nothing else (no list or watch, no other
  resource). RBAC cannot name "the pod's own node" (node names are not known at synth), so
- a ValidatingAdmissionPolicy holds the service account to its own node (the node name the
  API server puts into a pod-bound token's user info, ``authentication.kubernetes.io/node-name``)
  and to one change: the startup taint removed, every other taint, label, annotation and the
  ``unschedulable`` flag as they were.
- The pod runs as non-root with a read-only root filesystem, no capabilities and the runtime's
  seccomp profile; its only egress is the API server (the gpu-operator namespace's
  NetworkPolicies, ``k8s_charts/network_policies.py``).
"""

from __future__ import annotations

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import pod_security, restricted_security_context
from k8s_charts.secret_writer_job import RUN_AS_USER
from platform_config.contract import GPU_STARTUP_TAINT_KEY, GPU_TAINT_KEY, POOL_LABEL

NAME = "gpu-ready"
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"
TOLERATIONS = [
    k8s.Toleration(key=key, operator="Exists", effect="NoSchedule")
    for key in (GPU_TAINT_KEY, GPU_STARTUP_TAINT_KEY)
]


def _taints(obj: str) -> str:
    return f"(has({obj}.spec.taints) ? {obj}.spec.taints : [])"


def admission_validations() -> list[k8s.Validation]:
    """What the remover's service account may do to a node: CEL over the node before and after."""
    same = "(has(object.{0}) ? object.{0} : {1}) == (has(oldObject.{0}) ? oldObject.{0} : {1})"
    return [
        k8s.Validation(
            expression=f"has(request.userInfo.extra) && '{NODE_NAME_EXTRA}' in request.userInfo.extra && "
            f"object.metadata.name == request.userInfo.extra['{NODE_NAME_EXTRA}'][0]",
            message=f"{NAME} may change only the node its pod runs on",
        ),
        k8s.Validation(
            expression=f"{_taints('object')} == "
            f"{_taints('oldObject')}.filter(t, t.key != '{GPU_STARTUP_TAINT_KEY}')",
            message=f"{NAME} may only remove the {GPU_STARTUP_TAINT_KEY} taint",
        ),
        k8s.Validation(
            expression=" && ".join(
                [
                    same.format("metadata.labels", "{}"),
                    same.format("metadata.annotations", "{}"),
                    same.format("spec.unschedulable", "false"),
                ]
            ),
            message=f"{NAME} may not change a node's labels, annotations or unschedulable flag",
        ),
    ]


class GpuReadyChart(cdk8s.Chart):
    def __init__(
        self, scope: Construct, chart_id: str, *, namespace: str, image: str, gpu_pools: list[str]
    ) -> None:
        """``gpu_pools``: every GPU pool of the stage (managed and Karpenter), whose nodes start
        with the taint."""
        super().__init__(scope, chart_id)
        labels = {"app.kubernetes.io/name": NAME}
        k8s.KubeServiceAccount(self, "sa", metadata=k8s.ObjectMeta(name=NAME, namespace=namespace))
        k8s.KubeClusterRole(
            self,
            "role",
            metadata=k8s.ObjectMeta(name=NAME),
            rules=[k8s.PolicyRule(api_groups=[""], resources=["nodes"], verbs=["get", "patch"])],
        )
        k8s.KubeClusterRoleBinding(
            self,
            "binding",
            metadata=k8s.ObjectMeta(name=NAME),
            role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=NAME),
            subjects=[k8s.Subject(kind="ServiceAccount", name=NAME, namespace=namespace)],
        )
        k8s.KubeValidatingAdmissionPolicy(
            self,
            "policy",
            metadata=k8s.ObjectMeta(name=NAME),
            spec=k8s.ValidatingAdmissionPolicySpec(
                failure_policy="Fail",
                match_constraints=k8s.MatchResources(
                    resource_rules=[
                        k8s.NamedRuleWithOperations(
                            api_groups=[""], api_versions=["v1"], operations=["UPDATE"], resources=["nodes"]
                        )
                    ]
                ),
                match_conditions=[
                    k8s.MatchCondition(
                        name="remover",
                        expression=f"request.userInfo.username == 'system:serviceaccount:{namespace}:{NAME}'",
                    )
                ],
                validations=admission_validations(),
            ),
        )
        k8s.KubeValidatingAdmissionPolicyBinding(
            self,
            "policy-binding",
            metadata=k8s.ObjectMeta(name=NAME),
            spec=k8s.ValidatingAdmissionPolicyBindingSpec(policy_name=NAME, validation_actions=["Deny"]),
        )
        env = {"STARTUP_TAINT_KEY": GPU_STARTUP_TAINT_KEY, "INTERVAL_SECONDS": "10"}
        k8s.KubeDaemonSet(
            self,
            "daemonset",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.DaemonSetSpec(
                selector=k8s.LabelSelector(match_labels=labels),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        service_account_name=NAME,
                        automount_service_account_token=True,
                        tolerations=TOLERATIONS,
                        affinity=k8s.Affinity(
                            node_affinity=k8s.NodeAffinity(
                                required_during_scheduling_ignored_during_execution=k8s.NodeSelector(
                                    node_selector_terms=[
                                        k8s.NodeSelectorTerm(
                                            match_expressions=[
                                                k8s.NodeSelectorRequirement(
                                                    key=POOL_LABEL, operator="In", values=sorted(gpu_pools)
                                                )
                                            ]
                                        )
                                    ]
                                )
                            )
                        ),
                        security_context=pod_security(RUN_AS_USER),
                        containers=[
                            k8s.Container(
                                name=NAME,
                                image=image,
                                command=["python", "/app/gpu_ready.py"],
                                env=[
                                    k8s.EnvVar(
                                        name="NODE_NAME",
                                        value_from=k8s.EnvVarSource(
                                            field_ref=k8s.ObjectFieldSelector(field_path="spec.nodeName")
                                        ),
                                    ),
                                    *(k8s.EnvVar(name=key, value=value) for key, value in env.items()),
                                ],
                                resources=k8s.ResourceRequirements(
                                    requests={
                                        "cpu": k8s.Quantity.from_string("10m"),
                                        "memory": k8s.Quantity.from_string("64Mi"),
                                    },
                                    limits={"memory": k8s.Quantity.from_string("128Mi")},
                                ),
                                security_context=restricted_security_context(user=RUN_AS_USER),
                            )
                        ],
                    ),
                ),
            ),
        )
