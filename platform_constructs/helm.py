"""Every Helm-installed operator follows one pattern, node-level ones (Karpenter, the device
plugins) and the Kubernetes layer's alike:

* ``platform_constructs/operators.py`` describes it: one function per operator returns a
  :class:`Release`, everything about the install in one value -- the pin (from
  ``platform_config/versions.py``), the namespace (from the contract, ``platform_config/
  namespaces.py``), the values (typed settings in, the chart's values out) and whether Helm
  waits for its workloads to be ready;
* :func:`install` is the one place an ``eks.HelmChart`` is made from it: the release is
  named after the chart, and Helm never creates the namespace (the platform's namespaces
  chart does, labelled with its Pod Security level, before the release: a namespace Helm
  created would carry no label, so nothing would be enforced in it).

What a release must follow (the nodes it runs on, its namespace and NetworkPolicies, the
operators whose CRDs or webhooks it needs) is the caller's: the stack that owns the release
adds those dependencies, since they are other constructs of that stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.versions import HelmChartPin


@dataclass(frozen=True)
class Release:
    pin: HelmChartPin
    namespace: str
    values: dict = field(default_factory=dict)
    # True: the deploy waits until the release's Deployments are ready (what follows may call
    # its webhooks or use its CRDs). False only for DaemonSets of nodes that may not exist yet
    # (scale-to-zero GPU pools): Helm would wait for pods that cannot be scheduled.
    wait: bool = True
    timeout_minutes: int = 15


def install(scope: Construct, construct_id: str, *, cluster: eks.ICluster, release: Release) -> eks.HelmChart:
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        repository=release.pin.repository,
        chart=release.pin.chart,
        version=release.pin.version,
        release=release.pin.chart,
        namespace=release.namespace,
        create_namespace=False,
        wait=release.wait,
        timeout=_minutes(release.timeout_minutes),
        values=release.values,
    )


@cache
def _minutes(minutes: int) -> Duration:
    """One ``Duration`` per timeout: each ``Duration.minutes`` is a round trip to the jsii
    kernel, and a stage's dozens of releases share three timeouts (a Duration is immutable)."""
    return Duration.minutes(minutes)
