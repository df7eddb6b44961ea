"""Helm values of the training and RDMA operators (checked against each pinned chart's own
values by tests/test_helm_values.py): controllers on the CPU pool, nothing optional turned on."""

from __future__ import annotations

from platform_constructs.operators import CPU_PLACEMENT


def kubeflow_trainer_values() -> dict:
    """The controller on the CPU pool; the chart's JobSet subchart installs JobSet (Trainer
    runs every TrainJob as a JobSet). No built-in runtimes: the platform deploys its own
    (k8s_charts/training.py)."""
    return {"manager": CPU_PLACEMENT, "runtimes": {"defaultEnabled": False}}


def kuberay_operator_values() -> dict:
    return CPU_PLACEMENT


def network_operator_values() -> dict:
    """The operator on the CPU pool. Node Feature Discovery stays off: the NicClusterPolicy
    selects RDMA nodes by the label they join with, not by a discovered PCI vendor; the SR-IOV
    Network Operator stays off: no VFs are configured through it (the SR-IOV device plugin
    hands out the devices the host already has)."""
    return {
        "operator": CPU_PLACEMENT,
        "nfd": {"enabled": False},
        "sriovNetworkOperator": {"enabled": False},
    }
