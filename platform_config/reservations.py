"""Stage settings of the GPU developer-server reservations (seed 002), off by default.

They become one ``reservations.policy.Policy`` at synth time, which both Lambdas and the
``gpu-dev`` CLI read, so a request the CLI accepts is one the processor accepts.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.checks import UniqueList, value_of

POOL_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,20}$"
GpuCount = Literal[1, 2, 4, 8, 16]
GPU_COUNTS: tuple[int, ...] = get_args(GpuCount)


class ReservationsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    gpu_pools: UniqueList[Annotated[str, Field(pattern=POOL_NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Managed GPU pools (gpu_pools[].name) developers reserve from; the first is the default",
    )
    allowed_gpu_counts: UniqueList[GpuCount] | None = Field(
        default=None,
        description="GPU counts a reservation may ask for; unset: every count of 1, 2, 4, 8, 16 that a "
        "reservation pool serves (StageConfig.reservation_gpu_counts)",
    )
    max_hours: Annotated[float, Field(gt=0, le=168)] = 24
    default_hours: Annotated[float, Field(gt=0, le=168)] = 4
    max_gpus_per_user: Annotated[int, Field(ge=1, le=64)] = 8
    max_open_per_user: Annotated[int, Field(ge=1, le=20)] = 4
    warning_minutes: UniqueList[Annotated[int, Field(ge=1, le=240)]] = Field(
        default_factory=lambda: [30, 15, 5]
    )
    grace_minutes: Annotated[int, Field(ge=0, le=60)] = 5
    max_queue_hours: Annotated[float, Field(gt=0, le=336)] = 72
    ready_timeout_minutes: Annotated[int, Field(ge=5, le=120)] = 20
    home_storage_gib: Annotated[int, Field(ge=10, le=2000)] = 100

    @model_validator(mode="after")
    def _consistent(self) -> ReservationsSettings:
        if self.enabled and not self.gpu_pools:
            raise ValueError("reservations.gpu_pools is empty: name the managed GPU pools developers reserve")
        if self.default_hours > self.max_hours:
            raise ValueError(
                f"reservations.default_hours {value_of(self, 'default_hours')} is above max_hours "
                f"{value_of(self, 'max_hours')}"
            )
        if self.allowed_gpu_counts is not None and not self.allowed_gpu_counts:
            raise ValueError("reservations.allowed_gpu_counts is empty; allowed values are 1, 2, 4, 8, 16")
        return self
