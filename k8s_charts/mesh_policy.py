"""Linkerd authorization for the inference endpoints: only the listed clients get through.

For each protected port a ``Server`` (deny by default) selects the pods, a
``MeshTLSAuthentication`` lists the client identities (ServiceAccounts, or every meshed
workload of a namespace) and an ``AuthorizationPolicy`` ties the two. Kubelet probes stay
authorized (Linkerd allows them on Servers without HTTPRoutes), and ports without a Server
(Triton's metrics) keep the cluster's default policy so Prometheus scrapes them unmeshed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s
from constructs import Construct

from k8s_charts.imports.policy_linkerd_io_authorizationpolicies.io.linkerd import policy as authz
from k8s_charts.imports.policy_linkerd_io_meshtlsauthentications.io.linkerd import policy as mtls
from k8s_charts.imports.policy_linkerd_io_servers.io.linkerd import policy as server

POLICY_GROUP = "policy.linkerd.io"


@dataclass(frozen=True)
class ProtectedPort:
    name: str  # the Server's name
    port: int
    proxy_protocol: str  # "HTTP/1", "HTTP/2" or "gRPC": skips protocol detection


@dataclass(frozen=True)
class ProtectedService:
    """Pods selected by ``pod_labels`` in ``namespace``, reachable on ``ports`` only by ``clients``."""

    name: str
    namespace: str
    pod_labels: dict[str, str]
    ports: tuple[ProtectedPort, ...]
    clients: tuple[str, ...]  # "namespace/serviceaccount" or "namespace/*"
    # Identities Linkerd admits besides the clients, whose NetworkPolicy flow is a pod-selected
    # rule of its own (Prometheus scraping a port that also serves the API), so that the rest
    # of their namespace is not let in with them.
    scrapers: tuple[str, ...] = ()
    # The Server's answer to callers no AuthorizationPolicy names: "deny", or
    # "cluster-unauthenticated" where some clients cannot join the mesh (their NetworkPolicy
    # then decides who gets through; see stacks/workloads_stack.llm_services).
    access_policy: str = "deny"


def identity_ref(client: str) -> mtls.MeshTlsAuthenticationSpecIdentityRefs:
    namespace, account = client.split("/", 1)
    if account == "*":
        return mtls.MeshTlsAuthenticationSpecIdentityRefs(kind="Namespace", name=namespace)
    return mtls.MeshTlsAuthenticationSpecIdentityRefs(
        kind="ServiceAccount", name=account, namespace=namespace
    )


class MeshPolicyChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str, *, services: list[ProtectedService]) -> None:
        super().__init__(scope, chart_id)
        for service in services:
            clients = f"{service.name}-clients"
            mtls.MeshTlsAuthentication(
                self,
                clients,
                metadata=cdk8s.ApiObjectMetadata(name=clients, namespace=service.namespace),
                spec=mtls.MeshTlsAuthenticationSpec(
                    identity_refs=[
                        identity_ref(client) for client in sorted(service.clients + service.scrapers)
                    ]
                ),
            )
            for port in service.ports:
                server.ServerV1Beta3(
                    self,
                    port.name,
                    metadata=cdk8s.ApiObjectMetadata(name=port.name, namespace=service.namespace),
                    spec=server.ServerV1Beta3Spec(
                        port=port.port,
                        pod_selector=server.ServerV1Beta3SpecPodSelector(match_labels=service.pod_labels),
                        proxy_protocol=port.proxy_protocol,
                        access_policy=service.access_policy,
                    ),
                )
                authz.AuthorizationPolicy(
                    self,
                    f"{port.name}-authz",
                    metadata=cdk8s.ApiObjectMetadata(name=port.name, namespace=service.namespace),
                    spec=authz.AuthorizationPolicySpec(
                        target_ref=authz.AuthorizationPolicySpecTargetRef(
                            group=POLICY_GROUP, kind="Server", name=port.name
                        ),
                        required_authentication_refs=[
                            authz.AuthorizationPolicySpecRequiredAuthenticationRefs(
                                group=POLICY_GROUP, kind="MeshTLSAuthentication", name=clients
                            )
                        ],
                    ),
                )
