"""Stage settings of distributed training: Kubeflow Trainer v2 (TrainJob) and KubeRay.

Both are off by default. Kubeflow Trainer v2 is the maintained line: the v1 Training Operator
(PyTorchJob, MPIJob) lives on only in its release-1.9 branch, and Kubeflow's documentation calls
it legacy and gives the migration to TrainJob (README, "Distributed training"). Trainer's jobs
run in the team namespaces and go through Kueue like every other team job: a TrainJob is one
Kueue workload, admitted whole (all its nodes at once) or not at all, so training needs teams.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainingSettings(_Settings):
    """Kubeflow Trainer v2 with the platform's ClusterTrainingRuntimes, and an EFS checkpoint
    volume in every team namespace (the examples save and resume from it)."""

    enabled: bool = False
    checkpoint_gib: Annotated[int, Field(ge=1, le=100_000)] = Field(
        100, description="Requested size of each team namespace's checkpoint volume (EFS is elastic)."
    )

    def check_against_stage(self, *, teams: list[str]) -> None:
        if self.enabled and not teams:
            raise ValueError(
                "workloads.training.enabled is true but tenancy.teams is empty; training jobs run in team "
                "namespaces and are admitted by Kueue, so allowed: add tenancy.teams, or disable training"
            )


class RaySettings(_Settings):
    """The KubeRay operator; RayCluster templates per GPU pool are generated for teams to apply
    (``make templates``), not deployed."""

    enabled: bool = False
    head_cpu: Annotated[int, Field(ge=1, le=64)] = 2
    head_memory_gib: Annotated[int, Field(ge=2, le=512)] = 8

    def check_against_stage(self, *, teams: list[str]) -> None:
        if self.enabled and not teams:
            raise ValueError(
                "workloads.ray.enabled is true but tenancy.teams is empty; Ray clusters run in team "
                "namespaces and are admitted by Kueue, so allowed: add tenancy.teams, or disable ray"
            )
