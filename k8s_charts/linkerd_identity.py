"""Linkerd's identity PKI, issued in the cluster by cert-manager and trust-manager.

No private key is ever in a template or in the repository: cert-manager generates the trust
anchor (a self-signed root, in the cert-manager namespace) and the identity issuer signed by
it (in the linkerd namespace, renewed well before it expires), and trust-manager copies only
the anchor's *certificate* into the ``linkerd-identity-trust-roots`` ConfigMap that the
control plane and every proxy read. The control plane runs with ``identity.externalCA`` so it
uses these instead of generating its own.

The objects are plain ``ApiObject``s (no generated bindings); the tests hold them to the
cert-manager and trust-manager CRDs in ``k8s_charts/crds/`` like every other custom resource,
and ``tests/test_linkerd.py`` asserts what they issue.
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from platform_config.workloads import LinkerdSettings

CERT_MANAGER_API = "cert-manager.io/v1"
TRUST_MANAGER_API = "trust.cert-manager.io/v1alpha1"
ROOT_ISSUER = "linkerd-trust-root"
TRUST_ANCHOR = "linkerd-trust-anchor"  # Certificate, its Secret and the CA ClusterIssuer
IDENTITY_ISSUER = "linkerd-identity-issuer"  # the name the control plane reads
TRUST_ROOTS = "linkerd-identity-trust-roots"  # Bundle and ConfigMap, names the chart expects
TRUST_ROOTS_KEY = "ca-bundle.crt"
CONTROL_PLANE_LABEL = {"linkerd.io/is-control-plane": "true"}
ECDSA = {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}


def _object(
    scope: Construct, api_version: str, kind: str, name: str, spec: dict, namespace: str = ""
) -> None:
    metadata = cdk8s.ApiObjectMetadata(name=name, namespace=namespace or None)
    obj = cdk8s.ApiObject(scope, f"{kind}-{name}", api_version=api_version, kind=kind, metadata=metadata)
    obj.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))


class LinkerdIdentityChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        settings: LinkerdSettings,
        cert_manager_namespace: str,
        linkerd_namespace: str,
    ) -> None:
        super().__init__(scope, chart_id)
        _object(self, CERT_MANAGER_API, "ClusterIssuer", ROOT_ISSUER, {"selfSigned": {}})
        _object(
            self, CERT_MANAGER_API, "Certificate", TRUST_ANCHOR,
            {
                "isCA": True,
                "commonName": "root.linkerd.cluster.local",
                "secretName": TRUST_ANCHOR,
                "duration": f"{settings.trust_anchor_days * 24}h",
                "renewBefore": f"{settings.trust_anchor_days * 24 // 3}h",
                "privateKey": ECDSA,
                "issuerRef": {"name": ROOT_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
            cert_manager_namespace,
        )  # fmt: skip
        # A ClusterIssuer reads its CA Secret from cert-manager's own namespace.
        _object(self, CERT_MANAGER_API, "ClusterIssuer", TRUST_ANCHOR, {"ca": {"secretName": TRUST_ANCHOR}})
        _object(
            self, CERT_MANAGER_API, "Certificate", IDENTITY_ISSUER,
            {
                "isCA": True,
                "commonName": f"identity.{linkerd_namespace}.cluster.local",
                "dnsNames": [f"identity.{linkerd_namespace}.cluster.local"],
                "secretName": IDENTITY_ISSUER,
                "duration": f"{settings.issuer_hours}h",
                "renewBefore": f"{settings.issuer_hours // 2}h",
                "privateKey": ECDSA,
                "usages": ["cert sign", "crl sign", "server auth", "client auth"],
                "issuerRef": {"name": TRUST_ANCHOR, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
            linkerd_namespace,
        )  # fmt: skip
        _object(
            self, TRUST_MANAGER_API, "Bundle", TRUST_ROOTS,
            {
                "sources": [{"secret": {"name": TRUST_ANCHOR, "key": "ca.crt"}}],
                "target": {
                    "configMap": {"key": TRUST_ROOTS_KEY},
                    "namespaceSelector": {"matchLabels": CONTROL_PLANE_LABEL},
                },
            },
        )  # fmt: skip
