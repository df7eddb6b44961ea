"""The platform's namespaces, owned by one manifest on the cluster stack.

Charts that put objects into shared namespaces (the token refresh writes Secrets into
``dynamo-system``; later charts install into it) must not each own the Namespace object:
whichever manifest owned it would delete the namespace, and everything in it, when removed.
"""

from __future__ import annotations

from collections.abc import Mapping

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct


class NamespacesChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespaces: list[str],
        labels: Mapping[str, Mapping[str, str]] | None = None,
        annotations: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """``labels`` and ``annotations`` add metadata to some of the namespaces (Linkerd's
        control-plane labels, its injection annotation)."""
        super().__init__(scope, chart_id)
        labels, annotations = labels or {}, annotations or {}
        for name in sorted(set(namespaces)):
            k8s.KubeNamespace(
                self,
                name,
                metadata=k8s.ObjectMeta(
                    name=name,
                    labels={
                        "app.kubernetes.io/part-of": "gpu-platform",
                        "pod-security.kubernetes.io/warn": "restricted",
                        **labels.get(name, {}),
                    },
                    annotations=dict(annotations[name]) if name in annotations else None,
                ),
            )
