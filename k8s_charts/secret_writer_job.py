"""A job that writes Secrets into other namespaces (the ECR token refresh, the Secrets
Manager sync): least-privilege RBAC in each target namespace, a CronJob and a Job that runs
once at install.

The ServiceAccount itself is created by CDK (``eks.ServiceAccount``) so that its IRSA role
annotation and the role's trust policy come from one construct.
"""

from __future__ import annotations

import hashlib
import json
import re

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import pod_security, restricted_security_context

APP_LABELS = {"app.kubernetes.io/part-of": "gpu-platform"}
RUN_AS_USER = 65532


class SecretWriterJobChart(cdk8s.Chart):
    """A job that writes named Secrets into other namespaces: a CronJob, a Job that runs
    once at install (named after its content, because Job specs are immutable), and in each
    target namespace a Role that may create Secrets and touch only the named ones (and read and
    patch only the named Deployments it rolls when their Secret changes)."""

    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        name: str,
        namespace: str,
        service_account: str,
        image: str,
        env: dict[str, str],
        grants: dict[str, list[str]],
        schedule: str,
        revision: str,
        container: str,
        command: list[str] | None = None,
        restarts: dict[str, list[str]] | None = None,
    ) -> None:
        """``grants``: target namespace -> the Secret names the job writes there; ``restarts``:
        target namespace -> the Deployments there it may roll; ``revision``
        identifies the image (its asset hash: the image URI itself is a CDK token, which is
        not stable enough to hash). The install-time Job is named after ``revision`` and every
        other input that shapes it, so a changed Job is a new Job, never a failed apply."""
        super().__init__(scope, chart_id)
        labels = {**APP_LABELS, "app.kubernetes.io/name": name}
        for target, secret_names in grants.items():
            rolled = (restarts or {}).get(target, [])
            self._grant_secret_access(name, labels, target, namespace, service_account, secret_names, rolled)
        job_spec = _job_spec(
            service_account=service_account,
            image=image,
            env=env,
            labels=labels,
            command=command,
            container=container,
        )
        k8s.KubeCronJob(
            self,
            "cronjob",
            metadata=k8s.ObjectMeta(name=name, namespace=namespace, labels=labels),
            spec=k8s.CronJobSpec(
                schedule=schedule,
                concurrency_policy="Forbid",
                starting_deadline_seconds=600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.JobTemplateSpec(spec=job_spec),
            ),
        )
        k8s.KubeJob(
            self,
            "initial",
            metadata=k8s.ObjectMeta(
                name=f"{name}-initial-{_digest(revision, env, command, container, service_account)}",
                namespace=namespace,
                labels=labels,
            ),
            spec=job_spec,
        )

    def _grant_secret_access(
        self,
        name: str,
        labels: dict[str, str],
        target: str,
        namespace: str,
        service_account: str,
        secret_names: list[str],
        deployments: list[str],
    ) -> None:
        role_name = f"{name}-writer"
        # rolling a Deployment is a patch of its pod template; get reads the version it runs
        rolls = [
            k8s.PolicyRule(api_groups=["apps"], resources=["deployments"], resource_names=deployments,
                           verbs=["get", "patch"])
        ] if deployments else []  # fmt: skip
        k8s.KubeRole(
            self,
            f"role-{target}",
            metadata=k8s.ObjectMeta(name=role_name, namespace=target, labels=labels),
            rules=[
                # create cannot be limited to a name (the object does not exist yet).
                k8s.PolicyRule(api_groups=[""], resources=["secrets"], verbs=["create"]),
                k8s.PolicyRule(
                    api_groups=[""],
                    resources=["secrets"],
                    resource_names=secret_names,
                    verbs=["get", "update", "patch"],
                ),
                *rolls,
            ],
        )
        k8s.KubeRoleBinding(
            self,
            f"binding-{target}",
            metadata=k8s.ObjectMeta(name=role_name, namespace=target, labels=labels),
            role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=role_name),
            subjects=[k8s.Subject(kind="ServiceAccount", name=service_account, namespace=namespace)],
        )


def _job_spec(
    *,
    service_account: str,
    image: str,
    env: dict[str, str],
    labels: dict[str, str],
    command: list[str] | None,
    container: str,
) -> k8s.JobSpec:
    return k8s.JobSpec(
        backoff_limit=2,
        active_deadline_seconds=300,
        ttl_seconds_after_finished=86400,
        template=k8s.PodTemplateSpec(
            metadata=k8s.ObjectMeta(labels=labels),
            spec=k8s.PodSpec(
                service_account_name=service_account,
                restart_policy="Never",
                automount_service_account_token=True,
                security_context=pod_security(RUN_AS_USER),
                containers=[
                    k8s.Container(
                        name=container,
                        image=image,
                        command=command,
                        env=[k8s.EnvVar(name=key, value=value) for key, value in env.items()],
                        resources=k8s.ResourceRequirements(
                            requests={
                                "cpu": k8s.Quantity.from_string("50m"),
                                "memory": k8s.Quantity.from_string("96Mi"),
                            },
                            limits={
                                "cpu": k8s.Quantity.from_string("250m"),
                                "memory": k8s.Quantity.from_string("256Mi"),
                            },
                        ),
                        security_context=restricted_security_context(user=RUN_AS_USER),
                        volume_mounts=[k8s.VolumeMount(name="tmp", mount_path="/tmp")],
                    )
                ],
                volumes=[
                    k8s.Volume(
                        name="tmp",
                        empty_dir=k8s.EmptyDirVolumeSource(size_limit=k8s.Quantity.from_string("16Mi")),
                    )
                ],
            ),
        ),
    )


# A CDK token in an input (a secret ARN from another stack) is a placeholder whose number
# depends on the order the app created its tokens in, which varies from one synth to the next.
_TOKEN = re.compile(r"[$#]\{Token\[[^\]]*\]\}")


def _digest(*parts) -> str:
    """Eight hex digits naming a Job after everything that shapes it and is known at synth: a
    token counts as "a token", so the name is the same in every synth of the same app."""
    text = _TOKEN.sub("<token>", json.dumps(list(parts), sort_keys=True))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
