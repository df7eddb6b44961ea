"""The Kubernetes layer: operators from their pinned Helm charts and our cdk8s charts
(observability rules and dashboards, NATS JetStream, Triton, Dynamo graphs, Linkerd identity
and policy), each enabled by a stage setting.

A stack of its own, deployed after Nodes: it holds no data that outlives the cluster, it can
be destroyed and redeployed alone, and the templates of the cluster stack stay small.
Order is explicit: namespaces and secrets first, then each operator, then the custom
resources that need its CRDs, so that `cdk destroy` removes them in the reverse order while
the operators (and the nodes they run on) still exist.
"""

from __future__ import annotations

from typing import cast

import cdk8s
from aws_cdk import Fn, Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from k8s_charts import ecr_token_refresh, secret_sync
from k8s_charts.dynamo_graphs import FRONTEND_LABEL, FRONTEND_PORT, DynamoGraphsChart
from k8s_charts.example_agent import ExampleAgentChart
from k8s_charts.kueue_queues import KueueQueuesChart
from k8s_charts.linkerd_identity import CONTROL_PLANE_LABEL, LinkerdIdentityChart
from k8s_charts.llm_servers import PORT as LLM_PORT
from k8s_charts.llm_servers import LlmServersChart, hf_token_secret
from k8s_charts.llm_servers import pod_labels as llm_pod_labels
from k8s_charts.mesh_policy import MeshPolicyChart, ProtectedPort, ProtectedService
from k8s_charts.minio import API_PORT as MINIO_API_PORT
from k8s_charts.minio import NAME as MINIO
from k8s_charts.minio import ROOT_SECRET as MINIO_ROOT_SECRET
from k8s_charts.minio import MinioChart
from k8s_charts.namespaces import NamespacesChart
from k8s_charts.nats import NAME as NATS
from k8s_charts.nats import NatsChart, client_url
from k8s_charts.network_policies import MLFLOW_PODS, MLFLOW_PORT, NetworkPoliciesChart
from k8s_charts.observability import ObservabilityChart, ScheduledJob
from k8s_charts.rdma import RdmaChart
from k8s_charts.storage_classes import EFS_CLASS, GP3_CLASS
from k8s_charts.tenancy import TenancyChart, team_namespace_metadata
from k8s_charts.training import TrainingChart
from k8s_charts.triton import GRPC_PORT, HTTP_PORT, TritonChart
from k8s_charts.triton import NAME as TRITON
from k8s_charts.triton import SERVICE_ACCOUNT as TRITON_SERVICE_ACCOUNT
from k8s_charts.triton import pod_labels as triton_pod_labels
from k8s_charts.velero import VeleroChart
from platform_config import namespaces as ns
from platform_config import versions
from platform_config.contract import (
    APP_NAME_LABEL,
    GRAFANA_ADMIN_SECRET,
    MESH_INJECT,
    PROMETHEUS_SERVICE_ACCOUNT,
)
from platform_config.mlflow import DATABASE as MLFLOW_DATABASE
from platform_config.model import StageConfig
from platform_constructs import operators
from platform_constructs.helm import Release, install
from platform_constructs.nag import acknowledge
from platform_constructs.platform_jobs import attach
from platform_constructs.postgres import PlatformDatabase
from platform_constructs.secret_sync import SecretSync
from platform_constructs.workload_identity import irsa_role
from stacks.storage_stack import bucket_arn_export, model_bucket_arn_export


def workload_namespaces(config: StageConfig) -> list[str]:
    """Namespaces the enabled components need, Helm releases' included (Helm creates none),
    Kueue's when the stage has teams, and every team's."""
    workloads, teams = config.workloads, config.tenancy.teams
    wanted = {
        ns.MONITORING: workloads.observability.enabled,
        ns.NATS: workloads.nats.enabled,
        ns.INFERENCE: workloads.triton.enabled,
        ns.DYNAMO: workloads.dynamo.enabled,
        ns.PLATFORM_SECRETS: needs_secret_sync(config),
        ns.LINKERD: workloads.linkerd.enabled,
        ns.MINIO: workloads.minio.enabled,
        ns.KUEUE: bool(teams),
        ns.CERT_MANAGER: workloads.linkerd.enabled,
        ns.TRAINER: workloads.training.enabled,
        ns.EFA_TEST: workloads.training.enabled and config.needs_efa,
        ns.KUBERAY: workloads.ray.enabled,
        ns.NETWORK_OPERATOR: workloads.rdma.enabled,
        ns.RDMA_JOBS: workloads.rdma.enabled,
        ns.LLM_SERVING: bool(workloads.llm_servers),
        ns.VELERO: workloads.velero.enabled,
        ns.MLFLOW: workloads.mlflow.enabled,
    }
    return [name for name, enabled in wanted.items() if enabled] + list(config.tenancy.namespaces)


def backed_up_namespaces(config: StageConfig) -> list[str]:
    """The namespaces whose data Velero backs up: those of the stateful components the stage runs."""
    workloads = config.workloads
    wanted = {
        ns.NATS: workloads.nats.enabled,
        ns.MINIO: workloads.minio.enabled,
        ns.MLFLOW: workloads.mlflow.enabled,
    }
    return [name for name, enabled in wanted.items() if enabled]


# Labels Linkerd requires on its own namespace: trust-manager's Bundle targets it by the
# first; the injector skips it and its webhooks ignore it.
LINKERD_NAMESPACE_LABELS = {
    **CONTROL_PLANE_LABEL,
    "linkerd.io/control-plane-ns": ns.LINKERD,
    "config.linkerd.io/admission-webhooks": "disabled",
}


# Namespaces whose every pod is meshed by the namespace's injection annotation (the others
# annotate their own pods: Prometheus, the Dynamo frontends).
MESHED_BY_ANNOTATION = (ns.INFERENCE, ns.LLM_SERVING)


def meshed_namespaces(config: StageConfig) -> list[str]:
    """Namespaces whose pods carry Linkerd's proxy: its own, and the meshed components'."""
    workloads = config.workloads
    if not workloads.linkerd.enabled:
        return []
    wanted = {
        ns.LINKERD: True,
        ns.MONITORING: workloads.observability.enabled,  # Prometheus
        ns.INFERENCE: workloads.triton.enabled,
        ns.DYNAMO: workloads.dynamo.enabled,
        ns.LLM_SERVING: bool(workloads.llm_servers),
    }
    return [name for name, enabled in wanted.items() if enabled]


def network_policies(config: StageConfig, namespaces: list[str]) -> NetworkPoliciesChart:
    """The default deny and the needed flows of ``namespaces`` (those one stack creates)."""
    return NetworkPoliciesChart(
        cdk8s.App(), "network-policies", namespaces=namespaces, vpc_cidr=config.network.vpc_cidr,
        meshed=meshed_namespaces(config),
        services=protected_services(config) + team_services(config) + minio_clients(config),
        training_namespaces=list(config.tenancy.namespaces) if config.workloads.training.enabled else [],
        ray_namespaces=list(config.tenancy.namespaces) if config.workloads.ray.enabled else [],
    )  # fmt: skip


def team_services(config: StageConfig) -> list[ProtectedService]:
    """Endpoints outside the mesh that every team namespace may call: MLflow (NetworkPolicy
    only; its pods carry no proxy, so no Linkerd policy is written for it)."""
    teams = [f"{namespace}/*" for namespace in config.tenancy.namespaces]
    if not (config.workloads.mlflow.enabled and teams):
        return []
    port = ProtectedPort("mlflow-http", MLFLOW_PORT, "HTTP/1")
    return [
        ProtectedService(
            name=versions.MLFLOW.chart, namespace=ns.MLFLOW, pod_labels=MLFLOW_PODS, ports=(port,),
            clients=tuple(teams),
        )
    ]  # fmt: skip


def protected_services(config: StageConfig) -> list[ProtectedService]:
    """The mesh-protected endpoints of the enabled components, with their allowed clients.
    Prometheus (itself meshed when Linkerd is on) may always scrape the Dynamo frontends,
    whose metrics share the API port: a scraper, not a client, so that NetworkPolicy admits
    its pods by their own scrape rule and not the whole ``monitoring`` namespace (Grafana,
    Alloy), as the LLM servers do."""
    workloads, linkerd = config.workloads, config.workloads.linkerd
    services = []
    if workloads.triton.enabled:
        services.append(
            ProtectedService(
                name=TRITON, namespace=ns.INFERENCE, pod_labels=triton_pod_labels(),
                ports=(ProtectedPort(f"{TRITON}-http", HTTP_PORT, "HTTP/1"),
                       ProtectedPort(f"{TRITON}-grpc", GRPC_PORT, "gRPC")),
                clients=tuple(linkerd.triton_clients),
            )
        )  # fmt: skip
    if workloads.dynamo.enabled:
        services.append(
            ProtectedService(
                name="dynamo-frontend", namespace=ns.DYNAMO, pod_labels=FRONTEND_LABEL,
                ports=(ProtectedPort("dynamo-frontend-http", FRONTEND_PORT, "HTTP/1"),),
                clients=tuple(linkerd.dynamo_clients), scrapers=prometheus_identity(config),
            )
        )  # fmt: skip
    services += llm_services(config)
    return services


def prometheus_identity(config: StageConfig) -> tuple[str, ...]:
    """Prometheus's service account, the scraper of the endpoints whose metrics share the API
    port, when the stage runs it."""
    enabled = config.workloads.observability.enabled
    return (f"{ns.MONITORING}/{PROMETHEUS_SERVICE_ACCOUNT}",) if enabled else ()


def llm_services(config: StageConfig) -> list[ProtectedService]:
    """Each LLM server reachable by its listed clients, and by Prometheus on the API port that
    also serves /metrics (a scrape rule of its own in NetworkPolicy, an identity in Linkerd's).

    Team namespaces run restricted Pod Security, which refuses Linkerd's init container, so
    their pods carry no mesh identity: a server with a team client lets Linkerd admit
    unauthenticated in-cluster callers, and its NetworkPolicy (which admits only the client
    namespaces) is what keeps everyone else out. Other clients (``apps/...``) are meshed
    applications, held to their identities as Triton's are."""
    teams, scraper = config.tenancy.namespaces, prometheus_identity(config)
    services = []
    for server in config.workloads.llm_servers:
        clients = tuple(server.clients)
        outside = any(client.split("/", 1)[0] in teams for client in clients)
        services.append(
            ProtectedService(
                name=server.name, namespace=ns.LLM_SERVING, pod_labels=llm_pod_labels(server),
                ports=(ProtectedPort(f"{server.name}-http", LLM_PORT, "HTTP/1"),),
                clients=clients, scrapers=scraper,
                access_policy="cluster-unauthenticated" if outside else "deny",
            )
        )  # fmt: skip
    return services


def minio_clients(config: StageConfig) -> list[ProtectedService]:
    """MinIO's S3 port with the client namespaces its settings name (NetworkPolicy only: MinIO
    is not meshed)."""
    clients = config.minio_client_namespaces()
    if not (config.workloads.minio.enabled and clients):
        return []
    return [
        ProtectedService(
            name=MINIO, namespace=ns.MINIO, pod_labels={APP_NAME_LABEL: MINIO},
            ports=(ProtectedPort(f"{MINIO}-s3", MINIO_API_PORT, "HTTP/1"),),
            clients=tuple(f"{namespace}/*" for namespace in clients),
        )
    ]  # fmt: skip


def needs_secret_sync(config: StageConfig) -> bool:
    """Whether any component reads a synced Secret (MLflow's comes from a secret the stage
    creates, whose ARN ``secret_targets`` only gets in the stack)."""
    return bool(secret_targets(config)) or config.workloads.mlflow.enabled


def secret_targets(config: StageConfig, mlflow_database_secret: str | None = None) -> list[dict[str, str]]:
    """Every Kubernetes Secret a component reads, with the Secrets Manager ARN it comes from
    (``mlflow_database_secret``: MLflow's login on the platform's PostgreSQL, a token), and the
    Deployment the sync rolls when the value changes where the pods read it only at start:
    MLflow's server, whose login is rotated (README "MLflow")."""
    workloads = config.workloads
    wanted = [
        (workloads.observability.enabled, ns.MONITORING, GRAFANA_ADMIN_SECRET,
         workloads.observability.grafana_admin_secret_arn),
        (workloads.dynamo.enabled, ns.DYNAMO, "hf-token", workloads.dynamo.hf_token_secret_arn),
        (workloads.minio.enabled, ns.MINIO, MINIO_ROOT_SECRET, workloads.minio.root_secret_arn),
        *((True, ns.LLM_SERVING, hf_token_secret(s), s.hf_token_secret_arn) for s in workloads.llm_servers),
        (workloads.mlflow.enabled, ns.MLFLOW, operators.MLFLOW_DATABASE_SECRET, mlflow_database_secret),
    ]  # fmt: skip
    restart = {(ns.MLFLOW, operators.MLFLOW_DATABASE_SECRET): operators.MLFLOW_DEPLOYMENT}
    return [
        {"namespace": namespace, "name": name, "arn": arn}
        | ({"restart": restart[namespace, name]} if (namespace, name) in restart else {})
        for enabled, namespace, name, arn in wanted
        if enabled and arn
    ]


def watched_jobs(config: StageConfig) -> list[ScheduledJob]:
    """The platform CronJobs the stage runs, for the observability chart's alerts."""
    jobs = []
    token_refresh = config.registry.token_refresh
    if token_refresh.enabled:
        jobs.append(
            ScheduledJob(
                ecr_token_refresh.NAME, ns.ECR_TOKEN_REFRESH, token_refresh.schedule,
                "docs/runbooks/ecr-token-refresh-failures.md",
            )
        )  # fmt: skip
    if needs_secret_sync(config):
        jobs.append(
            ScheduledJob(
                secret_sync.NAME, ns.PLATFORM_SECRETS, secret_sync.SCHEDULE,
                "docs/runbooks/secret-sync-failures.md",
            )
        )  # fmt: skip
    return jobs


def _grant_prefix_read(role: iam.Role, bucket: s3.IBucket, prefix: str) -> None:
    """Read objects under ``prefix/`` and list only that prefix; decrypt with the bucket key.
    The bucket ARN comes through the storage stack's named export (see there)."""
    export = model_bucket_arn_export(Stack.of(bucket).stack_name)
    bucket_arn = Fn.import_value(export)
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{bucket_arn}/{prefix}/*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
        )
    )
    if (key := bucket.encryption_key) is not None:
        key.grant_decrypt(role)
    acknowledge(
        role,
        "Triton reads every model version under its own prefix of the model bucket, which "
        "needs an object wildcard below that prefix; listing is limited to the prefix too.",
        f"AwsSolutions-IAM5[Resource::{export}/{prefix}/*]",
    )


class WorkloadsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        cluster: eks.ICluster,
        model_bucket: s3.IBucket | None,
        backup_bucket: s3.IBucket | None = None,
        mlflow_bucket: s3.IBucket | None = None,
        database: PlatformDatabase | None = None,
        owned_namespaces: list[str],
        nodes_ready: Construct,
        **kwargs,
    ) -> None:
        """``owned_namespaces`` are created by the cluster stack already; ``nodes_ready`` is
        what Helm releases must follow (the CPU node group) so uninstalls still have nodes;
        ``database``: the platform's PostgreSQL, when the stage has one (MLflow's, the job
        API's)."""
        super().__init__(scope, construct_id, **kwargs)
        self.config, self.cluster, self.nodes_ready = config, cluster, nodes_ready
        workloads = config.workloads
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        self.releases: dict[str, eks.HelmChart] = {}

        namespaces = [n for n in workload_namespaces(config) if n not in owned_namespaces]
        meshed = workloads.linkerd.enabled
        team_labels, team_annotations = team_namespace_metadata(config.tenancy)
        mesh_annotations = dict.fromkeys(MESHED_BY_ANNOTATION, MESH_INJECT) if meshed else {}
        self.namespaces = attach(
            self, "Namespaces", cluster,
            NamespacesChart(
                cdk8s.App(), "namespaces", namespaces=namespaces,
                labels={ns.LINKERD: LINKERD_NAMESPACE_LABELS, **team_labels},
                annotations={**team_annotations, **mesh_annotations},
                meshed=meshed_namespaces(config),
            ),
        )  # fmt: skip
        self.namespaces.node.add_dependency(nodes_ready)
        self.network_policies = attach(self, "NetworkPolicies", cluster, network_policies(config, namespaces))
        self.network_policies.node.add_dependency(self.namespaces)

        # Pods use the EKS cluster security group (managed nodes carry it; no security groups for
        # pods): one rule admits it to PostgreSQL for every consumer's pods (MLflow here, the
        # job API's stack after this one); NetworkPolicy narrows 5432 to those pods.
        self.database_ingress: Construct | None = None
        if database is not None:
            database.admit(cluster.cluster_security_group_id, "cluster pods", scope=self)
            self.database_ingress = cast(Construct, self.node.find_child("PostgresFromClusterPods"))
        mlflow_secret = database.consumers.get(MLFLOW_DATABASE) if database is not None else None
        self.secret_sync: SecretSync | None = None
        if needs_secret_sync(config):
            self.secret_sync = SecretSync(
                self, "SecretSync", cluster=cluster, namespace=ns.PLATFORM_SECRETS,
                targets=secret_targets(config, mlflow_secret.secret_arn if mlflow_secret else None),
                namespaces_ready=self.namespaces,
                keys=[database.key] if mlflow_secret is not None and database is not None else [],
            )  # fmt: skip

        self._tenancy()
        if meshed:
            self._linkerd()
        if workloads.observability.enabled:
            self._observability()
        if workloads.nats.enabled:
            self._manifest(
                "Nats",
                NatsChart(
                    cdk8s.App(),
                    NATS,
                    settings=workloads.nats,
                    namespace=ns.NATS,
                    storage_class=GP3_CLASS,
                ),
            )
        if workloads.triton.enabled:
            self._triton(model_bucket)
        if workloads.dynamo.enabled:
            self._dynamo()
        if workloads.minio.enabled:
            self._manifest(
                "Minio",
                MinioChart(
                    cdk8s.App(),
                    MINIO,
                    settings=workloads.minio,
                    namespace=ns.MINIO,
                    storage_class=GP3_CLASS,
                ),
            )
        self._training()
        if workloads.llm_servers:
            self._manifest(
                "LlmServers",
                LlmServersChart(
                    cdk8s.App(), "llm-servers", servers=list(workloads.llm_servers),
                    capacity=self.config.gpu_pool_capacity(), namespace=ns.LLM_SERVING,
                    efs_storage_class=EFS_CLASS,
                ),
            )  # fmt: skip
        if workloads.example_agent.enabled:
            self._example_agent()
        if backup_bucket is not None:  # exists exactly when workloads.velero is enabled
            self._velero(backup_bucket)
        if mlflow_bucket is not None and database is not None:  # both exist when mlflow is enabled
            self._mlflow(mlflow_bucket, database)
        if meshed:
            self._manifest(
                "MeshPolicy",
                MeshPolicyChart(cdk8s.App(), "mesh-policy", services=protected_services(config)),
                self.releases["LinkerdCrds"],
            )

    # -- building blocks ---------------------------------------------------------------------

    def _release(self, name: str, release: Release, *after: Construct) -> eks.HelmChart:
        """An operator (``platform_constructs/operators.py``), after the CPU nodes, the
        namespaces, their NetworkPolicies and whatever else it needs."""
        chart = install(self, f"{name}Release", cluster=self.cluster, release=release)
        chart.node.add_dependency(self.nodes_ready, self.namespaces, self.network_policies, *after)
        self.releases[name] = chart
        return chart

    def _manifest(self, name: str, chart: cdk8s.Chart, *after: Construct) -> eks.KubernetesManifest:
        """Our chart, after the namespaces, the secrets it reads, the operators whose CRDs
        it uses (kube-prometheus-stack for ServiceMonitors) and the mesh's proxy injector (so
        its pods start with their proxies)."""
        manifest = attach(self, name, self.cluster, chart)
        needed: list[Construct] = [self.namespaces, self.network_policies, *after]
        for operator in ("KubePrometheusStack", "LinkerdControlPlane"):
            if operator in self.releases:
                needed.append(self.releases[operator])
        if self.secret_sync:
            needed.append(self.secret_sync.manifest)
        manifest.node.add_dependency(*needed)  # one call: each is a round trip to the jsii kernel
        self.manifests[name] = manifest
        return manifest

    # -- components --------------------------------------------------------------------------

    def _tenancy(self) -> None:
        """Priority classes and the team namespaces' quotas; with teams, Kueue (its controller
        on the CPU pool) and then the queues, which need the CRDs its chart installs."""
        tenancy = self.config.tenancy
        self._manifest(
            "Tenancy",
            TenancyChart(cdk8s.App(), "tenancy", settings=tenancy, capacity=self.config.gpu_pool_capacity()),
        )
        if not tenancy.teams:
            return
        # Kueue's Job webhook sees every Job in the cluster (failurePolicy Fail): the secret
        # sync's install Job goes first, so it never meets a webhook whose server is not up yet.
        after = [self.secret_sync.manifest] if self.secret_sync else []
        kueue = self._release("Kueue", operators.kueue(), *after)
        self._manifest(
            "KueueQueues",
            KueueQueuesChart(
                cdk8s.App(),
                "kueue-queues",
                settings=tenancy,
                capacity=self.config.gpu_pool_capacity(),
            ),
            kueue,
        )

    def _linkerd(self) -> None:
        """cert-manager and trust-manager, the identity PKI they issue, then Linkerd's CRDs and
        control plane (which reads that PKI at start)."""
        cert_manager = self._release("CertManager", operators.cert_manager())
        trust_manager = self._release("TrustManager", operators.trust_manager(), cert_manager)
        identity = self._manifest(
            "LinkerdIdentity",
            LinkerdIdentityChart(
                cdk8s.App(), "linkerd-identity", settings=self.config.workloads.linkerd,
                cert_manager_namespace=ns.CERT_MANAGER, linkerd_namespace=ns.LINKERD,
            ),
            cert_manager, trust_manager,
        )  # fmt: skip
        crds = self._release("LinkerdCrds", operators.linkerd_crds())
        control_plane = operators.linkerd_control_plane(self.config.workloads.linkerd)
        self._release("LinkerdControlPlane", control_plane, crds, identity)

    def _observability(self) -> None:
        settings = self.config.workloads.observability
        meshed = "LinkerdControlPlane" in self.releases
        after: list[Construct] = [self.secret_sync.manifest] if self.secret_sync else []
        after += [self.releases["LinkerdControlPlane"]] if meshed else []
        prometheus = operators.kube_prometheus_stack(settings, storage_class=GP3_CLASS, meshed=meshed)
        stack = self._release("KubePrometheusStack", prometheus, *after)
        loki = self._release("Loki", operators.loki(settings, storage_class=GP3_CLASS), stack)
        self._release("Alloy", operators.alloy(), loki)
        self._manifest(
            "Observability",
            ObservabilityChart(
                cdk8s.App(),
                "observability",
                namespace=ns.MONITORING,
                jobs=watched_jobs(self.config),
                gpu_operator_namespace=ns.GPU_OPERATOR if self.config.has_gpus else None,
                expected_capacity={
                    pool: {i.instance_type: capacity.per_node(i) for i in capacity.instances}
                    for pool, capacity in self.config.gpu_pool_capacity().items()
                },
            ),
        )

    def _triton(self, model_bucket: s3.IBucket | None) -> None:
        settings = self.config.workloads.triton
        role = irsa_role(
            self,
            "TritonRole",
            cluster=self.cluster,
            namespace=ns.INFERENCE,
            service_account=TRITON_SERVICE_ACCOUNT,
            description="Triton Inference Server: read the model bucket",
        )
        if model_bucket is not None:  # the stage model refuses s3 without a bucket
            _grant_prefix_read(role, model_bucket, settings.model_prefix)
        chart = TritonChart(
            cdk8s.App(),
            "triton",
            settings=settings,
            namespace=ns.INFERENCE,
            role_arn=role.role_arn,
            model_bucket=model_bucket.bucket_name if model_bucket else "",
            region=self.region,
            efs_storage_class=EFS_CLASS,
            capacity=self.config.gpu_pool_capacity()[cast(str, settings.gpu_pool)],
        )
        self._manifest("Triton", chart, role)

    def _dynamo(self) -> None:
        settings = self.config.workloads.dynamo
        after_nats = [self.manifests["Nats"]] if "Nats" in self.manifests else []
        operator = self._release(
            "DynamoPlatform", operators.dynamo_platform(nats_url=client_url(ns.NATS)), *after_nats
        )
        chart = DynamoGraphsChart(
            cdk8s.App(), "dynamo-graphs", settings=settings, namespace=ns.DYNAMO,
            capacity=self.config.gpu_pool_capacity(),
            efs_storage_class=EFS_CLASS, meshed=self.config.workloads.linkerd.enabled,
        )  # fmt: skip
        self._manifest("DynamoGraphs", chart, operator)

    def _training(self) -> None:
        """Kubeflow Trainer (after Kueue: its TrainJob webhook must be up before the first job is
        queued) with the platform's runtime and the teams' checkpoint volumes; KubeRay; the
        Network Operator with the RDMA networks."""
        workloads = self.config.workloads
        after_kueue = [self.releases["Kueue"]] if "Kueue" in self.releases else []
        if workloads.training.enabled:
            trainer = self._release("KubeflowTrainer", operators.kubeflow_trainer(), *after_kueue)
            chart = TrainingChart(
                cdk8s.App(), "training", settings=workloads.training, tenancy=self.config.tenancy,
                efs_storage_class=EFS_CLASS,
            )  # fmt: skip
            self._manifest("Training", chart, trainer, *after_kueue)
        if workloads.ray.enabled:
            self._release("KubeRayOperator", operators.kuberay_operator(), *after_kueue)
        if workloads.rdma.enabled:
            operator = self._release("NetworkOperator", operators.network_operator())
            rdma = RdmaChart(cdk8s.App(), "rdma", settings=workloads.rdma, queued=bool(after_kueue))
            self._manifest("Rdma", rdma, operator, *after_kueue)

    def _example_agent(self) -> None:
        """After the server it calls and the team's queues (Kueue admits its pod)."""
        settings, tenancy = self.config.workloads.example_agent, self.config.tenancy
        namespace = cast(str, settings.namespace)  # required when enabled (model)
        chart = ExampleAgentChart(
            cdk8s.App(), "example-agent", namespace=namespace,
            server=settings.server(self.config.workloads.llm_servers), server_namespace=ns.LLM_SERVING,
            priority_class=tenancy.team_priority_class(tenancy.namespaces[namespace]),
            interval_seconds=settings.interval_seconds,
        )  # fmt: skip
        after = [self.manifests[name] for name in ("LlmServers", "KueueQueues") if name in self.manifests]
        self._manifest("ExampleAgent", chart, *after)

    def _velero(self, bucket: s3.IBucket) -> None:
        """The server's IRSA role may use its bucket and EBS snapshots only; then the chart,
        then our locations and schedules, which need its CRDs."""
        role, export = self._bucket_role(
            "VeleroRole", bucket, service_account=operators.VELERO_SERVICE_ACCOUNT, namespace=ns.VELERO,
            description="Velero: its backup bucket and the EBS snapshots of backed-up volumes",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                     "s3:ListMultipartUploadParts"],
        )  # fmt: skip
        volumes = f"arn:{self.partition}:ec2:{self.region}:{self.account}:volume/*"
        snapshots = f"arn:{self.partition}:ec2:{self.region}::snapshot/*"
        for actions, resources in (
            # EC2 has no resource-level permissions for Describe*
            (["ec2:DescribeVolumes", "ec2:DescribeSnapshots"], ["*"]),
            (["ec2:CreateSnapshot", "ec2:CreateVolume", "ec2:CreateTags", "ec2:DeleteSnapshot"],
             [volumes, snapshots]),
        ):  # fmt: skip
            role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
        acknowledge(
            role,
            "Velero writes and deletes backup objects under any key of its own bucket (and nothing "
            "else); EC2 Describe calls have no resource-level permissions; snapshots and restored "
            "volumes get IDs only at creation, so they are named by type in the stage's region.",
            f"AwsSolutions-IAM5[Resource::{export}/*]",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::{volumes}]",
            f"AwsSolutions-IAM5[Resource::{snapshots}]",
        )
        release = self._release("Velero", operators.velero(role_arn=role.role_arn), role)
        chart = VeleroChart(
            cdk8s.App(), "velero-backups", settings=self.config.workloads.velero, namespace=ns.VELERO,
            bucket=bucket.bucket_name, region=self.region, backed_up=backed_up_namespaces(self.config),
            monitored=self.config.workloads.observability.enabled,
        )  # fmt: skip
        self._manifest("VeleroBackups", chart, release)

    def _bucket_role(
        self,
        construct_id: str,
        bucket: s3.IBucket,
        *,
        service_account: str,
        namespace: str,
        description: str,
        actions: list[str],
    ) -> tuple[iam.Role, str]:
        """An IRSA role for one service account that may use ``actions`` on the objects of one
        data bucket of the Storage stack, list it, and use its key; the bucket's ARN comes from
        the Storage stack's named export, whose name is returned for nag acknowledgements."""
        role = irsa_role(
            self, construct_id, cluster=self.cluster, namespace=namespace, service_account=service_account,
            description=description,
        )  # fmt: skip
        export = bucket_arn_export(Stack.of(bucket).stack_name, bucket.node.id)
        bucket_arn = Fn.import_value(export)
        role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[f"{bucket_arn}/*"]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]))
        if (key := bucket.encryption_key) is not None:
            key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        return role, export

    def _mlflow(self, bucket: s3.IBucket, database: PlatformDatabase) -> None:
        """The server's IRSA role may read and write its artifact bucket only; the database login
        arrives through the secret sync, the security group rule admits its pods, and the
        chart's ServiceMonitor needs kube-prometheus-stack's CRDs (the release follows all
        three, as ``_manifest`` makes our charts' ServiceMonitors follow the CRDs)."""
        settings = self.config.workloads.mlflow
        role, export = self._bucket_role(
            "MlflowRole", bucket, service_account=operators.MLFLOW_SERVICE_ACCOUNT, namespace=ns.MLFLOW,
            description="MLflow tracking server: its artifact bucket",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        )  # fmt: skip
        acknowledge(
            role,
            "MLflow stores every run's and model's artifacts under keys of its own bucket that it "
            "creates at run time, so it needs the objects of that bucket (and no other).",
            f"AwsSolutions-IAM5[Resource::{export}/*]",
        )
        after: list[Construct] = [role] + ([self.secret_sync.manifest] if self.secret_sync else [])
        after += [self.database_ingress] if self.database_ingress is not None else []
        prometheus = self.releases.get("KubePrometheusStack")
        after += [prometheus] if prometheus is not None else []
        self._release(
            "Mlflow",
            operators.mlflow(
                replicas=settings.replicas, database_host=database.cluster.cluster_endpoint.hostname,
                role_arn=role.role_arn, bucket=bucket.bucket_name, monitored=prometheus is not None,
            ),
            *after,
        )  # fmt: skip
