"""The OpenAI-compatible model servers (``workloads.llm_servers``) and the agentic team's example
agent (``workloads.example_agent``): their settings refuse what could not run with one message;
the servers run vLLM or TGI with weights on the EFS model cache, a gated model's token from the
secret sync and probes sized for model loads; and on the synthesized dev stage the agent
reaches exactly the server that lists it, which nobody else reaches."""

from __future__ import annotations

from types import SimpleNamespace

import cdk8s
import pytest

from k8s_charts.example_agent import ExampleAgentChart
from k8s_charts.llm_servers import MODEL_CACHE_CLAIM, PORT, LlmServersChart
from platform_config.contract import GPU_RESOURCE, POOL_LABEL
from platform_config.llm_servers import LlmEngine, LlmServerSettings
from platform_config.loader import load_stages
from platform_config.namespaces import LLM_SERVING, PodSecurity, pod_security
from stacks.workloads_stack import llm_services, secret_targets
from tests.test_config import error_of, stage_with
from tests.test_workloads import depends_on, objects
from tools.flow_matrix import StageFlows, stage_flows

STAGES = {stage.name: stage for stage in load_stages()}
DEV = STAGES["dev"]
VLLM, TGI = DEV.workloads.llm_servers


def server(**changes) -> LlmServerSettings:
    return VLLM.model_copy(update=changes)


def rendered(*servers: LlmServerSettings) -> dict[tuple[str, str], dict]:
    chart = LlmServersChart(
        cdk8s.App(),
        "llm",
        servers=list(servers),
        capacity=DEV.gpu_pool_capacity(),
        namespace=LLM_SERVING,
        efs_storage_class="efs",
    )
    return {(o["kind"], o["metadata"]["name"]): o for o in chart.to_json()}


def container(objects_: dict, name: str) -> dict:
    (main,) = objects_[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
    return main


# -- settings ---------------------------------------------------------------------------------


def llm(index: int, **changes) -> dict:
    data = stage_with()
    entry = data["workloads"]["llm_servers"][index]
    entry.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (llm(0, gpu_pool="a100"), "workloads.llm_servers[qwen-vllm].gpu_pool is 'a100'; allowed:"),
        (
            llm(0, gpus=8, gpu_pool="h100-efa"),
            "workloads.llm_servers[qwen-vllm].gpus is 8 but pool h100-efa's p5.4xlarge has 1",
        ),
        (
            llm(0, gpus=2),
            "workloads.llm_servers[qwen-vllm].gpus is 2 but pool l4-shared shares its GPUs (time-slicing)",
        ),
        (
            llm(0, gpu_pool="t4"),
            "workloads.llm_servers[qwen-vllm].gpu_pool is 't4', which reservations.gpu_pools ['t4'] reserves",
        ),
        (llm(0, engine="ollama"), "workloads.llm_servers[0].engine"),
        (llm(0, clients=[]), "workloads.llm_servers[0].clients"),
        (llm(1, name="qwen-vllm"), "share the name 'qwen-vllm'"),
        (
            stage_with(**{"workloads.example_agent.namespace": "team-mlflow"}),
            "workloads.example_agent.namespace is 'team-mlflow'; allowed: a team namespace (team-agentic,",
        ),
        (
            stage_with(**{"workloads.example_agent.llm_server": "qwen-tgi"}),
            "workloads.llm_servers[qwen-tgi].clients does not admit the example agent; allowed: add "
            "'team-agentic/example-agent' or 'team-agentic/*' to it",
        ),
        (
            stage_with(**{"workloads.example_agent.llm_server": "mistral"}),
            "workloads.example_agent.llm_server is 'mistral'; allowed: a workloads.llm_servers name "
            "(qwen-vllm, qwen-tgi)",
        ),
        (
            stage_with(**{"workloads.example_agent": {"enabled": True}}),
            "workloads.example_agent needs namespace (a team namespace) and llm_server",
        ),
    ],
)  # fmt: skip
def test_settings_that_could_not_run_get_one_message(data, expected):
    assert expected in error_of(data)


def test_off_by_default_and_on_in_every_shipped_stage():
    from platform_config.workloads import WorkloadsSettings

    default = WorkloadsSettings()
    assert default.llm_servers == [] and not default.example_agent.enabled and not default.any_enabled
    assert [s.name for s in DEV.workloads.llm_servers] == ["qwen-vllm", "qwen-tgi"]
    assert {s.engine for s in DEV.workloads.llm_servers} == set(LlmEngine)
    assert all(stage.workloads.llm_servers for stage in STAGES.values())


# -- the chart --------------------------------------------------------------------------------


def test_each_engine_serves_the_openai_api_on_one_port_with_its_tensor_parallel_degree():
    objects_ = rendered(server(gpus=2), TGI.model_copy(update={"gpus": 4}))
    vllm, tgi = container(objects_, "qwen-vllm"), container(objects_, "qwen-tgi")
    assert vllm["image"].startswith("docker.io/vllm/vllm-openai:v")
    assert vllm["command"] == ["vllm", "serve"]
    assert vllm["args"][:1] == ["Qwen/Qwen3-0.6B"]
    assert vllm["args"][vllm["args"].index("--tensor-parallel-size") + 1] == "2"
    assert tgi["image"].startswith("ghcr.io/huggingface/text-generation-inference:")
    assert tgi["args"][tgi["args"].index("--model-id") + 1] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert tgi["args"][tgi["args"].index("--num-shard") + 1] == "4"
    for main, gpus in ((vllm, 2), (tgi, 4)):
        assert main["args"][main["args"].index("--port") + 1] == str(PORT)
        assert (
            main["resources"]["limits"][GPU_RESOURCE] == gpus == main["resources"]["requests"][GPU_RESOURCE]
        )
    service = objects_[("Service", "qwen-vllm")]["spec"]
    assert service["ports"] == [{"name": "http", "port": PORT, "targetPort": "http"}]
    assert "type" not in service  # ClusterIP: no load balancer


def test_a_server_requests_what_its_pool_advertises():
    """Requests and limits name the pool's unit from the one capacity function: a whole GPU on a
    time-sliced pool's replica is ``nvidia.com/gpu``, a MIG device under the mixed strategy is
    ``nvidia.com/mig-<profile>``."""
    mig = SimpleNamespace(unit="nvidia.com/mig-3g.40gb")
    chart = LlmServersChart(
        cdk8s.App(),
        "llm",
        servers=[VLLM],
        capacity={VLLM.gpu_pool: mig},
        namespace=LLM_SERVING,
        efs_storage_class="efs",
    )
    objects_ = {(o["kind"], o["metadata"]["name"]): o for o in chart.to_json()}
    limits = container(objects_, "qwen-vllm")["resources"]["limits"]
    assert [key for key in limits if "/" in key] == ["nvidia.com/mig-3g.40gb"]
    limits = container(rendered(VLLM), "qwen-vllm")["resources"]["limits"]
    assert [key for key in limits if "/" in key] == [DEV.gpu_pool_capacity()[VLLM.gpu_pool].unit]


def test_weights_go_to_the_efs_model_cache_and_the_token_comes_from_the_secret_sync():
    objects_ = rendered(VLLM, TGI)
    claim = objects_[("PersistentVolumeClaim", MODEL_CACHE_CLAIM)]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"] and claim["storageClassName"] == "efs"
    for name in ("qwen-vllm", "qwen-tgi"):
        main = container(objects_, name)
        env = {e["name"]: e for e in main["env"]}
        assert env["HF_HOME"]["value"] == "/models/hf"
        assert {"name": "model-cache", "mountPath": "/models"} in main["volumeMounts"]
        pod = objects_[("Deployment", name)]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == 1000  # the EFS access point's owner
        assert pod["nodeSelector"] == {POOL_LABEL: VLLM.gpu_pool}
    # only the gated-model server gets a token, from its own synced Secret
    assert "HF_TOKEN" not in {e["name"] for e in container(objects_, "qwen-vllm")["env"]}
    token = {e["name"]: e for e in container(objects_, "qwen-tgi")["env"]}["HF_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hf-token-qwen-tgi", "key": "HF_TOKEN"}
    assert {"namespace": LLM_SERVING, "name": "hf-token-qwen-tgi", "arn": TGI.hf_token_secret_arn} in (
        secret_targets(DEV)
    )
    assert not any(t["name"] == "hf-token-qwen-vllm" for t in secret_targets(DEV))


@pytest.mark.parametrize("minutes", [5, 30, 240])
def test_the_startup_probe_waits_for_the_model_load(minutes):
    main = container(rendered(server(startup_minutes=minutes)), "qwen-vllm")
    startup = main["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] == minutes * 60
    assert main["livenessProbe"]["httpGet"]["path"] == main["readinessProbe"]["httpGet"]["path"] == "/health"


def test_every_server_is_scraped_and_has_a_fixed_replica_count():
    objects_ = rendered(server(replicas=3))
    assert objects_[("Deployment", "qwen-vllm")]["spec"]["replicas"] == 3
    monitor = objects_[("ServiceMonitor", "qwen-vllm")]["spec"]
    assert monitor["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    assert not [key for key in objects_ if key[0] == "HorizontalPodAutoscaler"]


def test_llm_serving_is_restricted_unless_meshed():
    assert pod_security(LLM_SERVING) == (PodSecurity.RESTRICTED, "")
    assert pod_security(LLM_SERVING, meshed=True)[0] is PodSecurity.PRIVILEGED


# -- mesh policy ------------------------------------------------------------------------------


def test_team_clients_cannot_join_the_mesh_so_their_server_admits_cluster_callers():
    """A team namespace is restricted (no linkerd-init), so a server with a team client is
    guarded by NetworkPolicy; a server whose clients are meshed apps is deny by default."""
    dev = {s.name: s for s in llm_services(DEV)}
    assert dev["qwen-vllm"].access_policy == "cluster-unauthenticated"
    assert dev["qwen-vllm"].scrapers == ("monitoring/kube-prometheus-stack-prometheus",)
    (staging,) = llm_services(STAGES["staging"])
    assert staging.access_policy == "deny"
    assert staging.clients == ("apps/inference-gateway",)


def test_the_mesh_policy_objects_carry_the_access_policy(synth):
    servers = {o["metadata"]["name"]: o["spec"] for o in objects(synth, "dev", "Server")}
    assert servers["qwen-vllm-http"]["accessPolicy"] == "cluster-unauthenticated"
    assert servers["qwen-vllm-http"]["port"] == PORT
    assert servers["triton-http"]["accessPolicy"] == "deny"
    staging = {o["metadata"]["name"]: o["spec"] for o in objects(synth, "staging", "Server")}
    assert staging["llama-vllm-http"]["accessPolicy"] == "deny"


# -- the example agent ------------------------------------------------------------------------


def test_the_agent_runs_as_the_team_at_its_priority_calling_the_server():
    chart = ExampleAgentChart(
        cdk8s.App(), "agent", namespace="team-agentic", server=VLLM, server_namespace=LLM_SERVING,
        priority_class="critical-agents", interval_seconds=60,
    )  # fmt: skip
    objects_ = {o["kind"]: o for o in chart.to_json()}
    pod = objects_["Deployment"]["spec"]["template"]
    assert pod["spec"]["priorityClassName"] == "critical-agents"
    assert pod["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] == "critical-agents"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["OPENAI_BASE_URL"] == "http://qwen-vllm.llm-serving.svc.cluster.local:8000/v1"
    assert env["MODEL"] == "Qwen/Qwen3-0.6B"
    assert "/chat/completions" in objects_["ConfigMap"]["data"]["agent.py"]
    assert pod["spec"]["serviceAccountName"] == "example-agent"


def test_the_agent_waits_for_its_server_and_its_queue(synth):
    assert {"LlmServers", "KueueQueues"} <= depends_on(synth, "dev", "ExampleAgent")
    (deployment,) = [
        o for o in objects(synth, "dev", "Deployment") if o["metadata"]["name"] == "example-agent"
    ]
    assert deployment["metadata"]["namespace"] == "team-agentic"


# -- reachability on the synthesized dev stage ------------------------------------------------


@pytest.fixture(scope="module")
def flows(synth) -> StageFlows:
    return stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == "dev"})


def test_the_agent_reaches_its_server_and_nothing_else(flows):
    c = flows.cluster
    agent, vllm, tgi = (c.workload(i) for i in ("team-agentic/example-agent", "llm-serving/qwen-vllm",
                                                 "llm-serving/qwen-tgi"))  # fmt: skip
    assert c.allowed(agent, vllm, PORT)
    assert not c.allowed(agent, tgi, PORT)  # qwen-tgi does not list team-agentic
    assert not c.allowed(agent, flows.endpoint("internet"), 443)
    assert not c.allowed(agent, c.workload("nats/nats"), 4222)


def test_only_listed_namespaces_and_prometheus_reach_a_server(flows):
    c = flows.cluster
    vllm, tgi = c.workload("llm-serving/qwen-vllm"), c.workload("llm-serving/qwen-tgi")
    assert c.allowed(c.workload("team-inference/team-job"), vllm, PORT)
    assert c.allowed(c.workload("team-inference/team-job"), tgi, PORT)
    assert not c.allowed(c.workload("team-training/team-job"), vllm, PORT)
    assert not c.allowed(c.workload("gpu-dev/dev-pod"), vllm, PORT)
    assert c.allowed(c.workload("monitoring/prometheus"), vllm, PORT)
    assert not c.allowed(c.workload("monitoring/grafana"), vllm, PORT)  # the scrape rule is Prometheus's
    # servers download weights from Hugging Face, and reach no platform service
    assert c.allowed(vllm, flows.endpoint("internet"), 443)
    assert not c.allowed(vllm, flows.endpoint("internet"), 80)
    assert not c.allowed(vllm, c.workload("minio/minio"), 9000)
