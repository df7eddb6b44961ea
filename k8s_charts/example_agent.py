"""The example agent (``workloads.example_agent``): ``examples/agentic/agent.py`` in a ConfigMap,
run by the pinned Python base image in a team namespace, calling one LLM server.

It runs as any team workload would: at the team's default priority class (the scheduler's
``priorityClassName`` and Kueue's ``kueue.x-k8s.io/priority-class``), admitted by Kueue through
the namespace's ``default`` LocalQueue against the team's CPU and memory quota, restricted Pod
Security, and out of the mesh (team namespaces are not meshed; see
``stacks/workloads_stack.llm_services``). Its only egress besides DNS is the server's port,
which the NetworkPolicies chart opens because the server lists the namespace as a client.
"""

from __future__ import annotations

from pathlib import Path

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import app_labels, http_probe, pod_security, resources, restricted_security_context
from k8s_charts.llm_servers import PORT
from platform_config.contract import service_url
from platform_config.example_agent import SERVICE_ACCOUNT
from platform_config.llm_servers import LlmServerSettings
from platform_config.versions import PLATFORM_JOBS_BASE

NAME = "example-agent"
SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "agentic" / "agent.py"
HEALTH_PORT = 8080  # agent.HEALTH_PORT
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"


def base_url(server: str, server_namespace: str) -> str:
    """The OpenAI-compatible base URL of an LLM server, as a client in another namespace dials it."""
    return f"{service_url(server, server_namespace, PORT)}/v1"


class ExampleAgentChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        server: LlmServerSettings,
        server_namespace: str,
        priority_class: str,
        interval_seconds: int,
    ) -> None:
        super().__init__(scope, chart_id)
        labels = app_labels(NAME, "agent")
        k8s.KubeServiceAccount(
            self,
            "service-account",
            metadata=k8s.ObjectMeta(name=SERVICE_ACCOUNT, namespace=namespace, labels=labels),
            automount_service_account_token=False,
        )
        k8s.KubeConfigMap(
            self,
            "script",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            data={"agent.py": SCRIPT.read_text()},
        )
        container = k8s.Container(
            name="agent",
            image=PLATFORM_JOBS_BASE.uri,
            command=["python", "/agent/agent.py"],
            env=[
                k8s.EnvVar(name="OPENAI_BASE_URL", value=base_url(server.name, server_namespace)),
                k8s.EnvVar(name="MODEL", value=server.model),
                k8s.EnvVar(name="INTERVAL_SECONDS", value=str(interval_seconds)),
                k8s.EnvVar(name="PYTHONDONTWRITEBYTECODE", value="1"),
            ],
            ports=[k8s.ContainerPort(name="health", container_port=HEALTH_PORT)],
            resources=resources({"cpu": "100m", "memory": "128Mi"}, {"cpu": "500m", "memory": "256Mi"}),
            security_context=restricted_security_context(),
            liveness_probe=http_probe("/healthz", "health", period=30),
            readiness_probe=http_probe("/healthz", "health", period=10),
            volume_mounts=[k8s.VolumeMount(name="script", mount_path="/agent", read_only=True)],
        )
        k8s.KubeDeployment(
            self,
            "deployment",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.DeploymentSpec(
                replicas=1,
                selector=k8s.LabelSelector(match_labels=labels),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels={**labels, KUEUE_PRIORITY_LABEL: priority_class}),
                    spec=k8s.PodSpec(
                        service_account_name=SERVICE_ACCOUNT,
                        automount_service_account_token=False,
                        priority_class_name=priority_class,
                        security_context=pod_security(),
                        containers=[container],
                        volumes=[k8s.Volume(name="script", config_map=k8s.ConfigMapVolumeSource(name=NAME))],
                    ),
                ),
            ),
        )
