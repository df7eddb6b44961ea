"""The platform's namespaces, owned by one manifest on the cluster stack.

Charts that put objects into shared namespaces (the token refresh writes Secrets into
``dynamo-system``; later charts install into it) must not each own the Namespace object:
whichever manifest owned it would delete the namespace, and everything in it, when removed.

Every namespace enforces, audits and warns at the Pod Security level that
``platform_config/namespaces.py`` gives it (with the reason for anything below restricted).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from platform_config.namespaces import pod_security, pod_security_labels


class NamespacesChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespaces: list[str],
        labels: Mapping[str, Mapping[str, str]] | None = None,
        annotations: Mapping[str, Mapping[str, str]] | None = None,
        meshed: Collection[str] = (),
    ) -> None:
        """``labels`` and ``annotations`` add metadata to some of the namespaces (Linkerd's
        control-plane labels, its injection annotation); ``meshed`` names those whose pods get
        Linkerd's proxy (and so its privileged init container)."""
        super().__init__(scope, chart_id)
        labels, annotations = labels or {}, annotations or {}
        for name in sorted(set(namespaces)):
            level, _ = pod_security(name, meshed=name in meshed)
            k8s.KubeNamespace(
                self,
                name,
                metadata=k8s.ObjectMeta(
                    name=name,
                    labels={
                        "app.kubernetes.io/part-of": "gpu-platform",
                        **pod_security_labels(level),
                        **labels.get(name, {}),
                    },
                    annotations=dict(annotations[name]) if name in annotations else None,
                ),
            )
