"""The platform's network flows, proven offline from a synthesized stage.

``stage_flows(templates)`` builds a :class:`tools.reachability.Cluster` from every Kubernetes
manifest of one stage's templates, plus the pods those manifests do not show:

* pods of Helm releases (:data:`CHART_PODS`), described by the selector labels and container
  ports their charts' templates give them, in the namespace the stage installs the release;
* the Dynamo operator's pods, one per component of each DynamoGraphDeployment, with the
  component's pod-template labels and the ports the operator adds (ai-dynamo/dynamo,
  deploy/operator/internal/dynamo/component_frontend.go and component_worker.go: a frontend
  gets ``http`` 8000, every other component ``system`` 9090 and ``nixl`` 19090);
* CoreDNS (the EKS add-on, ``k8s-app: kube-dns``, 53 over UDP and TCP), and metrics-server
  when the stage installs its add-on (10251: the EKS build's port, not upstream's 10250);
* a developer's pod, exactly as the reservations processor creates it
  (``reservations.dev_pod.pod_manifest`` with the stage's ``Policy`` read from the processor
  Lambda's environment), renamed ``dev-pod`` for the table;
* two addresses outside the cluster: ``internet`` (a public address) and ``vpc`` (an address in
  the stage's VPC CIDR: the API server's endpoint network interfaces and the VPC endpoints).
  Pods get representative addresses in the VPC CIDR too, as the VPC CNI gives them, so a
  policy's ``ipBlock`` over the VPC is seen to cover pods.

It then lists the flows the platform needs (:attr:`StageFlows.required`: DNS, Prometheus
scraping what every ServiceMonitor selects, Dynamo to NATS, Grafana and Alloy to their
backends, the jobs to the AWS APIs, ...) and the flows tenancy must deny
(:attr:`StageFlows.forbidden`: a developer's pod to any platform service). The tests assert
the first are allowed and the second denied by the NetworkPolicies of
``k8s_charts/network_policies.py``; the README shows the matrix.

``python -m tools.flow_matrix cdk.out [--stage dev] [--write-readme]`` prints a stage's matrix
(or rewrites the README's copy of the dev matrix).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from k8s_charts import velero
from k8s_charts.network_policies import JOBSET_NAME_LABEL, RAY_CLUSTER_LABEL, RAY_HEAD
from k8s_charts.ray_clusters import CLIENT_PORT, DASHBOARD_PORT, GCS_PORT
from k8s_charts.training import RDZV_PORT
from platform_config import namespaces as ns
from platform_config import versions
from platform_config.contract import TEAM_LABEL
from platform_config.namespaces import GPU_CONTROLPLANE
from platform_config.platform_database import POSTGRES_PORT
from platform_config.versions import MLFLOW, VELERO
from reservations.dev_pod import pod_manifest
from reservations.model import Reservation, Status
from reservations.policy import Policy
from tools.assembly import manifests_in_template, render, stack_templates
from tools.reachability import Cluster, ContainerPort, Endpoint, External, Selector, Workload, flow_matrix

README_STAGE = "dev"
README_TABLE = "flow-matrix-dev"  # the README's markers: <!-- table:flow-matrix-dev -->
INTERNET = "203.0.113.10"  # a documentation address (RFC 5737) standing for any public host
HELM_CHART_TYPE = "Custom::AWSCDK-EKS-HelmChart"
DEV_POD_NAME = "dev-pod"
DEV_POD_ID = f"gpu-dev/{DEV_POD_NAME}"
HTTPS = ContainerPort(443, "https")
POSTGRES = ContainerPort(POSTGRES_PORT, "postgresql")
JOB_API_ID = f"{GPU_CONTROLPLANE}/job-api"
# The platform PostgreSQL's clients: the job API's processes and the MLflow server (its backend store).
DATABASE_CLIENTS = (GPU_CONTROLPLANE, ns.MLFLOW)
MLFLOW_ID = f"{ns.MLFLOW}/{MLFLOW.chart}"  # the mlflow chart's server pod (CHART_PODS)
SAMPLE_RESERVATION = Reservation(
    reservation_id="00000000-0000-4000-8000-000000000000",
    user_id="alice",
    github_user="alice",
    gpu_type="",
    gpu_count=1,
    duration_hours=1.0,
    status=Status.PREPARING,
    created_at="2026-01-01T00:00:00.000Z",
)


@dataclass(frozen=True)
class ChartPod:
    """A pod that a Helm chart creates: its name, selector labels (``{release}`` and
    ``{namespace}`` stand for the release's) and container ports, per the chart's templates;
    ``webhooks`` names the ports the API server calls (admission webhooks, aggregated APIs),
    ``api_client`` whether the pod itself calls the API server."""

    chart: str
    name: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...]
    webhooks: tuple[str, ...] = ()
    api_client: bool = False
    # the port Prometheus scrapes through a ServiceMonitor on the chart's Service (which the
    # templates do not show, so the scrape is listed here); "" when none
    metrics: str = ""

    def workload(self, release: str, namespace: str) -> Workload:
        labels = {k: v.format(release=release, namespace=namespace) for k, v in self.labels.items()}
        return Workload(namespace, self.name, labels, self.ports, kind=f"Helm {self.chart}")


MLFLOW_SERVER_PORT = ContainerPort(5000, "mlflow")
CHART_PODS: tuple[ChartPod, ...] = (
    # prometheus-operator labels the pods of the Prometheus it runs (kube-prometheus-stack names
    # it <release>-prometheus); the container port is named by prometheusSpec.portName, which
    # the chart sets to "http-web" (values.yaml of the stored chart, ../shared/helm)
    ChartPod(
        versions.KUBE_PROMETHEUS_STACK.chart,
        "prometheus",
        {
            "app.kubernetes.io/name": "prometheus",
            "app.kubernetes.io/instance": "{release}-prometheus",
            "prometheus": "{release}-prometheus",
        },
        (ContainerPort(9090, "http-web"),),
    ),
    # grafana chart, grafana.selectorLabels; container port "grafana" (service.targetPort 3000)
    ChartPod(
        versions.KUBE_PROMETHEUS_STACK.chart,
        "grafana",
        {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "{release}"},
        (ContainerPort(3000, "grafana"),),
    ),
    # loki chart, loki.singleBinarySelectorLabels; ports http-metrics, grpc, http-memberlist
    ChartPod(
        versions.LOKI.chart,
        "loki",
        {
            "app.kubernetes.io/name": "loki",
            "app.kubernetes.io/instance": "{release}",
            "app.kubernetes.io/component": "single-binary",
        },
        (
            ContainerPort(3100, "http-metrics"),
            ContainerPort(9095, "grpc"),
            ContainerPort(7946, "http-memberlist"),
        ),
    ),
    # mlflow chart (community-charts), mlflow.selectorLabels; container port "mlflow"
    # (service.containerPortName, service.containerPort 5000)
    ChartPod(
        MLFLOW.chart,
        MLFLOW.chart,
        {"app.kubernetes.io/name": MLFLOW.chart, "app.kubernetes.io/instance": "{release}"},
        (MLFLOW_SERVER_PORT,),
        metrics=MLFLOW_SERVER_PORT.name,  # the chart's own ServiceMonitor (operators.mlflow_values)
    ),
    # alloy chart, alloy.selectorLabels; container port http-metrics (alloy.listenPort)
    ChartPod(
        versions.ALLOY.chart,
        "alloy",
        {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": "{release}"},
        (ContainerPort(12345, "http-metrics"),),
    ),
    # --- operators: the API server calls their webhooks, they call the API server -----------
    # kube-prometheus-stack templates/prometheus-operator/deployment.yaml; port "https" is
    # prometheusOperator.tls.internalPort (10250), the admission webhook's
    ChartPod(
        versions.KUBE_PROMETHEUS_STACK.chart,
        "prometheus-operator",
        {"app": "kube-prometheus-stack-operator", "release": "{release}"},
        (ContainerPort(10250, "https"),),
        webhooks=("https",),
        api_client=True,
    ),
    # cert-manager templates/webhook-deployment.yaml: "https" is webhook.securePort (10250)
    ChartPod(
        versions.CERT_MANAGER.chart,
        "cert-manager-webhook",
        {
            "app.kubernetes.io/name": "webhook",
            "app.kubernetes.io/instance": "{release}",
            "app.kubernetes.io/component": "webhook",
        },
        (ContainerPort(10250, "https"), ContainerPort(6080, "healthcheck")),
        webhooks=("https",),
        api_client=True,
    ),
    # trust-manager templates/deployment.yaml: "webhook" is app.webhook.port (6443)
    ChartPod(
        versions.TRUST_MANAGER.chart,
        "trust-manager",
        {"app": "trust-manager"},
        (ContainerPort(6443, "webhook"), ContainerPort(9402, "metrics")),
        webhooks=("webhook",),
        api_client=True,
    ),
    # linkerd-control-plane templates/destination.yaml (destination, sp-validator and policy
    # containers; the policy container's gRPC port is also named "grpc" upstream)
    ChartPod(
        versions.LINKERD_CONTROL_PLANE.chart,
        "linkerd-destination",
        {"linkerd.io/control-plane-component": "destination", "linkerd.io/control-plane-ns": "{namespace}"},
        (
            ContainerPort(8086, "grpc"),
            ContainerPort(8090, "policy-grpc"),
            ContainerPort(8443, "sp-validator"),
            ContainerPort(9443, "policy-https"),
        ),
        webhooks=("sp-validator", "policy-https"),
        api_client=True,
    ),
    # linkerd-control-plane templates/proxy-injector.yaml
    ChartPod(
        versions.LINKERD_CONTROL_PLANE.chart,
        "linkerd-proxy-injector",
        {
            "linkerd.io/control-plane-component": "proxy-injector",
            "linkerd.io/control-plane-ns": "{namespace}",
        },
        (ContainerPort(8443, "proxy-injector"),),
        webhooks=("proxy-injector",),
        api_client=True,
    ),
    # linkerd-control-plane templates/identity.yaml
    ChartPod(
        versions.LINKERD_CONTROL_PLANE.chart,
        "linkerd-identity",
        {"linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": "{namespace}"},
        (ContainerPort(8080, "grpc"),),
        api_client=True,
    ),
    # kueue templates/manager/manager.yaml and _helpers.tpl (kueue.selectorLabels)
    ChartPod(
        versions.KUEUE.chart,
        "kueue-controller-manager",
        {
            "app.kubernetes.io/name": "kueue",
            "app.kubernetes.io/instance": "{release}",
            "control-plane": "controller-manager",
        },
        (
            ContainerPort(9443, "webhook-server"),
            ContainerPort(8082, "visibility"),
            ContainerPort(8443, "metrics"),
        ),
        webhooks=("webhook-server", "visibility"),
        api_client=True,
    ),
    # dynamo-platform's dynamo-operator subchart, templates/webhook-service.yaml (targetPort 9443,
    # selector control-plane: controller-manager)
    ChartPod(
        versions.DYNAMO_PLATFORM.chart,
        "dynamo-operator",
        {"control-plane": "controller-manager"},
        (ContainerPort(9443, "webhook-server"), ContainerPort(8080, "metrics")),
        webhooks=("webhook-server",),
        api_client=True,
    ),
    # karpenter templates/deployment.yaml: no webhook in 1.x (values.yaml has none); it calls
    # the API server and the EC2/SSM/pricing/SQS APIs
    ChartPod(
        versions.KARPENTER.chart,
        versions.KARPENTER.chart,
        {"app.kubernetes.io/name": versions.KARPENTER.chart, "app.kubernetes.io/instance": "{release}"},
        (ContainerPort(8080, "http-metrics"),),
        api_client=True,
    ),
)
# velero chart, deployment.yaml's pod labels and its one container port (k8s_charts/velero.py
# keeps the same facts for its ServiceMonitor and the NetworkPolicy's scrape rule)
CHART_PODS += (
    ChartPod(VELERO.chart, VELERO.chart,
             {"name": VELERO.chart, "app.kubernetes.io/name": VELERO.chart,  # "name: velero", literal there
              "app.kubernetes.io/instance": "{release}"},
             (ContainerPort(velero.METRICS_PORT, velero.METRICS_PORT_NAME),),
             metrics=velero.METRICS_PORT_NAME),
)  # fmt: skip
# The training controllers: the platform's policies in their namespaces select every pod, so
# the labels play no part; the ports are their charts' webhook (Trainer, 9443) and metrics/HTTP
# (KubeRay, service.port 8080) ports.
CHART_PODS += (
    ChartPod("kubeflow-trainer", "trainer-controller", {"app.kubernetes.io/name": "trainer"},
             (ContainerPort(9443, "webhook"),)),
    ChartPod("kuberay-operator", "kuberay-operator", {"app.kubernetes.io/name": "kuberay-operator"},
             (ContainerPort(8080, "http"),)),
)  # fmt: skip
COREDNS = Workload(
    "kube-system",
    "coredns",
    {"k8s-app": "kube-dns"},
    (ContainerPort(53, "dns", "UDP"), ContainerPort(53, "dns-tcp"), ContainerPort(9153, "metrics")),
    kind="EKS add-on",
)
# The EKS community add-on (the metrics-server chart's labels); it serves the Metrics API on
# 10251 (AWS EKS User Guide, "metrics-server": the add-on is "pre-configured to use port 10251").
METRICS_SERVER = Workload(
    "kube-system",
    "metrics-server",
    {"app.kubernetes.io/name": "metrics-server"},
    (ContainerPort(10251, "https"),),
    kind="EKS add-on",
)
KUBELET = ContainerPort(10250, "kubelet")
ADDON_TYPE = "AWS::EKS::Addon"
# A team's own work (a training job, a notebook) as the matrix sees it: one pod per team
# namespace with a service port, since the manifests hold no team workloads.
TEAM_POD_PORTS = (ContainerPort(8080, "http"),)
DYNAMO_FRONTEND_PORTS = (ContainerPort(8000, "http"),)
DYNAMO_WORKER_PORTS = (ContainerPort(9090, "system"), ContainerPort(19090, "nixl"))


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    port: ContainerPort
    why: str

    def __str__(self) -> str:
        return f"{self.src.id} -> {self.dst.id} {self.port} ({self.why})"


@dataclass(frozen=True)
class StageFlows:
    cluster: Cluster
    externals: tuple[External, ...]
    required: tuple[Flow, ...]
    forbidden: tuple[Flow, ...]

    def endpoint(self, endpoint_id: str) -> Endpoint:
        for external in self.externals:
            if external.id == endpoint_id:
                return external
        return self.cluster.workload(endpoint_id)

    def matrix(self) -> str:
        """Rows: every destination port (pods', then the internet's and the VPC's 443);
        columns: the platform's clients, a developer's pod first, then each team's pod."""
        named = [DEV_POD_ID, "monitoring/prometheus", "monitoring/grafana", "monitoring/alloy"]
        dynamo = [w.id for w in self.cluster.workloads if w.kind == "DynamoGraphDeployment"]
        teams = [w.id for w in self.cluster.workloads if w.kind == "team workload"]
        sources = [self.endpoint(i) for i in named if self.has(i)] + [
            self.endpoint(i) for i in dynamo + teams
        ]
        sources.append(self.endpoint("internet"))
        targets: list[tuple[Endpoint, ContainerPort]] = [
            (w, p) for w in self.cluster.workloads for p in w.ports
        ]
        targets += [(e, HTTPS) for e in self.externals]
        return flow_matrix(self.cluster, sources, targets)

    def has(self, endpoint_id: str) -> bool:
        return any(w.id == endpoint_id for w in self.cluster.workloads)


def _helm_releases(templates: Mapping[str, dict]) -> list[tuple[str, str, str]]:
    """(chart, release, namespace) of every Helm release in the stage."""
    releases = []
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == HELM_CHART_TYPE:
                p = resource["Properties"]
                releases.append((p["Chart"], p.get("Release", p["Chart"]), p.get("Namespace", "default")))
    return releases


def _addons(templates: Mapping[str, dict]) -> set[str]:
    """The names of the EKS add-ons the stage installs."""
    return {
        resource["Properties"]["AddonName"]
        for template in templates.values()
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == ADDON_TYPE
    }


def _dynamo_workloads(objects: list[dict]) -> list[Workload]:
    workloads = []
    for graph in (o for o in objects if o.get("kind") == "DynamoGraphDeployment"):
        for component in graph["spec"].get("components", []):
            template = component.get("podTemplate") or {}
            ports = DYNAMO_FRONTEND_PORTS if component.get("type") == "frontend" else DYNAMO_WORKER_PORTS
            workloads.append(
                Workload(
                    graph["metadata"]["namespace"],
                    f"{graph['metadata']['name']}-{component['name']}",
                    dict((template.get("metadata") or {}).get("labels") or {}),
                    ports,
                    kind="DynamoGraphDeployment",
                )
            )
    return workloads


def _dev_pod(templates: Mapping[str, dict]) -> dict | None:
    """A developer's pod as the reservations processor would create it, or None when the
    stage has no reservations."""
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if resource["Type"] == "AWS::Lambda::Function" and "POLICY" in variables:
                # the image is a deploy-time value and plays no part in reachability
                policy = Policy.from_json(render(variables["POLICY"], lambda _: "dev-image:synthesized"))
                record = dataclasses.replace(SAMPLE_RESERVATION, gpu_type=policy.default_gpu_type)
                manifest = pod_manifest(record, policy, "a-gpu-node")
                manifest["metadata"]["name"] = DEV_POD_NAME
                return manifest
    return None


def _team_workloads(objects: list[dict]) -> list[Workload]:
    """A representative pod in every team namespace (labelled with its team)."""
    return [
        Workload(
            o["metadata"]["name"],
            "team-job",
            {TEAM_LABEL: o["metadata"]["labels"][TEAM_LABEL]},
            TEAM_POD_PORTS,
            kind="team workload",
        )
        for o in objects
        if o.get("kind") == "Namespace" and TEAM_LABEL in o["metadata"].get("labels", {})
    ]


def _training_workloads(objects: list[dict], charts: set[str]) -> list[Workload]:
    """In the first team namespace, as the example templates run there: a two-node TrainJob
    (JobSet's name label, torchrun's rendezvous port) when Trainer is installed, and a Ray
    cluster's head and GPU worker (KubeRay's labels, Ray's ports) when KubeRay is."""
    teams = [
        o for o in objects if o.get("kind") == "Namespace" and TEAM_LABEL in o["metadata"].get("labels", {})
    ]
    if not teams:
        return []
    namespace, team = teams[0]["metadata"]["name"], teams[0]["metadata"]["labels"][TEAM_LABEL]
    workloads = []
    if "kubeflow-trainer" in charts:
        labels = {TEAM_LABEL: team, JOBSET_NAME_LABEL: "ddp-example"}
        workloads += [
            Workload(namespace, f"trainjob-node-{i}", labels, (ContainerPort(RDZV_PORT, "rendezvous"),),
                     kind="TrainJob")
            for i in range(2)
        ]  # fmt: skip
    if "kuberay-operator" in charts:
        cluster = {TEAM_LABEL: team, RAY_CLUSTER_LABEL: "ray-example"}
        head_ports = (ContainerPort(GCS_PORT, "gcs"), ContainerPort(DASHBOARD_PORT, "dashboard"),
                      ContainerPort(CLIENT_PORT, "client"))  # fmt: skip
        workloads += [
            Workload(namespace, "ray-head", {**cluster, **RAY_HEAD}, head_ports, kind="RayCluster"),
            Workload(namespace, "ray-worker", {**cluster, "ray.io/node-type": "worker"}, kind="RayCluster"),
        ]
    return workloads


def _vpc_cidr(templates: Mapping[str, dict]) -> ipaddress.IPv4Network:
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::EC2::VPC":
                return ipaddress.IPv4Network(resource["Properties"]["CidrBlock"])
    raise ValueError("the stage's templates hold no AWS::EC2::VPC")


def _scrape_flows(objects: list[dict], cluster: Cluster, prometheus: Workload) -> list[Flow]:
    """Prometheus to the pod port behind every endpoint of every ServiceMonitor: the Services
    the monitor selects, their port of the endpoint's name, that port's target on their pods."""
    flows = []
    services = [o for o in objects if o.get("kind") == "Service"]
    for monitor in (o for o in objects if o.get("kind") == "ServiceMonitor"):
        spec, namespace = monitor["spec"], monitor["metadata"]["namespace"]
        namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [namespace]
        selector = Selector.parse(
            spec.get("selector"), f"ServiceMonitor {namespace}/{monitor['metadata']['name']}"
        )
        for service in services:
            if service["metadata"].get("namespace") not in namespaces:
                continue
            if not selector.matches(service["metadata"].get("labels") or {}):
                continue
            if not service["spec"].get("selector"):  # a Service without selector has no pods of ours
                continue
            pods = Selector(service["spec"]["selector"])
            for endpoint in spec.get("endpoints", []):
                for service_port in service["spec"].get("ports", []):
                    if service_port.get("name") != endpoint.get("port"):
                        continue
                    target = service_port.get("targetPort", service_port["port"])
                    for workload in cluster.workloads:
                        if workload.namespace != service["metadata"]["namespace"]:
                            continue
                        if not pods.matches(workload.labels):
                            continue
                        port = workload.port(target) if isinstance(target, str) else ContainerPort(target)
                        flow = Flow(
                            prometheus, workload, port, f"ServiceMonitor {monitor['metadata']['name']}"
                        )
                        if flow not in flows:
                            flows.append(flow)
    return flows


def stage_flows(templates: Mapping[str, dict]) -> StageFlows:
    """The cluster, the needed flows and the forbidden flows of one stage (``templates``: that
    stage's stack templates)."""
    objects = [o for template in templates.values() for o in manifests_in_template(template)]
    if (dev_pod := _dev_pod(templates)) is not None:
        objects.append(dev_pod)
    extra = [COREDNS, *_dynamo_workloads(objects), *_team_workloads(objects)]
    if "metrics-server" in _addons(templates):
        extra.append(METRICS_SERVER)
    for chart, release, namespace in _helm_releases(templates):
        extra += [pod.workload(release, namespace) for pod in CHART_PODS if pod.chart == chart]
    extra += _training_workloads(objects, {chart for chart, _, _ in _helm_releases(templates)})
    chart_pods = {
        f"{namespace}/{pod.name}": pod
        for chart, _, namespace in _helm_releases(templates)
        for pod in CHART_PODS
        if pod.chart == chart
    }
    base = Cluster.from_manifests(objects, extra)
    vpc = _vpc_cidr(templates)
    # representative pod addresses from the top of the VPC range (the VPC CNI's pod IPs)
    addressed = tuple(dataclasses.replace(w, ip=str(vpc[-2 - i])) for i, w in enumerate(base.workloads))
    cluster = Cluster(base.namespaces, addressed, base.policies)
    externals = (External("internet", INTERNET), External("vpc", str(vpc[10])))
    flows = StageFlows(cluster, externals, (), ())
    return dataclasses.replace(
        flows,
        required=tuple(_required(flows, objects) + _operator_flows(flows, chart_pods)),
        forbidden=tuple(_forbidden(flows)),
    )


def _required(flows: StageFlows, objects: list[dict]) -> list[Flow]:
    cluster, has = flows.cluster, flows.has
    vpc, internet = flows.endpoint("vpc"), flows.endpoint("internet")
    dns = cluster.workload(COREDNS.id)
    required = [
        Flow(w, dns, port, "DNS")
        for w in cluster.workloads
        if w is not dns
        for port in (dns.port("dns"), dns.port("dns-tcp"))
    ]
    if has(METRICS_SERVER.id):
        metrics = cluster.workload(METRICS_SERVER.id)
        required += [
            Flow(vpc, metrics, metrics.port("https"), "API server to the Metrics API (APIService)"),
            Flow(metrics, vpc, KUBELET, "metrics-server reads the kubelets"),
        ]
    if has("monitoring/prometheus"):
        prometheus = cluster.workload("monitoring/prometheus")
        required += _scrape_flows(objects, cluster, prometheus)
        required += [
            Flow(prometheus, w, w.port(pod.metrics), f"{pod.chart} metrics")
            for pod in CHART_PODS
            if pod.metrics
            for w in cluster.workloads
            if w.kind == f"Helm {pod.chart}" and w.name == pod.name
        ]
    if has("nats/nats"):
        nats = cluster.workload("nats/nats")
        required.append(Flow(nats, nats, nats.port("cluster"), "JetStream cluster routes"))
        required += [
            Flow(w, nats, nats.port("client"), "Dynamo request and event plane")
            for w in cluster.workloads
            if w.kind == "DynamoGraphDeployment"
        ]
    if has("monitoring/grafana"):
        grafana = cluster.workload("monitoring/grafana")
        for backend, port in (("monitoring/prometheus", "http-web"), ("monitoring/loki", "http-metrics")):
            if has(backend):
                target = cluster.workload(backend)
                required.append(Flow(grafana, target, target.port(port), "Grafana data source"))
    if has("monitoring/alloy"):
        alloy = cluster.workload("monitoring/alloy")
        required.append(Flow(alloy, vpc, HTTPS, "tails pod logs through the API server"))
        if has("monitoring/loki"):
            loki = cluster.workload("monitoring/loki")
            required.append(Flow(alloy, loki, loki.port("http-metrics"), "log push"))
    for job in (w for w in cluster.workloads if w.kind in ("Job", "CronJob")):
        required.append(Flow(job, vpc, HTTPS, "API server, STS and ECR endpoints"))
        if job.labels.get("app.kubernetes.io/name") == "secret-sync":
            required.append(Flow(job, internet, HTTPS, "Secrets Manager (no VPC endpoint)"))
    if has(DEV_POD_ID):
        dev = cluster.workload(DEV_POD_ID)
        required.append(Flow(dev, internet, HTTPS, "a developer's workstation: packages, keys, models"))
    for process in (w for w in cluster.workloads if w.namespace == GPU_CONTROLPLANE):
        required += [
            Flow(process, vpc, HTTPS, "API server and STS endpoint"),
            Flow(process, vpc, POSTGRES, "the platform's PostgreSQL"),
            Flow(process, internet, HTTPS, "Secrets Manager (no VPC endpoint)"),
        ]
    if has(MLFLOW_ID):  # a Helm release's pod (kind "Helm mlflow"), not a Deployment of ours
        required.append(Flow(cluster.workload(MLFLOW_ID), vpc, POSTGRES, "its backend store on PostgreSQL"))
    if has(JOB_API_ID):
        api = cluster.workload(JOB_API_ID)
        required.append(Flow(vpc, api, api.port("https"), "developers through the internal NLB"))
    required += _training_flows(flows)
    return required


def _training_flows(flows: StageFlows) -> list[Flow]:
    cluster, vpc = flows.cluster, flows.endpoint("vpc")
    required = [
        Flow(w, vpc, HTTPS, "controller: API server")
        for w in cluster.workloads
        if w.name in ("trainer-controller", "kuberay-operator")
    ]
    required += [Flow(vpc, w, w.port("webhook"), "Trainer's webhook") for w in cluster.workloads
                 if w.name == "trainer-controller"]  # fmt: skip
    nodes = [w for w in cluster.workloads if w.kind == "TrainJob"]
    required += [Flow(a, b, b.port("rendezvous"), "torchrun rendezvous and NCCL bootstrap")
                 for a in nodes for b in nodes if a is not b]  # fmt: skip
    ray = {w.name: w for w in cluster.workloads if w.kind == "RayCluster"}
    if ray:
        head, worker = ray["ray-head"], ray["ray-worker"]
        required += [
            Flow(worker, head, head.port("gcs"), "Ray worker to its head's GCS"),
            Flow(head, vpc, HTTPS, "Ray autoscaler: API server"),
        ]
    return required


def _operator_flows(flows: StageFlows, chart_pods: Mapping[str, ChartPod]) -> list[Flow]:
    """The API server (an address in the VPC: its endpoint network interfaces) to every
    webhook port of every operator, and each operator to the API server."""
    vpc = flows.endpoint("vpc")
    required = []
    for workload in flows.cluster.workloads:
        pod = chart_pods.get(workload.id)
        if pod is None:
            continue
        required += [
            Flow(vpc, workload, workload.port(name), f"API server calls {pod.chart}'s webhook")
            for name in pod.webhooks
        ]
        if pod.api_client:
            required.append(Flow(workload, vpc, HTTPS, "an operator watches the API server"))
    return required


def _forbidden(flows: StageFlows) -> list[Flow]:
    """A developer's pod reaches no platform service (every port of every platform pod), no
    team's pods reach another team's, and only the database's clients (the job API's pods and
    MLflow) reach PostgreSQL (its security group admits the cluster's, so NetworkPolicy is what
    keeps other pods out)."""
    forbidden = []
    if any(w.namespace in DATABASE_CLIENTS for w in flows.cluster.workloads):  # the stage has the database
        vpc = flows.endpoint("vpc")
        forbidden += [
            Flow(w, vpc, POSTGRES, "the platform's PostgreSQL")
            for w in flows.cluster.workloads
            # kube-system: EKS add-ons, no policy
            if w.namespace not in (*DATABASE_CLIENTS, COREDNS.namespace)
        ]
    if flows.has(DEV_POD_ID):
        dev = flows.cluster.workload(DEV_POD_ID)
        forbidden += [
            Flow(dev, w, port, "platform service")
            for w in flows.cluster.workloads
            if w.namespace not in (dev.namespace, COREDNS.namespace)
            for port in w.ports
        ]
    forbidden += _scrape_only(flows)
    teams = [w for w in flows.cluster.workloads if TEAM_LABEL in w.labels]
    jobs = [w for w in teams if w.kind in ("TrainJob", "RayCluster")]
    forbidden += [
        Flow(other, job, port, "a pod outside the job")
        for job in jobs
        for other in teams
        if other.kind == "team workload" and other.namespace == job.namespace
        for port in job.ports
    ]
    forbidden += [
        Flow(a, b, port, "another team")
        for a in teams
        for b in teams
        if a.labels[TEAM_LABEL] != b.labels[TEAM_LABEL]
        for port in b.ports
    ]
    return forbidden


def _scrape_only(flows: StageFlows) -> list[Flow]:
    """The endpoints whose metrics share the API port (the Dynamo frontends, the LLM servers)
    admit Prometheus by a rule of its own: the rest of ``monitoring`` (Grafana, Alloy) is no
    client of theirs."""
    cluster = flows.cluster
    served = [
        (w, w.port("http"))
        for w in cluster.workloads
        if w.kind == "DynamoGraphDeployment" and w.ports == DYNAMO_FRONTEND_PORTS
    ]
    served += [(w, w.port("http")) for w in cluster.workloads if w.namespace == ns.LLM_SERVING]
    bystanders = [w for w in cluster.workloads if w.namespace == ns.MONITORING and w.name != "prometheus"]
    return [Flow(b, w, port, "not a client: monitoring's scrape rule is Prometheus's") for b in bystanders
            for w, port in served]  # fmt: skip


def templates_of_stage(out: Path, stage: str) -> dict[str, dict]:
    """Stack name -> template of one stage of a cloud assembly."""
    templates = {
        name.split("/", 1)[1]: json.loads(path.read_text())
        for name, path in stack_templates(out).items()
        if name.split("/", 1)[0] == stage
    }
    if not templates:
        raise SystemExit(f"no stage {stage!r} in {out}")
    return templates


def main(argv: list[str] | None = None) -> int:
    from tools import readme_tables

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly", type=Path, help="a synthesized cloud assembly (cdk.out)")
    parser.add_argument("--stage", default=README_STAGE)
    parser.add_argument("--write-readme", action="store_true", help="rewrite README.md's flow matrix")
    args = parser.parse_args(argv)
    if args.write_readme and args.stage != README_STAGE:
        parser.error(f"the README shows the {README_STAGE} stage's matrix; --write-readme takes no --stage")
    matrix = stage_flows(templates_of_stage(args.assembly, args.stage)).matrix()
    if args.write_readme:
        readme = readme_tables.README
        readme.write_text(readme_tables.replace_table(readme.read_text(), README_TABLE, matrix))
    else:
        print(matrix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
