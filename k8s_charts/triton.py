"""Triton Inference Server on a GPU pool.

Models come from the S3 model bucket (read through the service account's IRSA role, which
may only read that bucket) or from an EFS volume, by stage setting. HTTP 8000, gRPC 8001 and
metrics 8002; startup, liveness and readiness probes on Triton's /v2/health endpoints; an HPA,
a PDB and a ServiceMonitor.
"""

from __future__ import annotations

from typing import cast

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import (
    app_labels,
    gpu_scheduling,
    http_probe,
    pod_disruption_budget,
    pod_security,
    resources,
    restricted_security_context,
    service_monitor,
    startup_probe,
    zone_spread,
)
from platform_config.gpu_sharing import PoolCapacity
from platform_config.versions import TRITON_SERVER
from platform_config.workloads import ModelRepository, TritonSettings

NAME = "triton"
SERVICE_ACCOUNT = "triton"
HTTP_PORT, GRPC_PORT, METRICS_PORT = 8000, 8001, 8002


def pod_labels() -> dict[str, str]:
    """The labels of Triton's pods, which its Service, PDB and mesh policy select."""
    return app_labels(NAME, "inference-server")


MODELS_CLAIM = "triton-models"
TRITON_USER = 1000  # the image's triton-server user


class TritonChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        settings: TritonSettings,
        namespace: str,
        role_arn: str,
        model_bucket: str,
        region: str,
        efs_storage_class: str,
        capacity: PoolCapacity,
    ) -> None:
        """``role_arn`` is the IRSA role that may read ``model_bucket``; it is used only when
        the model repository is S3. ``capacity`` is what the Triton pool advertises: a replica
        requests its unit (``nvidia.com/gpu``, a time-slice, or a MIG device)."""
        super().__init__(scope, chart_id)
        labels = pod_labels()
        from_s3 = settings.model_repository is ModelRepository.S3
        k8s.KubeServiceAccount(
            self,
            "service-account",
            metadata=k8s.ObjectMeta(
                name=SERVICE_ACCOUNT,
                namespace=namespace,
                labels=labels,
                annotations={"eks.amazonaws.com/role-arn": role_arn} if from_s3 else None,
            ),
            automount_service_account_token=from_s3,
        )
        volumes = [k8s.Volume(name="tmp", empty_dir=k8s.EmptyDirVolumeSource())]
        mounts = [k8s.VolumeMount(name="tmp", mount_path="/tmp")]
        if from_s3:
            repository = f"s3://{model_bucket}/{settings.model_prefix}"
        else:
            repository = f"/models/{settings.model_prefix}"
            k8s.KubePersistentVolumeClaim(
                self,
                "models",
                metadata=k8s.ObjectMeta(name=MODELS_CLAIM, namespace=namespace, labels=labels),
                spec=k8s.PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteMany"],
                    storage_class_name=efs_storage_class,
                    resources=k8s.VolumeResourceRequirements(
                        requests={"storage": k8s.Quantity.from_string("100Gi")}
                    ),
                ),
            )
            volumes.append(
                k8s.Volume(
                    name="models",
                    persistent_volume_claim=k8s.PersistentVolumeClaimVolumeSource(
                        claim_name=MODELS_CLAIM, read_only=True
                    ),
                )
            )
            mounts.append(k8s.VolumeMount(name="models", mount_path="/models", read_only=True))

        gpus, gpu = settings.gpus_per_replica, capacity.unit
        server = k8s.Container(
            name="triton",
            image=TRITON_SERVER.uri,
            args=[
                "tritonserver",
                f"--model-repository={repository}",
                "--model-control-mode=poll",
                "--repository-poll-secs=60",
                "--strict-readiness=true",
                "--exit-on-error=false",
            ],
            env=[
                k8s.EnvVar(name="AWS_REGION", value=region),
                k8s.EnvVar(name="AWS_STS_REGIONAL_ENDPOINTS", value="regional"),
            ],
            ports=[
                k8s.ContainerPort(name="http", container_port=HTTP_PORT),
                k8s.ContainerPort(name="grpc", container_port=GRPC_PORT),
                k8s.ContainerPort(name="metrics", container_port=METRICS_PORT),
            ],
            resources=resources(
                {"cpu": "4", "memory": "16Gi", gpu: gpus},
                {"cpu": "8", "memory": "32Gi", gpu: gpus},
            ),
            security_context=restricted_security_context(user=TRITON_USER),
            startup_probe=startup_probe("/v2/health/live", "http", minutes=settings.startup_minutes),
            liveness_probe=http_probe("/v2/health/live", "http", period=15),
            readiness_probe=http_probe("/v2/health/ready", "http", period=5),
            volume_mounts=mounts,
        )
        k8s.KubeDeployment(
            self,
            "deployment",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.DeploymentSpec(
                replicas=settings.min_replicas,
                selector=k8s.LabelSelector(match_labels=labels),
                strategy=k8s.DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDeployment(
                        max_surge=k8s.IntOrString.from_number(1),
                        max_unavailable=k8s.IntOrString.from_number(0),
                    ),
                ),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        service_account_name=SERVICE_ACCOUNT,
                        security_context=pod_security(TRITON_USER),
                        topology_spread_constraints=zone_spread(labels, hard=False),
                        containers=[server],
                        volumes=volumes,
                        **gpu_scheduling(cast(str, settings.gpu_pool)),  # required when enabled (model)
                    ),
                ),
            ),
        )
        k8s.KubeService(
            self,
            "service",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.ServiceSpec(
                selector=labels,
                ports=[
                    k8s.ServicePort(name=n, port=p, target_port=k8s.IntOrString.from_string(n))
                    for n, p in (("http", HTTP_PORT), ("grpc", GRPC_PORT), ("metrics", METRICS_PORT))
                ],
            ),
        )
        k8s.KubeHorizontalPodAutoscalerV2(
            self,
            "hpa",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.HorizontalPodAutoscalerSpecV2(
                scale_target_ref=k8s.CrossVersionObjectReferenceV2(
                    api_version="apps/v1", kind="Deployment", name=NAME
                ),
                min_replicas=settings.min_replicas,
                max_replicas=settings.max_replicas,
                metrics=[
                    k8s.MetricSpecV2(
                        type="Resource",
                        resource=k8s.ResourceMetricSourceV2(
                            name="cpu",
                            target=k8s.MetricTargetV2(type="Utilization", average_utilization=70),
                        ),
                    )
                ],
                behavior=k8s.HorizontalPodAutoscalerBehaviorV2(
                    scale_down=k8s.HpaScalingRulesV2(stabilization_window_seconds=600)
                ),
            ),
        )
        pod_disruption_budget(self, name=NAME, namespace=namespace, labels=labels)
        service_monitor(self, name=NAME, namespace=namespace, labels=labels, port="metrics")
