"""The job submission API in the cluster (issue 14; the service is the ``job_api`` package).

In ``gpu-controlplane`` (Pod Security ``restricted``): the API Deployment (its init container
applies the migrations; it serves HTTPS on 8443 with a cert-manager certificate) and the
dispatcher Deployment, each with its own ServiceAccount (IRSA: its role reads the database
secret), a PodDisruptionBudget, the settings ConfigMap the stage generates, and the internal
Network Load Balancer in front of the API (a ``LoadBalancer`` Service; see the README for the
controller that provisions it and the destroy order). In every team namespace, a Role per
process with exactly what the contract names, bound to its ServiceAccount.

The certificate: a CA of its own (``job-api-ca``), issued by the platform's self-signed root
ClusterIssuer and kept in cert-manager's namespace, signs the serving certificate. The NLB
passes TCP through, so TLS ends in the pod and the key never leaves the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import (
    app_labels,
    pod_disruption_budget,
    pod_security,
    resources,
    restricted_security_context,
    zone_spread,
)

API, DISPATCHER = "job-api", "job-dispatcher"  # Deployment and ServiceAccount names
SETTINGS_CONFIG_MAP, SETTINGS_DIR = "job-api-settings", "/etc/job-api"
TLS_SECRET, TLS_DIR = "job-api-tls", "/etc/job-api/tls"
CA_NAME = "job-api-ca"
API_PORT, SERVICE_PORT = 8443, 443
USER = 65532
ALIVE_FILE = "/tmp/dispatcher-alive"
ALIVE_SECONDS = 120  # the dispatcher touches the file every loop; two minutes without is stuck
CERT_MANAGER_API = "cert-manager.io/v1"
# Service annotations of the AWS cloud provider's service controller, which EKS runs in its
# control plane (kubernetes/cloud-provider-aws, docs/service_controller.md).
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}
# What each process may do in a team namespace (the contract, docs/notes: job_api_contract).
TEAM_RULES = {
    DISPATCHER: [
        (["batch"], ["jobs"], ["create", "get", "list", "watch", "delete"]),
        ([""], ["pods"], ["get", "list", "watch"]),
        ([""], ["pods/log"], ["get"]),
    ],
    API: [
        ([""], ["pods", "pods/log"], ["get", "list"]),
        (["batch"], ["jobs"], ["get", "list"]),
    ],
}


def api_labels() -> dict[str, str]:
    return app_labels(API, "api")


def dispatcher_labels() -> dict[str, str]:
    return app_labels(DISPATCHER, "dispatcher")


def _environment(region: str, secret_arn: str, *, tls: bool) -> list[k8s.EnvVar]:
    env = {
        "JOB_API_SETTINGS_FILE": f"{SETTINGS_DIR}/settings.json",
        "JOB_API_DB_SECRET_ARN": secret_arn,
        "AWS_REGION": region,
    }
    if tls:
        env |= {"JOB_API_TLS_CERT_FILE": f"{TLS_DIR}/tls.crt", "JOB_API_TLS_KEY_FILE": f"{TLS_DIR}/tls.key"}
    return [k8s.EnvVar(name=k, value=v) for k, v in env.items()]


def _volumes(*, tls: bool) -> tuple[list[k8s.Volume], list[k8s.VolumeMount]]:
    volumes = [
        k8s.Volume(
            name="tmp", empty_dir=k8s.EmptyDirVolumeSource(size_limit=k8s.Quantity.from_string("64Mi"))
        ),
        k8s.Volume(name="settings", config_map=k8s.ConfigMapVolumeSource(name=SETTINGS_CONFIG_MAP)),
    ]
    mounts = [
        k8s.VolumeMount(name="tmp", mount_path="/tmp"),
        k8s.VolumeMount(name="settings", mount_path=SETTINGS_DIR, read_only=True),
    ]
    if tls:
        volumes.append(k8s.Volume(name="tls", secret=k8s.SecretVolumeSource(secret_name=TLS_SECRET)))
        mounts.append(k8s.VolumeMount(name="tls", mount_path=TLS_DIR, read_only=True))
    return volumes, mounts


class JobApiChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        image: str,
        region: str,
        settings: Mapping,
        team_namespaces: Sequence[str],
        role_arns: Mapping[str, str],
        database_secret_arn: str,
        api_replicas: int,
        dispatcher_replicas: int,
        root_issuer: str,
        cert_manager_namespace: str,
    ) -> None:
        """``settings``: the ``ServiceSettings`` document; ``role_arns``: the IRSA role of each
        ServiceAccount (``API``, ``DISPATCHER``); ``root_issuer``: the platform's self-signed
        ClusterIssuer that signs the API's CA."""
        super().__init__(scope, chart_id)
        self.space = namespace
        for account in (API, DISPATCHER):
            k8s.KubeServiceAccount(
                self,
                f"{account}-sa",
                metadata=k8s.ObjectMeta(
                    name=account,
                    namespace=namespace,
                    labels=app_labels(account),
                    annotations={"eks.amazonaws.com/role-arn": role_arns[account]},
                ),
                automount_service_account_token=True,
            )
        k8s.KubeConfigMap(
            self,
            "settings",
            metadata=k8s.ObjectMeta(name=SETTINGS_CONFIG_MAP, namespace=namespace, labels=app_labels(API)),
            data={"settings.json": json.dumps(settings, indent=2, sort_keys=True)},
        )
        self._certificates(root_issuer, cert_manager_namespace)
        self._api(image, region, database_secret_arn, api_replicas)
        self._dispatcher(image, region, database_secret_arn, dispatcher_replicas)
        self._team_access(team_namespaces)

    def _certificates(self, root_issuer: str, cert_manager_namespace: str) -> None:
        service = f"{API}.{self.space}.svc"
        objects = [
            ("Certificate", CA_NAME, cert_manager_namespace, {
                "isCA": True, "commonName": CA_NAME, "secretName": CA_NAME, "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": root_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            }),
            # A ClusterIssuer reads its CA Secret from cert-manager's own namespace.
            ("ClusterIssuer", CA_NAME, "", {"ca": {"secretName": CA_NAME}}),
            ("Certificate", TLS_SECRET, self.space, {
                "secretName": TLS_SECRET, "duration": "2160h", "renewBefore": "720h",
                "commonName": service, "dnsNames": [service, f"{service}.cluster.local", API],
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": ["server auth"],
                "issuerRef": {"name": CA_NAME, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            }),
        ]  # fmt: skip
        for kind, name, namespace, spec in objects:
            obj = cdk8s.ApiObject(
                self,
                f"{kind}-{name}",
                api_version=CERT_MANAGER_API,
                kind=kind,
                metadata=cdk8s.ApiObjectMetadata(name=name, namespace=namespace or None),
            )
            obj.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))

    def _container(
        self,
        name: str,
        image: str,
        command: str,
        env: list[k8s.EnvVar],
        mounts: list[k8s.VolumeMount],
        **extra,
    ) -> k8s.Container:
        return k8s.Container(
            name=name,
            image=image,
            args=[command],
            env=env,
            volume_mounts=mounts,
            security_context=restricted_security_context(user=USER),
            resources=resources({"cpu": "100m", "memory": "256Mi"}, {"cpu": "1", "memory": "512Mi"}),
            **extra,
        )

    def _api(self, image: str, region: str, secret_arn: str, replicas: int) -> None:
        labels = api_labels()
        volumes, mounts = _volumes(tls=True)
        env = _environment(region, secret_arn, tls=True)
        health = k8s.Probe(
            http_get=k8s.HttpGetAction(
                path="/health", port=k8s.IntOrString.from_string("https"), scheme="HTTPS"
            ),
            period_seconds=10,
            timeout_seconds=5,
            failure_threshold=3,
        )
        server = self._container(
            "api", image, "serve", env, mounts,
            ports=[k8s.ContainerPort(name="https", container_port=API_PORT, protocol="TCP")],
            readiness_probe=health, liveness_probe=health,
        )  # fmt: skip
        migrate = self._container(
            "migrate", image, "migrate", _environment(region, secret_arn, tls=False), mounts
        )
        self._deployment(API, labels, replicas, [server], volumes, init=[migrate])
        # The internal NLB (TCP passthrough: TLS ends in the pod). Instance targets with
        # ``Local`` traffic: the NLB sends only to nodes that run an API pod, and the pod sees
        # the developer's address, which the NetworkPolicy admits from the VPC.
        k8s.KubeService(
            self,
            "service",
            metadata=k8s.ObjectMeta(
                name=API, namespace=self.space, labels=labels, annotations=NLB_ANNOTATIONS
            ),
            spec=k8s.ServiceSpec(
                type="LoadBalancer",
                external_traffic_policy="Local",
                selector=labels,
                ports=[
                    k8s.ServicePort(
                        name="https", port=SERVICE_PORT, protocol="TCP",
                        target_port=k8s.IntOrString.from_string("https"),
                    )
                ],
            ),
        )  # fmt: skip

    def _dispatcher(self, image: str, region: str, secret_arn: str, replicas: int) -> None:
        volumes, mounts = _volumes(tls=False)
        alive = k8s.Probe(
            exec=k8s.ExecAction(
                command=[
                    "python", "-c",
                    "import os, sys, time; "
                    f"sys.exit(time.time() - os.path.getmtime('{ALIVE_FILE}') > {ALIVE_SECONDS})",
                ]
            ),
            initial_delay_seconds=60, period_seconds=30, timeout_seconds=10, failure_threshold=3,
        )  # fmt: skip
        container = self._container(
            "dispatcher",
            image,
            "dispatch",
            _environment(region, secret_arn, tls=False),
            mounts,
            liveness_probe=alive,
        )
        self._deployment(DISPATCHER, dispatcher_labels(), replicas, [container], volumes)

    def _deployment(
        self,
        name: str,
        labels: dict[str, str],
        replicas: int,
        containers: list[k8s.Container],
        volumes: list[k8s.Volume],
        init: list[k8s.Container] | None = None,
    ) -> None:
        k8s.KubeDeployment(
            self,
            name,
            metadata=k8s.ObjectMeta(name=name, namespace=self.space, labels=labels),
            spec=k8s.DeploymentSpec(
                replicas=replicas,
                selector=k8s.LabelSelector(match_labels=labels),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        service_account_name=name,
                        security_context=pod_security(USER),
                        init_containers=init,
                        containers=containers,
                        volumes=volumes,
                        topology_spread_constraints=zone_spread(labels, hard=False),
                    ),
                ),
            ),
        )
        pod_disruption_budget(self, name=name, namespace=self.space, labels=labels)

    def _team_access(self, team_namespaces: Sequence[str]) -> None:
        for namespace in team_namespaces:
            for account, rules in TEAM_RULES.items():
                meta = k8s.ObjectMeta(name=account, namespace=namespace, labels=app_labels(account))
                k8s.KubeRole(
                    self,
                    f"{namespace}-{account}-role",
                    metadata=meta,
                    rules=[
                        k8s.PolicyRule(api_groups=groups, resources=kinds, verbs=verbs)
                        for groups, kinds, verbs in rules
                    ],
                )
                k8s.KubeRoleBinding(
                    self,
                    f"{namespace}-{account}-binding",
                    metadata=meta,
                    role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=account),
                    subjects=[k8s.Subject(kind="ServiceAccount", name=account, namespace=self.space)],
                )
