"""Default-deny NetworkPolicies for the platform's namespaces, and the flows it needs.

Every namespace gets ``default-deny`` (ingress and egress) and DNS to CoreDNS; each then gets
exactly the allows its pods need, selected by the labels the workloads' own charts set:

* Prometheus (``monitoring``) scrapes every namespace; each namespace admits it on its metrics
  ports only. Inside ``monitoring`` (one Helm stack: operator, Prometheus, Alertmanager,
  Grafana, Loki, Alloy) pods reach each other freely: Grafana to Prometheus and Loki, Alloy to
  Loki, Prometheus to Alertmanager.
* Dynamo to NATS (client port), Dynamo frontend and workers among themselves, NATS routes
  among its servers, MinIO's servers among themselves.
* Triton, the Dynamo frontends and each LLM server admit the client namespaces the settings
  name (``workloads.linkerd.triton_clients``/``dynamo_clients``, ``llm_servers[].clients``;
  NetworkPolicy selects namespaces, Linkerd's policy then narrows to service accounts), and
  each client namespace this chart guards gets the matching egress.
* Meshed namespaces reach Linkerd's control plane (destination 8086, identity 8080, policy
  8090) and each other's proxies (inbound 4143); Prometheus scrapes the proxies (4191).
* The API server and the VPC endpoints are addresses in the VPC (``ipBlock`` of the VPC
  CIDR, 443); so are the kubelets and host-network node exporters Prometheus scrapes. Admission
  webhooks and aggregated APIs are called by the control plane from the VPC: each operator's
  namespace admits the VPC on exactly its webhook ports (cert-manager, trust-manager, Linkerd,
  the Prometheus operator, Kueue, the Dynamo operator; Karpenter 1.x serves none).
* The internet (``0.0.0.0/0`` except the VPC): dev pods on any port (a workstation); the
  secret sync (Secrets Manager), Velero (S3 and the EC2 snapshot API), Karpenter (EC2, SSM,
  pricing, SQS), Triton (S3 through the gateway endpoint, whose addresses are S3's public
  ones), Dynamo and the LLM servers (model downloads from Hugging Face) on 443 only. No other
  platform service reaches the internet.
* ``gpu-controlplane``: the job API admits the VPC on its HTTPS port (developers, through the
  internal NLB, which keeps their address); the API and the dispatcher reach the API server,
  STS and the database (5432) in the VPC and Secrets Manager on the internet (no VPC
  endpoint). Only these pods and MLflow's server (``mlflow``: STS and 5432 in the VPC) have
  egress on 5432, so only they reach PostgreSQL.
* ``gpu-dev``: sshd (2222) from anywhere (the NodePort Service); egress to the internet but
  not into the VPC, so a dev pod reaches no platform service but DNS and what a client setting
  names. The pods of one multi-node reservation reach each other on every port (ssh, torchrun's
  rendezvous, NCCL's bootstrap pick their ports), and no other reservation's pods: not through
  this chart, but through one NetworkPolicy per reservation that the reservation processor
  creates and deletes with the gang's pods (``reservations.dev_pod.peers_policy_manifest``; a
  selector can say "the same reservation" only with that reservation's id).

* Training (``workloads.training``/``ray``): the Trainer and KubeRay controllers reach the API
  server and admit its webhook calls; in a team namespace the pods of one TrainJob (JobSet's
  name label) reach each other on every port (torchrun's rendezvous, NCCL's bootstrap and
  socket transport use ports they pick), and so do a Ray cluster's pods (``ray.io/cluster``),
  whose head also reaches the API server (the autoscaler). ``efa-test`` and ``rdma-jobs``
  pods reach each other (MPI's ssh and ports, NCCL's bootstrap); the Network Operator reaches
  the API server. EFA and the RDMA interfaces are not IP on the pod network: no policy sees them.

A namespace a setting names (the token refresh's targets) gets the default deny and DNS only:
whatever runs there brings its own allows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import cdk8s
from constructs import Construct

from k8s_charts import job_api, llm_servers, minio, nats, triton, velero
from k8s_charts.dynamo_graphs import FRONTEND_PORT, SYSTEM_PORT
from k8s_charts.mesh_policy import ProtectedService
from k8s_charts.observability import DCGM_EXPORTER_LABELS, DCGM_EXPORTER_PORT
from platform_config import namespaces as ns
from platform_config.contract import APP_NAME_LABEL, NAMESPACE_NAME_LABEL
from platform_config.platform_database import POSTGRES_PORT
from platform_config.versions import MLFLOW
from reservations.dev_pod import SSH_PORT

NAME_LABEL, NAMESPACE_LABEL = APP_NAME_LABEL, NAMESPACE_NAME_LABEL
DNS_PODS = {"k8s-app": "kube-dns"}  # the EKS CoreDNS add-on's pods
PROMETHEUS_PODS = {NAME_LABEL: "prometheus"}  # set by prometheus-operator on the pods it runs
ANYWHERE = "0.0.0.0/0"
HTTPS = 443
KUBELET, NODE_EXPORTER = 10250, 9100
# Ports the API server calls (admission webhooks, aggregated APIs) and control-plane ports,
# each checked against its pinned chart's templates (README "Tenancy and security" cites them).
# linkerd-control-plane templates/destination.yaml and identity.yaml: destination, identity, policy
LINKERD_CONTROL_PORTS = (8086, 8080, 8090)
# proxy-injector.yaml (proxy-injector 8443), destination.yaml (sp-validator 8443, policy-https 9443)
LINKERD_WEBHOOK_PORTS = (8443, 9443)
PROXY_INBOUND, PROXY_ADMIN = 4143, 4191
# kube-prometheus-stack values prometheusOperator.tls.internalPort: the operator's webhook
PROMETHEUS_OPERATOR_WEBHOOK = 10250
# cert-manager values webhook.securePort; trust-manager values app.webhook.port
CERT_MANAGER_WEBHOOKS = (10250, 6443)
# kueue templates/manager/manager.yaml: webhook-server 9443 (values webhook.port), and the
# visibility API server 8082 behind the APIService v1beta2.visibility.kueue.x-k8s.io (an
# aggregated API the API server must reach, or discovery and namespace deletion stall)
KUEUE_API_SERVER_PORTS = (9443, 8082)
# dynamo-operator templates/webhook-service.yaml: targetPort 9443 (failurePolicy Fail)
DYNAMO_OPERATOR_WEBHOOK = 9443
NIXL_PORT = 19090  # the Dynamo operator's worker port for KV transfer
TRAINER_WEBHOOK = 9443  # Trainer's and JobSet's admission webhooks (their charts' webhook.port)
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"  # on every pod of a TrainJob's JobSet
RAY_CLUSTER_LABEL = "ray.io/cluster"  # on every pod of a RayCluster
RAY_HEAD = {"ray.io/node-type": "head"}
# The mlflow chart's pods (mlflow.selectorLabels: the chart's name) and container port.
MLFLOW_PODS = {NAME_LABEL: MLFLOW.chart}
MLFLOW_PORT = 5000

Rule = dict
Peer = dict


def _ports(*numbers: int, protocol: str = "TCP") -> list[dict]:
    return [{"port": n, "protocol": protocol} for n in numbers]


def _namespace(name: str) -> Peer:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}


def _namespaces(names: Collection[str]) -> Peer:
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(names)}]
        }
    }


def _pods(namespace: str, labels: dict[str, str]) -> Peer:
    return {**_namespace(namespace), "podSelector": {"matchLabels": dict(labels)}}


SAME_NAMESPACE: Peer = {"podSelector": {}}


class NetworkPoliciesChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespaces: Sequence[str],
        vpc_cidr: str,
        meshed: Collection[str] = (),
        services: Sequence[ProtectedService] = (),
        training_namespaces: Collection[str] = (),
        ray_namespaces: Collection[str] = (),
    ) -> None:
        """``namespaces``: those this chart guards (the ones its stack creates); ``meshed``:
        every namespace whose pods carry Linkerd's proxy; ``services``: the client-guarded
        endpoints (Triton, the Dynamo frontends, the LLM servers, MLflow) with their client
        namespaces."""
        super().__init__(scope, chart_id)
        self._vpc, self._meshed, self._services = vpc_cidr, set(meshed), list(services)
        own_rules = {
            ns.MONITORING: self._monitoring, ns.NATS: self._nats, ns.DYNAMO: self._dynamo_system,
            ns.INFERENCE: self._inference, ns.MINIO: self._minio, ns.PLATFORM_SECRETS: self._platform_secrets,
            ns.ECR_TOKEN_REFRESH: self._ecr_token_refresh, ns.LINKERD: self._linkerd,
            ns.CERT_MANAGER: self._cert_manager, ns.KARPENTER: self._karpenter, ns.GPU_DEV: self._gpu_dev,
            ns.TRAINER: lambda: self._controller(ns.TRAINER, TRAINER_WEBHOOK),
            ns.KUBERAY: lambda: self._controller(ns.KUBERAY), ns.EFA_TEST: lambda: self._within(ns.EFA_TEST),
            ns.RDMA_JOBS: lambda: self._within(ns.RDMA_JOBS),
            ns.NETWORK_OPERATOR: lambda: self._api_server(ns.NETWORK_OPERATOR),
            ns.KUEUE: self._kueue,
            ns.LLM_SERVING: self._llm_serving, ns.VELERO: self._velero, ns.MLFLOW: self._mlflow,
            ns.GPU_OPERATOR: self._gpu_operator,
            ns.GPU_CONTROLPLANE: self._gpu_controlplane,
        }  # fmt: skip
        for namespace in sorted(set(namespaces)):
            self._policy(namespace, "default-deny", {}, [], [], types=("Ingress", "Egress"))
            self._policy(
                namespace, "allow-dns", {}, [],
                [{"to": [_pods(ns.KUBE_SYSTEM, DNS_PODS)], "ports": _ports(53, protocol="UDP") + _ports(53)}],
            )  # fmt: skip
            if namespace in self._meshed:
                self._mesh(namespace)
            self._clients(namespace)
            if namespace in own_rules:
                own_rules[namespace]()
            if namespace in training_namespaces:
                self._job_peers(namespace, "allow-trainjob-peers", JOBSET_NAME_LABEL)
            if namespace in ray_namespaces:
                self._job_peers(namespace, "allow-ray-cluster-peers", RAY_CLUSTER_LABEL)
                self._policy(
                    namespace, "allow-ray-head-api-server", RAY_HEAD, [],
                    [{"to": [self._vpc_peer()], "ports": _ports(HTTPS)}],
                )  # fmt: skip

    # -- building blocks ---------------------------------------------------------------------

    def _policy(
        self,
        namespace: str,
        name: str,
        pods: dict[str, str],
        ingress: list[Rule],
        egress: list[Rule],
        *,
        types: Sequence[str] = (),
    ) -> None:
        types = types or [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules]
        spec: dict = {"podSelector": {"matchLabels": dict(pods)} if pods else {}, "policyTypes": list(types)}
        if ingress:
            spec["ingress"] = ingress
        if egress:
            spec["egress"] = egress
        policy = cdk8s.ApiObject(
            self,
            f"{namespace}-{name}",
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata={"name": name, "namespace": namespace},
        )
        policy.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))

    def _vpc_peer(self) -> Peer:
        return {"ipBlock": {"cidr": self._vpc}}

    def _internet(self) -> Peer:
        return {"ipBlock": {"cidr": ANYWHERE, "except": [self._vpc]}}

    def _scraped(self, namespace: str, pods: dict[str, str], *ports: int) -> None:
        self._policy(
            namespace, f"allow-scrape-{'-'.join(map(str, ports))}", pods,
            [{"from": [_pods(ns.MONITORING, PROMETHEUS_PODS)], "ports": _ports(*ports)}], [],
        )  # fmt: skip

    def _within(self, namespace: str) -> None:
        self._policy(
            namespace, "allow-same-namespace", {}, [{"from": [SAME_NAMESPACE]}], [{"to": [SAME_NAMESPACE]}]
        )

    def _api_server(self, namespace: str, *extra_ports: int) -> None:
        """The API server's endpoint interfaces and the VPC endpoints (STS, ECR, ...)."""
        self._policy(
            namespace, "allow-vpc-endpoints", {}, [],
            [{"to": [self._vpc_peer()], "ports": _ports(HTTPS, *extra_ports)}],
        )  # fmt: skip

    def _internet_https(self, namespace: str) -> None:
        self._policy(
            namespace, "allow-internet-https", {}, [], [{"to": [self._internet()], "ports": _ports(HTTPS)}]
        )

    def _webhooks(self, namespace: str, *ports: int) -> None:
        self._policy(
            namespace, "allow-webhook-calls", {}, [{"from": [self._vpc_peer()], "ports": _ports(*ports)}], []
        )

    def _mesh(self, namespace: str) -> None:
        meshed = _namespaces(self._meshed)
        self._policy(
            namespace, "allow-linkerd-proxy", {},
            [{"from": [meshed], "ports": _ports(PROXY_INBOUND)},
             {"from": [_pods(ns.MONITORING, PROMETHEUS_PODS)], "ports": _ports(PROXY_ADMIN)}],
            [{"to": [_namespace(ns.LINKERD)], "ports": _ports(*LINKERD_CONTROL_PORTS)},
             {"to": [meshed], "ports": _ports(PROXY_INBOUND)}],
        )  # fmt: skip

    def _clients(self, namespace: str) -> None:
        """Both ends of every client flow a setting names: ingress on the service, egress on
        each client namespace this chart guards."""
        for service in self._services:
            clients = sorted({client.split("/", 1)[0] for client in service.clients})
            ports = _ports(*(port.port for port in service.ports))
            if service.namespace == namespace and clients:  # no clients: the default deny stands
                self._policy(
                    namespace, f"allow-{service.name}-clients", service.pod_labels,
                    [{"from": [_namespaces(clients)], "ports": ports}], [],
                )  # fmt: skip
            if namespace in clients:
                self._policy(
                    namespace, f"allow-to-{service.name}", {}, [],
                    [{"to": [_pods(service.namespace, service.pod_labels)], "ports": ports}],
                )  # fmt: skip

    def _controller(self, namespace: str, *webhook_ports: int) -> None:
        self._api_server(namespace)
        if webhook_ports:
            self._webhooks(namespace, *webhook_ports)

    def _job_peers(self, namespace: str, name: str, label: str) -> None:
        """Pods that carry ``label`` reach each other on every port; nothing else changes."""
        peers = {"podSelector": {"matchExpressions": [{"key": label, "operator": "Exists"}]}}
        policy = cdk8s.ApiObject(
            self, f"{namespace}-{name}", api_version="networking.k8s.io/v1", kind="NetworkPolicy",
            metadata={"name": name, "namespace": namespace},
        )  # fmt: skip
        spec = {
            **peers,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [peers]}],
            "egress": [{"to": [peers]}],
        }
        policy.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))

    # -- one method per namespace of platform_config/namespaces.py ---------------------------

    def _monitoring(self) -> None:
        self._within(ns.MONITORING)
        self._api_server(ns.MONITORING)
        self._webhooks(ns.MONITORING, PROMETHEUS_OPERATOR_WEBHOOK)
        self._policy(
            ns.MONITORING, "allow-prometheus-scrape", PROMETHEUS_PODS, [],
            [{"to": [{"namespaceSelector": {}}]},
             {"to": [self._vpc_peer()], "ports": _ports(KUBELET, NODE_EXPORTER)}],
        )  # fmt: skip

    def _nats(self) -> None:
        pods = {NAME_LABEL: nats.NAME}
        self._policy(
            ns.NATS, "allow-nats", pods,
            [{"from": [_pods(ns.NATS, pods)], "ports": _ports(nats.CLUSTER_PORT)},
             {"from": [_namespace(ns.DYNAMO)], "ports": _ports(nats.CLIENT_PORT)}],
            [{"to": [_pods(ns.NATS, pods)], "ports": _ports(nats.CLUSTER_PORT)}],
        )  # fmt: skip
        self._scraped(ns.NATS, pods, nats.METRICS_PORT)

    def _dynamo_system(self) -> None:
        self._within(ns.DYNAMO)
        self._api_server(ns.DYNAMO)  # the operator, and Kubernetes-native discovery
        self._internet_https(ns.DYNAMO)  # model downloads from Hugging Face
        self._webhooks(ns.DYNAMO, DYNAMO_OPERATOR_WEBHOOK)
        self._policy(
            ns.DYNAMO, "allow-to-nats", {}, [],
            [{"to": [_pods(ns.NATS, {NAME_LABEL: nats.NAME})], "ports": _ports(nats.CLIENT_PORT)}],
        )  # fmt: skip
        self._scraped(ns.DYNAMO, {}, FRONTEND_PORT, SYSTEM_PORT)

    def _inference(self) -> None:
        self._api_server(ns.INFERENCE)  # STS for the model bucket's role
        self._internet_https(ns.INFERENCE)  # S3 through the gateway endpoint
        self._scraped(ns.INFERENCE, triton.pod_labels(), triton.METRICS_PORT)

    def _llm_serving(self) -> None:
        self._internet_https(ns.LLM_SERVING)  # model downloads from Hugging Face
        self._scraped(ns.LLM_SERVING, {NAME_LABEL: llm_servers.NAME}, llm_servers.PORT)

    def _mlflow(self) -> None:
        self._api_server(ns.MLFLOW, POSTGRES_PORT)  # STS, and the platform's PostgreSQL in the VPC
        self._internet_https(ns.MLFLOW)  # its artifact bucket through the S3 gateway endpoint
        self._scraped(ns.MLFLOW, MLFLOW_PODS, MLFLOW_PORT)

    def _velero(self) -> None:
        self._api_server(ns.VELERO)  # the API server and STS
        self._internet_https(ns.VELERO)  # S3 (gateway endpoint) and the EC2 API for EBS snapshots
        self._scraped(ns.VELERO, velero.POD_LABELS, velero.METRICS_PORT)

    def _minio(self) -> None:
        pods = {NAME_LABEL: minio.NAME}
        self._policy(
            ns.MINIO, "allow-minio-peers", pods,
            [{"from": [_pods(ns.MINIO, pods)], "ports": _ports(minio.API_PORT)}],
            [{"to": [_pods(ns.MINIO, pods)], "ports": _ports(minio.API_PORT)}],
        )  # fmt: skip
        self._scraped(ns.MINIO, pods, minio.API_PORT)

    def _platform_secrets(self) -> None:
        self._api_server(ns.PLATFORM_SECRETS)
        self._internet_https(ns.PLATFORM_SECRETS)  # Secrets Manager: no VPC endpoint

    def _ecr_token_refresh(self) -> None:
        self._api_server(ns.ECR_TOKEN_REFRESH)  # API server, STS and ECR endpoints

    def _linkerd(self) -> None:
        self._within(ns.LINKERD)
        self._api_server(ns.LINKERD)
        self._webhooks(ns.LINKERD, *LINKERD_WEBHOOK_PORTS)
        self._policy(
            ns.LINKERD, "allow-meshed-pods", {},
            [{"from": [_namespaces(self._meshed)], "ports": _ports(*LINKERD_CONTROL_PORTS)}], [],
        )  # fmt: skip

    def _cert_manager(self) -> None:
        self._within(ns.CERT_MANAGER)
        self._api_server(ns.CERT_MANAGER)
        self._webhooks(ns.CERT_MANAGER, *CERT_MANAGER_WEBHOOKS)

    def _gpu_operator(self) -> None:
        """The operator and its node agents read and label nodes through the API server (NFD,
        GFD, the MIG manager, the device plugin's config watcher); Prometheus scrapes DCGM."""
        self._api_server(ns.GPU_OPERATOR)
        self._scraped(ns.GPU_OPERATOR, DCGM_EXPORTER_LABELS, DCGM_EXPORTER_PORT)

    def _karpenter(self) -> None:
        self._api_server(ns.KARPENTER)
        self._internet_https(ns.KARPENTER)  # EC2, SSM, pricing and SQS APIs

    def _kueue(self) -> None:
        """The controller talks to the API server; the API server calls its webhooks (every
        pod and job of a team namespace, fail-closed) and its visibility API."""
        self._api_server(ns.KUEUE)
        self._webhooks(ns.KUEUE, *KUEUE_API_SERVER_PORTS)

    def _gpu_dev(self) -> None:
        self._policy(
            ns.GPU_DEV, "allow-workstation", {},
            [{"from": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": _ports(SSH_PORT)}],
            [{"to": [self._internet()]}],
        )  # fmt: skip

    def _gpu_controlplane(self) -> None:
        self._policy(
            ns.GPU_CONTROLPLANE, "allow-api-clients", job_api.api_labels(),
            [{"from": [self._vpc_peer()], "ports": _ports(job_api.API_PORT)}], [],
        )  # fmt: skip
        for name, pods in (
            (job_api.API, job_api.api_labels()),
            (job_api.DISPATCHER, job_api.dispatcher_labels()),
        ):
            self._policy(
                ns.GPU_CONTROLPLANE, f"allow-{name}-egress", pods, [],
                [{"to": [self._vpc_peer()], "ports": _ports(HTTPS, POSTGRES_PORT)},
                 {"to": [self._internet()], "ports": _ports(HTTPS)}],
            )  # fmt: skip
