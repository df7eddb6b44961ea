"""The API's request and response bodies (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# PostgreSQL text cannot hold NUL; every free-text field refuses it with a 422.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=4096)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
Image = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,511}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignedRequest(Strict):
    """A SigV4-signed ``sts:GetCallerIdentity`` request, as the client would have sent it."""

    method: Annotated[str, StringConstraints(max_length=16)] = "POST"
    url: Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=512)]
    headers: dict[Annotated[str, StringConstraints(max_length=128)], Text]
    body: Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=1024)]


class Token(BaseModel):
    api_key: str = Field(description="Shown once; send it as `Authorization: Bearer <key>`.")
    principal: str
    expires_at: datetime


class JobRequest(Strict):
    image: Image = Field(description="From one of the stage's allowed registries.")
    command: list[Text] = Field(default_factory=list, max_length=64)
    args: list[Text] = Field(default_factory=list, max_length=256)
    env: dict[EnvName, Text] = Field(default_factory=dict, max_length=128)
    gpus: int = Field(ge=1, le=1024)
    gpu_type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")] | None = Field(
        default=None, description="A GPU type (e.g. H100); give this or `pool`."
    )
    pool: Name | None = Field(default=None, description="A GPU pool; give this or `gpu_type`.")
    team: Name
    max_runtime_minutes: int | None = Field(
        default=None, ge=1, description="Defaults to, and may not exceed, the stage's maximum."
    )


class Status(StrEnum):
    queued = "queued"
    dispatched = "dispatched"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    dead_lettered = "dead_lettered"


ACTIVE = (Status.queued, Status.dispatched, Status.running)


class Job(BaseModel):
    id: UUID
    owner: str
    team: str
    namespace: str
    pool: str
    gpus: int
    status: Status
    reason: str | None
    kubernetes_job: str
    cancel_requested: bool
    attempts: int
    request: JobRequest
    created_at: datetime
    updated_at: datetime
    dispatched_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class Health(BaseModel):
    status: str
    database: str
    queue: str
    kubernetes: str
