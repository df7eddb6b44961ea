"""Helm releases from the pins in platform_config/versions.py: one way to turn a pin into an
``eks.HelmChart`` (release named after the chart). Helm never creates the namespace: the platform's namespaces
chart does, labelled with its Pod Security level, before the release (a namespace Helm created
would carry no label, so nothing would be enforced in it)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.versions import HelmChartPin


def pinned_chart(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    pin: HelmChartPin,
    namespace: str,
    values: dict,
    wait: bool,
    timeout: Duration,
) -> eks.HelmChart:
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        repository=pin.repository,
        chart=pin.chart,
        version=pin.version,
        release=pin.chart,
        namespace=namespace,
        create_namespace=False,
        wait=wait,
        timeout=timeout,
        values=values,
    )
