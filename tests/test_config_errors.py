"""Config mistakes a new team makes get one message naming the setting, the value and what is
allowed: repeated list entries, misspelled keys, values YAML reads differently than meant,
and values the user never wrote (defaults) are labelled as such."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from platform_config.checks import Unique
from platform_config.loader import SETTINGS_SECTION, load_stages, parse_stage
from platform_config.model import StageConfig, secret_arn_settings
from platform_config.workloads import MAX_DYNAMO_MODELS
from tests.test_config import error_of, stage_with

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _list_settings(model: type[BaseModel], prefix: str = "") -> typing.Iterator[tuple[str, object]]:
    """(dotted setting, its field info) for every list setting, nested blocks included."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        for arg in (annotation, *typing.get_args(annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _list_settings(arg, f"{prefix}{name}.")
        if typing.get_origin(annotation) is list:
            yield f"{prefix}{name}", info
            item = typing.get_args(annotation)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                yield from _list_settings(item, f"{prefix}{name}[].")


# Lists whose repeats are counts, not mistakes: a MIG layout names one profile per instance.
MULTISETS = {
    f"{pools}{entry}.sharing.mig.layout"
    for pools in ("gpu_pools", "karpenter.node_pools")
    for entry in ("", "[]")
}


def test_every_list_setting_refuses_duplicates():
    """One mechanism, on every list, so a list added later can't forget it."""
    lists = dict(_list_settings(StageConfig))
    assert len(lists) >= 20  # the walk reached the nested blocks
    assert set(lists) >= MULTISETS
    missing = [
        name
        for name, info in lists.items()
        if name not in MULTISETS and not any(isinstance(m, Unique) for m in info.metadata)
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("setting", "entry"),
    [
        ("cluster.admin_role_arns", "arn:aws:iam::111111111111:role/PlatformAdmin"),
        ("cluster.endpoint_public_access_cidrs", "203.0.113.0/24"),
        ("registry.token_refresh.namespaces", "gpu-dev"),
        ("availability_zones", "us-west-2a"),
        ("workloads.linkerd.triton_clients", "apps/*"),
        ("reservations.allowed_gpu_counts", 4),
    ],
)
def test_repeated_entry_names_the_setting_and_the_entry(setting, entry):
    data = stage_with()
    *parents, leaf = setting.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = [*node[leaf], entry]
    message = error_of(data)
    assert f"  - {setting}: {entry!r} appears twice (entries [" in message
    assert "allowed: each entry once" in message


def test_repeated_pull_through_rule_is_a_message_not_a_construct_clash():
    """It used to reach the Registry stack and end in a jsii traceback
    ("There is already a Construct with name 'PullThroughEcrPublic'")."""
    rules = stage_with()["registry"]["pull_through_cache"]
    message = error_of(stage_with(**{"registry.pull_through_cache": [*rules, rules[1]]}))
    assert "registry.pull_through_cache: entries [1] and [2] share the prefix 'ecr-public'" in message
    # spelled differently, the same construct id: refused too, with the id it would clash on
    other = {"prefix": "ecr.public", "upstream_registry_url": "quay.io"}
    message = error_of(stage_with(**{"registry.pull_through_cache": [*rules, other]}))
    assert (
        "entries [1] and [2] ('ecr-public' and 'ecr.public') both become the construct id 'EcrPublic'"
        in message
    )


def test_names_that_clash_as_construct_ids():
    message = error_of(stage_with(**{"registry.repositories": ["team/model", "team-model"]}))
    assert "registry.repositories: entries [0] and [1] ('team/model' and 'team-model')" in message
    pools = stage_with()["gpu_pools"]
    message = error_of(stage_with(gpu_pools=[*pools, {**pools[0], "name": "t4-"}]))
    assert "gpu_pools: entries [0] and [1] ('t4' and 't4-') both become the construct id 'T4'" in message


def test_two_managed_pools_sharing_a_name_are_not_blamed_on_karpenter():
    pools = stage_with()["gpu_pools"]
    message = error_of(stage_with(gpu_pools=[*pools, pools[0]]))
    assert "gpu_pools: entries [0] and [1] share the name 't4'; allowed: each name once" in message
    assert "karpenter" not in message


def test_misspelled_key_gets_the_nearest_setting_of_its_block():
    message = error_of(stage_with(**{"gpu_pools.0.instance_typ": "g5.xlarge"}))
    assert "gpu_pools[0].instance_typ: unknown setting; did you mean 'instance_type'?" in message
    assert "allowed here: min_size, desired_size, max_size, name, instance_type" in message
    message = error_of(stage_with(**{"workloads.dynamo.models.0.gpu_pol": "t4"}))
    assert "did you mean 'gpu_pool'?" in message
    message = error_of(stage_with(regoin="us-west-2"))
    assert "regoin: unknown setting; did you mean 'region'?" in message
    message = error_of(stage_with(**{"network.zzzz": 1}))
    assert "did you mean" not in message and "allowed here: vpc_cidr" in message


def test_the_hint_names_a_readme_section_that_exists():
    assert f"README '{SETTINGS_SECTION}'" in error_of(stage_with(**{"network.vpc_cdir": "10.0.0.0/16"}))
    assert re.search(rf"^#+ {re.escape(SETTINGS_SECTION)}$", README, re.M)


def test_a_default_the_message_relies_on_is_labelled():
    data = stage_with(**{"gpu_pools.0.min_size": 3, "gpu_pools.0.max_size": 1})
    del data["gpu_pools"][0]["desired_size"]
    message = error_of(data)
    assert "got min_size=3, desired_size=0 (default), max_size=1" in message
    data = stage_with(**{"workloads.triton.min_replicas": 3})
    assert "triton.max_replicas 2 (default) is below min_replicas 3" in error_of(data)
    data = stage_with()
    del data["karpenter"]["enabled"]
    assert "node_pools are set but enabled is false (default)" in error_of(data)


@pytest.mark.parametrize(("value", "read_as"), [(111111111111, "a number"), (True, "a boolean")])
def test_unquoted_account_says_to_quote_it(value, read_as):
    message = error_of(stage_with(account=value))
    assert (
        f"account: Input should be a valid string (got {value!r}: YAML reads that unquoted as {read_as}"
        in message
    )
    assert 'put the value in quotes as you meant it, e.g. account: "..."' in message


def test_a_huge_value_is_quoted_short():
    message = error_of(stage_with(**{"cluster.admin_role_arns": "x" * 5000}))
    assert "... (5002 characters)" in message and len(message) < 400


def test_more_dynamo_models_than_one_manifest_carries():
    """``make mutants`` found 64 models synthesizing a manifest over the kubectl Lambda's
    payload limit, a failure only the deployment would have reported."""
    model = stage_with()["workloads"]["dynamo"]["models"][0]
    models = [{**model, "name": f"model-{i}"} for i in range(MAX_DYNAMO_MODELS + 1)]
    message = error_of(stage_with(**{"workloads.dynamo.models": models}))
    assert f"workloads.dynamo.models: has 17 entries; allowed: at most {MAX_DYNAMO_MODELS}" in message


def test_an_unquoted_number_in_a_list_gets_the_list_form_of_the_hint():
    message = error_of(stage_with(**{"registry.token_refresh.namespaces": ["gpu-dev", 2024]}))
    assert "registry.token_refresh.namespaces[1]: Input should be a valid string (got 2024" in message
    assert 'e.g. - "...")' in message


def _moved(region: str, account: str = "111111111111", secrets: tuple[str, str] | None = None) -> dict:
    """The dev stage file in another region (its zones moved along); ``secrets``: the
    (region, account) its secret ARNs are rewritten to, else they stay as dev wrote them."""
    data = stage_with(region=region, account=account, availability_zones=[f"{region}a", f"{region}c"])
    data["cluster"]["admin_role_arns"] = [f"arn:aws:iam::{account}:role/PlatformAdmin"]
    if secrets:
        text = yaml.safe_dump(data).replace(
            "secretsmanager:us-west-2:111111111111:", "secretsmanager:{}:{}:".format(*secrets)
        )
        data = yaml.safe_load(text)
    return data


def test_a_stage_copied_to_another_region_keeps_no_secret_from_the_old_one():
    """Secrets Manager is regional: the secret sync reads through the stage's region and a
    pull-through cache rule takes only its own account's and region's secrets. Copied dev.yaml
    to ap-northeast-1 with its us-west-2 ARNs: one message, naming the setting and the value."""
    message = error_of(_moved("ap-northeast-1"))
    assert "registry.pull_through_cache[0].credential_secret_arn" in message
    assert "arn:aws:secretsmanager:us-west-2:111111111111:secret:ecr-pullthroughcache/ghcr-AbCdEf" in message
    assert "allowed: a secret in account 111111111111, region ap-northeast-1" in message
    parse_stage(_moved("ap-northeast-1", secrets=("ap-northeast-1", "111111111111")), "test.yaml")


def test_a_synced_secret_in_another_region_is_refused_and_in_another_account_is_not():
    data = _moved("ap-northeast-1", secrets=("ap-northeast-1", "111111111111"))
    data["workloads"]["observability"]["grafana_admin_secret_arn"] = (
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:gpu-platform/dev/grafana-admin-AbCdEf"
    )
    message = error_of(data)
    assert "workloads.observability.grafana_admin_secret_arn" in message
    assert "is in region eu-west-1" in message and "allowed: a secret in region ap-northeast-1" in message
    # another account in the stage's region: a resource policy can share it, so it is the user's call
    data["workloads"]["observability"]["grafana_admin_secret_arn"] = (
        "arn:aws:secretsmanager:ap-northeast-1:999999999999:secret:gpu-platform/dev/grafana-admin-AbCdEf"
    )
    parse_stage(data, "test.yaml")


def test_a_pull_through_secret_from_another_account_is_refused():
    data = stage_with()
    data["registry"]["pull_through_cache"][0]["credential_secret_arn"] = (
        "arn:aws:secretsmanager:us-west-2:999999999999:secret:ecr-pullthroughcache/ghcr-AbCdEf"
    )
    message = error_of(data)
    assert "registry.pull_through_cache[0].credential_secret_arn" in message
    assert "is in account 999999999999, region us-west-2" in message


def test_every_secret_setting_is_checked():
    """The walk finds every ``*secret_arn`` setting of a stage, nested blocks and lists included."""
    found = dict(secret_arn_settings(load_stages()[0]))
    assert set(found) == {
        "registry.pull_through_cache[0].credential_secret_arn",
        "workloads.observability.grafana_admin_secret_arn",
        "workloads.dynamo.hf_token_secret_arn",
        "workloads.minio.root_secret_arn",
        "workloads.llm_servers[1].hf_token_secret_arn",  # the first server is public: no token
    }
