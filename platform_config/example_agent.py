"""Stage setting of the example agent: ``workloads.example_agent``.

Agents (seed 003: CrewAI, LangGraph, AutoGen) are a team's applications, not platform
components: the platform gives the team its namespace, quota and priority class (``tenancy``),
an OpenAI-compatible endpoint (``workloads.llm_servers``) and the egress to it. This setting
deploys one small agent into a team namespace to show, and to prove offline, that path
end to end (``k8s_charts/example_agent.py``). Off by default.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.llm_servers import LlmServerSettings
from platform_config.patterns import NAME_PATTERN
from platform_config.tenancy import DNS_LABEL, TenancySettings

SERVICE_ACCOUNT = "example-agent"


class ExampleAgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = Field(
        None, description="A team namespace (tenancy.teams[].namespaces)"
    )
    llm_server: Annotated[str, Field(pattern=NAME_PATTERN)] | None = Field(
        None, description="The workloads.llm_servers entry the agent calls"
    )
    interval_seconds: Annotated[int, Field(ge=10, le=86_400)] = 300

    @model_validator(mode="after")
    def _complete(self) -> ExampleAgentSettings:
        if self.enabled and not (self.namespace and self.llm_server):
            raise ValueError(
                "workloads.example_agent needs namespace (a team namespace) and llm_server (a "
                "workloads.llm_servers name) when enabled"
            )
        return self

    def server(self, servers: list[LlmServerSettings]) -> LlmServerSettings:
        return next(s for s in servers if s.name == self.llm_server)

    def check_against_stage(self, servers: list[LlmServerSettings], tenancy: TenancySettings) -> None:
        """The namespace is a team's, the server exists, and the server admits the agent (its
        clients name the namespace, or the agent's service account in it)."""
        if not self.enabled:
            return
        if self.namespace not in tenancy.namespaces:
            raise ValueError(
                f"workloads.example_agent.namespace is {self.namespace!r}; allowed: a team namespace "
                f"({', '.join(sorted(tenancy.namespaces)) or 'none: add tenancy.teams'})"
            )
        names = [s.name for s in servers]
        if self.llm_server not in names:
            raise ValueError(
                f"workloads.example_agent.llm_server is {self.llm_server!r}; allowed: a "
                f"workloads.llm_servers name ({', '.join(names) or 'none configured'})"
            )
        admitted = {f"{self.namespace}/*", f"{self.namespace}/{SERVICE_ACCOUNT}"}
        if not admitted & set(self.server(servers).clients):
            raise ValueError(
                f"workloads.llm_servers[{self.llm_server}].clients does not admit the example agent; "
                f"allowed: add '{self.namespace}/{SERVICE_ACCOUNT}' or '{self.namespace}/*' to it"
            )
