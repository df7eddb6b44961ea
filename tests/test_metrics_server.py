"""Every HorizontalPodAutoscaler reads a metric the cluster serves: a ``Resource`` metric needs
the Metrics API (the metrics-server add-on in the same stage); ``Pods``, ``Object`` and
``External`` metrics need a custom or external metrics API, which nothing on the platform
registers (no prometheus-adapter, no KEDA), so an HPA using one would never act."""

from __future__ import annotations

from tools.assembly import manifests_in_template

ADDON_TYPE = "AWS::EKS::Addon"
# metric type of an autoscaling/v2 MetricSpec -> the aggregated API that serves it
METRIC_APIS = {
    "Resource": "metrics.k8s.io",
    "ContainerResource": "metrics.k8s.io",
    "Pods": "custom.metrics.k8s.io",
    "Object": "custom.metrics.k8s.io",
    "External": "external.metrics.k8s.io",
}


def served_metric_apis(templates: dict[str, dict]) -> set[str]:
    """The metrics APIs one stage's templates install: metrics.k8s.io from the metrics-server
    add-on, any other from an APIService manifest."""
    served = set()
    for template in templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == ADDON_TYPE and resource["Properties"]["AddonName"] == "metrics-server":
                served.add("metrics.k8s.io")
        for obj in manifests_in_template(template):
            if obj.get("kind") == "APIService":
                served.add(obj["spec"]["group"])
    return served


def hpa_metric_apis(templates: dict[str, dict]) -> dict[str, set[str]]:
    """namespace/name of every HPA -> the metrics APIs its metrics need."""
    needs: dict[str, set[str]] = {}
    for template in templates.values():
        for obj in manifests_in_template(template):
            if obj.get("kind") == "HorizontalPodAutoscaler":
                meta = obj["metadata"]
                metrics = obj["spec"].get("metrics") or [{"type": "Resource"}]  # default: 80% CPU
                needs[f"{meta['namespace']}/{meta['name']}"] = {METRIC_APIS[m["type"]] for m in metrics}
    return needs


def _stages(synth) -> dict[str, dict[str, dict]]:
    stages: dict[str, dict[str, dict]] = {}
    for (stage, stack), template in synth.templates.items():
        stages.setdefault(stage, {})[stack] = template
    return stages


def test_every_hpa_reads_a_metric_its_stage_serves(synth):
    hpas = 0
    for stage, templates in _stages(synth).items():
        served = served_metric_apis(templates)
        for hpa, apis in hpa_metric_apis(templates).items():
            hpas += 1
            missing = sorted(apis - served)
            assert not missing, f"{stage}: HPA {hpa} needs {missing}; the stage serves {sorted(served)}"
    assert hpas, "no HPA in any stage: Triton's is expected (workloads.triton)"


def test_without_the_metrics_server_addon_an_hpa_is_reported(synth):
    templates = _stages(synth)["dev"]
    stripped = {
        name: {
            **t,
            "Resources": {k: r for k, r in t.get("Resources", {}).items() if r["Type"] != ADDON_TYPE},
        }
        for name, t in templates.items()
    }
    assert "metrics.k8s.io" in served_metric_apis(templates)
    assert "metrics.k8s.io" not in served_metric_apis(stripped)
    assert any("metrics.k8s.io" in apis for apis in hpa_metric_apis(stripped).values())
