"""Linkerd on the synthesized Workloads stacks: identity from cert-manager without a key in any
template, proxies on the inference workloads, policy that selects exactly the pods it protects
and admits only the configured clients, and an install order that lets each piece start."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from k8s_charts.linkerd_identity import IDENTITY_ISSUER, TRUST_ANCHOR, TRUST_ROOTS, TRUST_ROOTS_KEY
from platform_config.contract import MESH_INJECT
from platform_config.loader import load_stages
from platform_config.workloads import WorkloadsSettings
from tests.test_workloads import depends_on, graphs, helm_values, objects

STAGES = {stage.name: stage for stage in load_stages()}


def named(synth, stage: str, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects(synth, stage, kind)}


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_identity_is_issued_by_cert_manager_and_the_chart_generates_no_key(synth, stage):
    values = helm_values(synth, stage, "LinkerdControlPlaneRelease")
    assert values["identity"] == {"externalCA": True, "issuer": {"scheme": "kubernetes.io/tls"}}
    assert "identityTrustAnchorsPEM" not in json.dumps(values)

    certificates = named(synth, stage, "Certificate")
    anchor, issuer = certificates[TRUST_ANCHOR]["spec"], certificates[IDENTITY_ISSUER]["spec"]
    assert anchor["isCA"] and issuer["isCA"]
    assert anchor["issuerRef"]["name"] in named(synth, stage, "ClusterIssuer")
    assert named(synth, stage, "ClusterIssuer")[anchor["issuerRef"]["name"]]["spec"] == {"selfSigned": {}}
    # The issuer is signed by the anchor, lives where the control plane reads it, and renews
    # halfway through its life.
    assert named(synth, stage, "ClusterIssuer")[issuer["issuerRef"]["name"]]["spec"] == {
        "ca": {"secretName": anchor["secretName"]}
    }
    assert certificates[IDENTITY_ISSUER]["metadata"]["namespace"] == "linkerd"
    assert issuer["secretName"] == IDENTITY_ISSUER
    hours = STAGES[stage].workloads.linkerd.issuer_hours
    assert (issuer["duration"], issuer["renewBefore"]) == (f"{hours}h", f"{hours // 2}h")
    assert anchor["privateKey"]["algorithm"] == issuer["privateKey"]["algorithm"] == "ECDSA"

    (bundle,) = objects(synth, stage, "Bundle")
    assert bundle["metadata"]["name"] == TRUST_ROOTS
    assert bundle["spec"]["sources"] == [{"secret": {"name": TRUST_ANCHOR, "key": "ca.crt"}}]
    assert bundle["spec"]["target"]["configMap"] == {"key": TRUST_ROOTS_KEY}
    # ... and it reaches the linkerd namespace, through that namespace's own labels.
    linkerd_ns = named(synth, stage, "Namespace")["linkerd"]
    selector = bundle["spec"]["target"]["namespaceSelector"]["matchLabels"]
    assert selector.items() <= linkerd_ns["metadata"]["labels"].items()


def test_no_private_key_is_in_any_template(synth):
    for template in synth.templates.values():
        text = json.dumps(template)
        assert "PRIVATE KEY" not in text
        # base64 of "-----BEGIN": PEM material in a Secret's data (a file path such as the job
        # API's JOB_API_TLS_KEY_FILE=/etc/job-api/tls/tls.key is not key material)
        assert "LS0tLS1CRUdJTi" not in text


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_control_plane_replicas_follow_the_setting(synth, stage):
    values = helm_values(synth, stage, "LinkerdControlPlaneRelease")
    expected = 3 if STAGES[stage].workloads.linkerd.high_availability else None
    assert values.get("controllerReplicas") == expected
    assert values.get("enablePodDisruptionBudget", False) is bool(expected)


def test_inference_workloads_get_proxies_and_gpu_workers_do_not(synth):
    assert named(synth, "dev", "Namespace")["inference"]["metadata"]["annotations"] == MESH_INJECT
    for spec in graphs(synth, "dev").values():
        for component in spec["components"]:
            annotations = component["podTemplate"]["metadata"].get("annotations", {})
            assert (annotations == MESH_INJECT) is (component["type"] == "frontend"), component["name"]
    prometheus = helm_values(synth, "dev", "KubePrometheusStackRelease")["prometheus"]["prometheusSpec"]
    assert prometheus["podMetadata"]["annotations"] == MESH_INJECT


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_servers_select_exactly_the_pods_and_ports_they_protect(synth, stage):
    servers = named(synth, stage, "Server")
    (triton,) = [d for d in objects(synth, stage, "Deployment") if d["metadata"]["name"] == "triton"]
    triton_labels = triton["spec"]["template"]["metadata"]["labels"]
    ports = {
        p["name"]: p["containerPort"] for p in triton["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    for name, port in (("triton-http", ports["http"]), ("triton-grpc", ports["grpc"])):
        spec = servers[name]["spec"]
        assert spec["podSelector"]["matchLabels"].items() <= triton_labels.items()
        assert (spec["port"], spec["accessPolicy"]) == (port, "deny")
    assert "triton-metrics" not in servers  # Prometheus scrapes 8002 without a mesh identity

    frontend = servers["dynamo-frontend-http"]["spec"]
    for spec in graphs(synth, stage).values():
        for component in spec["components"]:
            labels = component["podTemplate"]["metadata"]["labels"]
            selected = frontend["podSelector"]["matchLabels"].items() <= labels.items()
            assert selected is (component["type"] == "frontend")


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_only_the_configured_clients_are_authorized(synth, stage):
    settings = STAGES[stage].workloads.linkerd
    authentications = named(synth, stage, "MeshTLSAuthentication")

    def identities(name: str) -> set[str]:
        return {
            f"{ref.get('namespace', ref['name'])}/{ref['name'] if ref['kind'] == 'ServiceAccount' else '*'}"
            for ref in authentications[name]["spec"]["identityRefs"]
        }

    assert identities("triton-clients") == set(settings.triton_clients)
    prometheus = "monitoring/kube-prometheus-stack-prometheus"
    assert identities("dynamo-frontend-clients") == {*settings.dynamo_clients, prometheus}
    for policy in objects(synth, stage, "AuthorizationPolicy"):
        target, (authn,) = policy["spec"]["targetRef"], policy["spec"]["requiredAuthenticationRefs"]
        assert target["kind"] == "Server" and target["name"] in named(synth, stage, "Server")
        assert authn["kind"] == "MeshTLSAuthentication" and authn["name"] in authentications
    assert {p["spec"]["targetRef"]["name"] for p in objects(synth, stage, "AuthorizationPolicy")} == set(
        named(synth, stage, "Server")
    )


def test_install_order_lets_each_piece_start_and_destroy_unwind(synth):
    def depends(prefix: str) -> set[str]:
        return depends_on(synth, "dev", prefix)

    assert "CertManagerRelease" in depends("TrustManagerRelease")
    assert {"CertManagerRelease", "TrustManagerRelease"} <= depends("LinkerdIdentity")
    assert {"LinkerdCrdsRelease", "LinkerdIdentity"} <= depends("LinkerdControlPlaneRelease")
    # Pods that should carry proxies are created after the injector exists.
    for name in ("Triton", "DynamoGraphs", "KubePrometheusStackRelease"):
        assert "LinkerdControlPlaneRelease" in depends(name), name
    assert "LinkerdCrdsRelease" in depends("MeshPolicy")


def test_a_protected_component_without_clients_is_refused():
    with pytest.raises(ValidationError, match=r"linkerd\.triton_clients is empty"):
        WorkloadsSettings.model_validate(
            {"triton": {"enabled": True, "gpu_pool": "t4"}, "linkerd": {"enabled": True}}
        )
    with pytest.raises(ValidationError, match=r"triton_clients\.0\n  String should match pattern"):
        WorkloadsSettings.model_validate({"linkerd": {"triton_clients": ["not a client"]}})
