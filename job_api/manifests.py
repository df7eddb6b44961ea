"""The Kubernetes Job the dispatcher creates for a submission (the contract with the AWS side,
whose tests validate it against the Kubernetes 1.35 schemas).

Kueue admits it: the Job is created suspended, labelled for the team's LocalQueue and
WorkloadPriorityClass, and Kueue unsuspends it when the team's quota allows. Its name is a
function of the job id alone, so a redelivered queue message finds the Job it already created.
"""

from __future__ import annotations

from typing import Any

from job_api.settings import ServiceSettings

MANAGED_BY = "job-api"
JOB_ID_LABEL = "gpuplatform.io/job-id"
TEAM_LABEL = "gpuplatform.io/team"
TTL_AFTER_FINISHED_SECONDS = 7 * 24 * 3600  # logs stay readable for a week
RUN_AS = 65532  # the image's non-root user when it names none


def job_name(job_id: str) -> str:
    return f"job-{job_id.replace('-', '')[:12]}"


def render_job(job: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
    """``job`` is a job record's fields: ``id``, ``team``, ``pool``, ``gpus`` and ``spec`` (the
    validated request: ``image``, ``command``, ``args``, ``env``, ``max_runtime_minutes``)."""
    team = settings.teams[job["team"]]
    pool = settings.pools[job["pool"]]
    spec = job["spec"]
    job_id = str(job["id"])
    labels = {
        "kueue.x-k8s.io/queue-name": team.local_queue,
        "kueue.x-k8s.io/priority-class": team.priority_class,
        JOB_ID_LABEL: job_id,
        TEAM_LABEL: job["team"],
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    container: dict[str, Any] = {
        "name": "job",
        "image": spec["image"],
        "resources": {"limits": {pool.resource: str(job["gpus"])}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if spec.get("command"):
        container["command"] = list(spec["command"])
    if spec.get("args"):
        container["args"] = list(spec["args"])
    if spec.get("env"):
        container["env"] = [{"name": k, "value": v} for k, v in sorted(spec["env"].items())]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "priorityClassName": team.priority_class,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if pool.node_selector:
        pod_spec["nodeSelector"] = dict(pool.node_selector)
    if pool.tolerations:
        pod_spec["tolerations"] = [t.model_dump(exclude_none=True) for t in pool.tolerations]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(job_id), "namespace": team.namespace, "labels": labels},
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(spec["max_runtime_minutes"]) * 60,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {
                "metadata": {"labels": {JOB_ID_LABEL: job_id, TEAM_LABEL: job["team"]}},
                "spec": pod_spec,
            },
        },
    }
