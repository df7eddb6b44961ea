"""Teams, their quotas and Kueue, asserted on the settings model and on the synthesized dev
stage: bad team settings get one message naming the setting, the value and what is allowed;
every team gets its namespaces, quota, limit range, ClusterQueue and LocalQueues; every GPU
pool is a ResourceFlavor that lands work on that pool; Kueue's objects follow its release."""

from __future__ import annotations

import json
import re

import pytest

from k8s_charts.kueue_queues import CPU_MEMORY_FLAVOR, LOCAL_QUEUE
from platform_config import namespaces as ns
from platform_config import versions
from platform_config.contract import DEFAULT_PRIORITY_CLASS_ANNOTATION, GPU_TAINT_KEY, POOL_LABEL, TEAM_LABEL
from platform_config.loader import load_stages, parse_stage
from platform_config.tenancy import MAX_TEAM_NAMESPACES, PLATFORM_NAMESPACES, POOL_NAME, SEED_PRIORITY_CLASSES
from stacks.workloads_stack import network_policies, workload_namespaces
from tests.manifests import manifests_in_template
from tests.test_config import error_of, stage_with
from tests.test_workloads import depends_on, helm_values, objects
from tools.stage_mutants import LAMBDA_PAYLOAD_LIMIT

STAGES = {stage.name: stage for stage in load_stages()}
DEV = STAGES["dev"]
TEAMS = {team.name: team for team in DEV.tenancy.teams}
GPU = "nvidia.com/gpu"


def by_name(synth, kind: str) -> dict[str, dict]:
    return {
        (o["metadata"].get("namespace", "") + "/" if o["metadata"].get("namespace") else "")
        + o["metadata"]["name"]: o
        for o in objects(synth, "dev", kind)
    }


# -- settings ---------------------------------------------------------------------------------


def teams_with(**changes) -> dict:
    """dev's stage file with changes to its teams (``"0.gpu_quota": {...}`` = first team)."""
    return stage_with(**{f"tenancy.teams.{key}": value for key, value in changes.items()})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"0.gpu_quota": {"a100": 2}},
            "tenancy.teams[training].gpu_quota: 'a100' is not a pool of this stage; "
            "allowed: the stage's GPU pools ['g5', 'g6', 'h100-efa', 'l4-shared', 't4']",
        ),
        ({"0.gpu_quota": {"cpu": 2}}, "tenancy.teams[training].gpu_quota: 'cpu' is a CPU pool"),
        (
            {"0.gpu_quota": {"t4": 6}, "1.gpu_quota": {"t4": 4}},
            "tenancy.teams[*].gpu_quota.t4: the teams' quotas add up to 10 GPUs (training 6, inference 4) "
            "but pool t4 can never have more than 8 (max_size 2 x 4 GPUs per g4dn.12xlarge); "
            "allowed: at most 8 in total",
        ),
        (
            {"0.gpu_quota": {"h100-efa": 8}},
            "tenancy.teams[*].gpu_quota.h100-efa: the teams' quotas add up to 10 GPUs (training 8, "
            "inference 2) but pool h100-efa can never have more than 8 (its gpu_limit)",
        ),
        (
            {"1.namespaces": ["team-training"]},
            "tenancy.teams[inference].namespaces: 'team-training' is already team training's",
        ),
        (
            {"2.namespaces": ["monitoring"]},
            "tenancy.teams[agentic].namespaces: 'monitoring' is taken by the platform",
        ),
        (
            {"2.namespaces": ["dynamo-cloud"]},
            "'dynamo-cloud' is taken by registry.token_refresh.namespaces; "
            "allowed: a namespace of the team's own",
        ),
        (
            {"3.namespaces": ["a", "a"]},
            "tenancy.teams[3].namespaces: 'a' appears twice (entries [0] and [1])",
        ),
        (
            {"3.default_priority_class": "urgent"},
            "tenancy.teams[mlops].default_priority_class is 'urgent'; allowed: production-inference, "
            "critical-agents, training, research, development",
        ),
        ({"3.name": "training"}, "tenancy.teams: entries [0] and [3] share the name 'training'"),
        ({"3.gpus": 4}, "gpus"),  # an unknown key, refused rather than ignored
    ],
)
def test_bad_team_settings_name_the_setting_the_value_and_what_is_allowed(changes, expected):
    assert expected in error_of(teams_with(**changes))


def test_bad_priority_classes_are_refused():
    tied = [{"name": "low", "value": 1}, {"name": "also-low", "value": 1}]
    assert "['also-low', 'low'] share the lowest value 1" in error_of(
        stage_with(**{"tenancy.priority_classes": tied})
    )
    assert "'system-top' starts with 'system-'" in error_of(
        stage_with(**{"tenancy.priority_classes": [{"name": "system-top", "value": 5}]})
    )
    too_high = [{"name": "top", "value": 2_000_000_000}]
    assert "less than or equal to 1000000000" in error_of(
        stage_with(**{"tenancy.priority_classes": too_high})
    )


def test_gpu_pool_names_can_never_take_the_cpu_memory_flavor():
    assert not re.fullmatch(POOL_NAME, CPU_MEMORY_FLAVOR)


# -- priority classes -------------------------------------------------------------------------


def test_seed_priority_classes_exist_and_only_the_lowest_is_the_default(synth):
    for stage in synth.stacks:
        classes = [
            o
            for o in manifests_in_template(synth.template(stage, "Workloads"))
            if o["kind"] == "PriorityClass"
        ]
        assert {c["metadata"]["name"]: c["value"] for c in classes} == {
            "production-inference": 1000,
            "critical-agents": 900,
            "training": 500,
            "research": 100,
            "development": 50,
        }, stage
        assert [c["metadata"]["name"] for c in classes if c.get("globalDefault")] == ["development"], stage


def test_workload_priority_classes_mirror_the_priority_classes(synth):
    pods = {name: o["value"] for name, o in by_name(synth, "PriorityClass").items()}
    workloads = {name: o["value"] for name, o in by_name(synth, "WorkloadPriorityClass").items()}
    assert workloads == pods == {c.name: c.value for c in SEED_PRIORITY_CLASSES}


# -- team namespaces --------------------------------------------------------------------------


def test_team_namespaces_enforce_restricted_and_carry_their_team(synth):
    namespaces = by_name(synth, "Namespace")
    for name, team in DEV.tenancy.namespaces.items():
        metadata = namespaces[name]["metadata"]
        for mode in ("enforce", "audit", "warn"):
            assert metadata["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted", (name, mode)
        assert metadata["labels"][TEAM_LABEL] == team.name
        expected = team.default_priority_class or "development"
        assert metadata["annotations"][DEFAULT_PRIORITY_CLASS_ANNOTATION] == expected
    assert {n for n, o in namespaces.items() if TEAM_LABEL in o["metadata"]["labels"]} == set(
        DEV.tenancy.namespaces
    )


def test_each_team_namespace_has_its_quota_and_limit_range(synth):
    quotas, limits = by_name(synth, "ResourceQuota"), by_name(synth, "LimitRange")
    assert (
        {key.split("/")[0] for key in quotas}
        == {key.split("/")[0] for key in limits}
        == set(DEV.tenancy.namespaces)
    )
    for namespace, team in DEV.tenancy.namespaces.items():
        (quota,) = [q for key, q in quotas.items() if key.startswith(f"{namespace}/")]
        assert quota["spec"]["hard"] == {
            "requests.cpu": str(team.cpu),
            "requests.memory": f"{team.memory_gib}Gi",
            # the cohort's total: never below what Kueue may admit to the team by borrowing
            f"requests.{GPU}": "38",
        }
        (limit_range,) = [r for key, r in limits.items() if key.startswith(f"{namespace}/")]
        (item,) = limit_range["spec"]["limits"]
        assert item["type"] == "Container" and set(item["defaultRequest"]) == {"cpu", "memory"}
        assert "memory" in item["default"]
    assert DEV.tenancy.gpus == 38 == 20 + 10 + 8  # seed 003's GPU quotas


# -- Kueue ------------------------------------------------------------------------------------


def gpu_taints(synth) -> list[dict]:
    """The GPU taint as the Karpenter NodePools and the managed GPU node groups set it."""
    pools = [
        o
        for (stage, _), template in synth.templates.items()
        if stage == "dev"
        for o in manifests_in_template(template)
        if o["kind"] == "NodePool"
    ]
    taints = [taint for pool in pools for taint in pool["spec"]["template"]["spec"].get("taints", [])]
    for group in synth.resources("dev", "Nodes", "AWS::EKS::Nodegroup").values():
        # the startup taint is gone before GPU pods may land (tests/test_gpu_ready.py)
        for taint in [t for t in group["Properties"].get("Taints", []) if t["Key"] == GPU_TAINT_KEY]:
            effect = {"NO_SCHEDULE": "NoSchedule"}[taint["Effect"]]
            taints.append({"key": taint["Key"], "value": taint["Value"], "effect": effect})
    return taints


def test_a_flavor_per_gpu_pool_lands_work_on_that_pool_through_its_taint(synth):
    flavors = by_name(synth, "ResourceFlavor")
    pools = set(DEV.gpu_pool_instances())
    assert set(flavors) == pools | {CPU_MEMORY_FLAVOR}
    assert flavors[CPU_MEMORY_FLAVOR]["spec"] == {}
    taints = gpu_taints(synth)
    assert len(taints) == len(pools)  # one per pool, three Karpenter and one managed
    for pool in pools:
        spec = flavors[pool]["spec"]
        assert spec["nodeLabels"] == {POOL_LABEL: pool}
        (toleration,) = spec["tolerations"]
        for taint in taints:  # tolerates exactly the taint every GPU node carries
            assert toleration["key"] == taint["key"] == GPU_TAINT_KEY
            assert toleration["operator"] == "Equal" and toleration["value"] == taint["value"]
            assert toleration["effect"] == taint["effect"]


def test_cluster_queues_hold_each_team_to_its_settings(synth):
    queues = by_name(synth, "ClusterQueue")
    assert set(queues) == set(TEAMS)
    pools = sorted(DEV.gpu_pool_instances())
    for name, team in TEAMS.items():
        spec = queues[name]["spec"]
        assert spec["namespaceSelector"] == {"matchLabels": {TEAM_LABEL: name}}
        cpu_memory, gpus = spec["resourceGroups"]
        for group in spec["resourceGroups"]:  # the CRD's CEL rule, which the schema check skips
            assert all(len(f["resources"]) == len(group["coveredResources"]) for f in group["flavors"])
        assert cpu_memory["coveredResources"] == ["cpu", "memory"]
        (flavor,) = cpu_memory["flavors"]
        assert flavor == {
            "name": CPU_MEMORY_FLAVOR,
            "resources": [
                {"name": "cpu", "nominalQuota": team.cpu, "borrowingLimit": 0},
                {"name": "memory", "nominalQuota": f"{team.memory_gib}Gi", "borrowingLimit": 0},
            ],
        }
        assert gpus["coveredResources"] == [GPU]
        quota = {f["name"]: f["resources"][0]["nominalQuota"] for f in gpus["flavors"]}
        # every GPU pool listed, so the team may borrow any of them; its own pools first
        assert quota == {pool: team.gpu_quota.get(pool, 0) for pool in pools}
        own = [f["name"] for f in gpus["flavors"] if quota[f["name"]]]
        assert [f["name"] for f in gpus["flavors"]][: len(own)] == own
    assert {name: sum(team.gpu_quota.values()) for name, team in TEAMS.items()} == {
        "training": 20,
        "inference": 10,
        "agentic": 8,
        "mlops": 0,
    }


def test_one_cohort_lends_idle_gpus_with_fair_sharing_and_preemption_by_priority(synth):
    queues = by_name(synth, "ClusterQueue").values()
    assert {q["spec"]["cohortName"] for q in queues} == {"teams"}
    for queue in queues:
        assert queue["spec"]["preemption"] == {
            "withinClusterQueue": "LowerPriority",
            "reclaimWithinCohort": "LowerPriority",
        }
        for flavor in queue["spec"]["resourceGroups"][1]["flavors"]:
            assert "borrowingLimit" not in flavor["resources"][0]  # GPUs may be borrowed
    config = json.loads(
        helm_values(synth, "dev", "KueueRelease")["managerConfig"]["controllerManagerConfigYaml"]
    )
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert config["fairSharing"] == {
        "preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
    }
    # Kueue manages the team namespaces only, and there every job, queue name or not.
    assert config["manageJobsWithoutQueueName"] is True
    assert config["managedJobsNamespaceSelector"] == {
        "matchExpressions": [{"key": TEAM_LABEL, "operator": "Exists"}]
    }


def test_every_team_namespace_has_the_default_local_queue_of_its_team(synth):
    local = by_name(synth, "LocalQueue")
    assert set(local) == {f"{ns}/{LOCAL_QUEUE}" for ns in DEV.tenancy.namespaces}
    for namespace, team in DEV.tenancy.namespaces.items():
        assert local[f"{namespace}/{LOCAL_QUEUE}"]["spec"] == {"clusterQueue": team.name}


def test_kueue_runs_the_released_image_on_the_cpu_pool(synth):
    values = helm_values(synth, "dev", "KueueRelease")
    manager = values["controllerManager"]
    assert manager["nodeSelector"] == {POOL_LABEL: "cpu"}
    image = manager["manager"]["image"]
    assert f"{image['repository']}:{image['tag']}" == versions.KUEUE_CONTROLLER.uri
    assert image["repository"].startswith("registry.k8s.io/") and image["pullPolicy"] == "IfNotPresent"
    _, release = next(
        (k, r) for k, r in synth.resources("dev", "Workloads", "Custom::AWSCDK-EKS-HelmChart").items()
        if k.startswith("KueueRelease")
    )  # fmt: skip
    assert release["Properties"]["Namespace"] == ns.KUEUE
    assert release["Properties"]["Version"] == versions.KUEUE.version


def test_kueue_objects_follow_its_release_and_quotas_follow_the_namespaces(synth):
    assert "KueueRelease" in depends_on(synth, "dev", "KueueQueues")  # its CRDs and webhooks first
    assert "Namespaces" in depends_on(synth, "dev", "KueueQueues")
    assert {"Namespaces", "SecretSyncManifest"} <= depends_on(synth, "dev", "KueueRelease")
    assert "Namespaces" in depends_on(synth, "dev", "Tenancy")


def test_stages_with_teams_install_kueue(synth):
    """Every shipped stage has teams (a stage without: tests/test_any_stage.py)."""
    for stage in synth.stacks:
        resources = synth.template(stage, "Workloads")["Resources"]
        has_kueue = any(key.startswith("KueueRelease") for key in resources)
        assert STAGES[stage].tenancy.teams and has_kueue, stage


def test_platform_namespaces_cover_every_namespace_the_stages_create(synth):
    """Until the cluster contract owns the namespace registry, the list teams are kept out of
    must hold every namespace the platform creates, as Namespace objects or Helm releases."""
    created = set()
    for template in synth.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "Custom::AWSCDK-EKS-HelmChart":
                created.add(resource["Properties"]["Namespace"])
        created |= {
            o["metadata"]["name"] for o in manifests_in_template(template) if o["kind"] == "Namespace"
        }
    refresh = {ns for stage in load_stages() for ns in stage.registry.token_refresh.namespaces}
    assert created - set(DEV.tenancy.namespaces) - refresh <= PLATFORM_NAMESPACES


def test_minio_client_teams_must_be_teams_of_the_stage():
    message = error_of(stage_with(**{"workloads.minio.client_teams": ["training", "data"]}))
    assert (
        "workloads.minio.client_teams: 'data' is not a team of this stage; allowed: training, inference"
        in message
    )


# --- default priority class enforcement (ValidatingAdmissionPolicy per team) -----------------


def test_each_team_may_use_its_default_and_lower_classes_but_the_cluster_default_only_its_own():
    allowed = {team.name: DEV.tenancy.team_priority_classes(team) for team in DEV.tenancy.teams}
    assert allowed == {
        "training": ["training", "research"],
        "inference": ["production-inference", "critical-agents", "training", "research"],
        "agentic": ["critical-agents", "training", "research"],
        "mlops": ["development"],
    }


def admitted(policy: dict, pod_spec: dict) -> tuple[bool, str]:
    """The policy's CEL, evaluated as the API server would on a pod (cel-python: the
    expressions use standard CEL only)."""
    import celpy

    env = celpy.Environment()
    (validation,) = policy["spec"]["validations"]
    activation = {"object": celpy.json_to_cel({"spec": pod_spec})}
    allowed = env.program(env.compile(validation["expression"])).evaluate(activation)
    message = env.program(env.compile(validation["messageExpression"])).evaluate(activation)
    return bool(allowed), str(message)


def test_a_team_pod_without_a_priority_class_is_refused_naming_the_class_to_set(synth):
    policies = {o["metadata"]["name"]: o for o in objects(synth, "dev", "ValidatingAdmissionPolicy")}
    bindings = {o["metadata"]["name"]: o for o in objects(synth, "dev", "ValidatingAdmissionPolicyBinding")}
    assert set(policies) == set(bindings) == {f"team-priority-{t}" for t in TEAMS}
    for name, binding in bindings.items():
        team = name.removeprefix("team-priority-")
        assert binding["spec"] == {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {TEAM_LABEL: team}}},
        }
        assert policies[name]["spec"]["failurePolicy"] == "Fail"
        assert policies[name]["spec"]["matchConstraints"]["resourceRules"] == [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
        ]
    training = policies["team-priority-training"]
    # what the Priority admission plugin leaves on a pod that named no class: the cluster default
    ok, message = admitted(training, {"priorityClassName": "development", "priority": 50})
    assert not ok
    assert message == (
        "team training runs pods at priority class training or a lower one (training, research); this pod "
        "has development. Set spec.priorityClassName: training (a pod that names no class gets the "
        "cluster default, development)"
    )
    assert admitted(training, {"priorityClassName": "training"})[0]
    assert admitted(training, {"priorityClassName": "research"})[0]
    assert not admitted(training, {"priorityClassName": "production-inference"})[0]  # above its own
    assert not admitted(training, {})[0]
    assert admitted(policies["team-priority-mlops"], {"priorityClassName": "development"})[0]


def test_the_policies_bind_exactly_the_team_namespaces(synth):
    """A binding's selector is the team label, which only the team's namespaces carry."""
    labelled = {
        o["metadata"]["name"]: o["metadata"].get("labels", {}).get(TEAM_LABEL)
        for o in objects(synth, "dev", "Namespace")
    }
    selected = {ns_name for ns_name, team in labelled.items() if team}
    assert selected == set(DEV.tenancy.namespaces)
    assert all(labelled[n] == team.name for n, team in DEV.tenancy.namespaces.items())


def test_kueue_runs_two_replicas_on_different_cpu_nodes_with_a_disruption_budget(synth):
    """Its webhooks are fail-closed for team pods: one replica down must not stop them."""
    from tools.flow_matrix import CHART_PODS

    manager = helm_values(synth, "dev", "KueueRelease")["controllerManager"]
    assert manager["replicas"] == 2
    assert manager["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    spread = {c["topologyKey"]: c for c in manager["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"
    # the selector must be the labels the chart gives the pods, or the spread selects nothing
    (kueue_pod,) = [p for p in CHART_PODS if p.chart == versions.KUEUE.chart]
    pod_labels = kueue_pod.workload(versions.KUEUE.chart, ns.KUEUE).labels
    for constraint in spread.values():
        assert constraint["labelSelector"] == {"matchLabels": pod_labels}
    assert all(c.min_size >= 2 for c in (s.cpu_nodes for s in load_stages() if s.tenancy.teams))


def test_teams_need_two_cpu_nodes_for_kueue():
    message = error_of(stage_with(**{"cpu_nodes.min_size": 1, "cpu_nodes.desired_size": 1}))
    assert "cpu_nodes.min_size is 1, but tenancy.teams needs two CPU nodes" in message


def _with_team_namespaces(total: int) -> dict:
    """The dev stage (every feature it turns on) with its first team's namespaces padded so the
    stage has ``total`` team namespaces."""
    data = stage_with()
    teams = data["tenancy"]["teams"]
    others = sum(len(t["namespaces"]) for t in teams[1:])
    base = teams[0]["namespaces"][0]
    teams[0]["namespaces"] = [f"{base}{i}" for i in range(total - others)]
    return data


def test_team_namespaces_at_the_limit_fit_the_kubectl_handlers_payload():
    """The limit is measured, not guessed: a full-featured stage at MAX_TEAM_NAMESPACES keeps the
    NetworkPolicies manifest (the one that grows per namespace) under the Lambda payload with
    room for the template's tokens; one more namespace is refused naming the setting."""

    config = parse_stage(_with_team_namespaces(MAX_TEAM_NAMESPACES), "test.yaml")
    manifest = network_policies(config, workload_namespaces(config)).to_json()
    # As the template carries it: a JSON string inside the template's JSON (the mutants' measure),
    # less 16 KiB for tokens the template adds (about 2 KB measured at 64 namespaces).
    assert len(json.dumps(json.dumps(manifest))) <= LAMBDA_PAYLOAD_LIMIT - 16_384
    message = error_of(_with_team_namespaces(MAX_TEAM_NAMESPACES + 1))
    assert f"tenancy.teams[].namespaces: {MAX_TEAM_NAMESPACES + 1} team namespaces in all" in message
    assert f"allowed: at most {MAX_TEAM_NAMESPACES}" in message
