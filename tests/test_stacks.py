"""What matters in each stack, asserted on the synthesized templates of every stage."""

from __future__ import annotations

import json

import pytest

from platform_config import gpu_catalog, versions
from platform_config.loader import load_stages
from platform_config.versions import KARPENTER, KARPENTER_AMI_ALIAS
from tests.manifests import render

STAGES = {stage.name: stage for stage in load_stages()}
STATEFUL_TYPES = (
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
)


def only(resources: dict[str, dict]) -> dict:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))


def literal(value) -> str:
    """A CloudFormation string with every intrinsic shown as ``<token>``."""
    return render(value, lambda _intrinsic: "<token>")


# --- network -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_vpc_spans_the_stage_azs_with_nat_per_tier(synth, stage):
    config = STAGES[stage]
    subnets = synth.resources(stage, "Network", "AWS::EC2::Subnet").values()
    assert sorted({s["Properties"]["AvailabilityZone"] for s in subnets}) == config.availability_zones
    assert len(subnets) == 2 * len(config.availability_zones)
    nat = synth.resources(stage, "Network", "AWS::EC2::NatGateway")
    assert len(nat) == {"dev": 1, "staging": 2, "prod": 3}[stage]


@pytest.mark.parametrize("stage", STAGES)
def test_endpoints_keep_image_pulls_and_s3_off_nat(synth, stage):
    endpoints = synth.resources(stage, "Network", "AWS::EC2::VPCEndpoint").values()
    names = sorted(literal(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1] for e in endpoints)
    assert names == ["api", "dkr", "logs", "s3", "sts"]
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"]
    assert [literal(e["Properties"]["ServiceName"]).endswith(".s3") for e in gateway] == [True]
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert all(e["Properties"]["PrivateDnsEnabled"] for e in interface)


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_and_subnet_discovery_tags(synth, stage):
    flow_log = only(synth.resources(stage, "Network", "AWS::EC2::FlowLog"))
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    for subnet in synth.resources(stage, "Network", "AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        if tags["aws-cdk:subnet-type"] == "Public":
            assert tags["kubernetes.io/role/elb"] == "1"
        else:
            assert tags["kubernetes.io/role/internal-elb"] == "1"
            assert tags["karpenter.sh/discovery"] == f"gpu-platform-{stage}"


def test_efa_security_group_admits_only_its_members(synth):
    template = synth.template("prod", "Network")
    (sg_id,) = [
        k for k in synth.resources("prod", "Network", "AWS::EC2::SecurityGroup") if k.startswith("Efa")
    ]
    ingress = only(synth.resources("prod", "Network", "AWS::EC2::SecurityGroupIngress"))["Properties"]
    egress = only(synth.resources("prod", "Network", "AWS::EC2::SecurityGroupEgress"))["Properties"]
    for rule in (ingress, egress):
        assert rule["IpProtocol"] == "-1"
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    assert "SecurityGroupEgress" not in template["Resources"][sg_id]["Properties"] or all(
        r.get("CidrIp") != "0.0.0.0/0"
        for r in template["Resources"][sg_id]["Properties"]["SecurityGroupEgress"]
    )


# --- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_repositories_scanned_immutable_kms_and_pruned(synth, stage):
    repos = synth.resources(stage, "Registry", "AWS::ECR::Repository")
    assert sorted(r["Properties"]["RepositoryName"] for r in repos.values()) == sorted(
        f"{stage}/{name}" for name in STAGES[stage].registry.repositories
    )
    for repo in repos.values():
        props = repo["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}


def test_pull_through_cache_references_secret_by_arn_only(synth):
    rules = synth.resources("dev", "Registry", "AWS::ECR::PullThroughCacheRule")
    by_upstream = {r["Properties"]["UpstreamRegistryUrl"]: r["Properties"] for r in rules.values()}
    assert by_upstream["ghcr.io"]["CredentialArn"].startswith(
        "arn:aws:secretsmanager:us-west-2:111111111111:secret:ecr-pullthroughcache/"
    )
    assert by_upstream["ghcr.io"]["EcrRepositoryPrefix"] == "dev-ghcr"
    assert "CredentialArn" not in by_upstream["public.ecr.aws"]
    assert not synth.resources("dev", "Registry", "AWS::SecretsManager::Secret")


# --- storage -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_efs_encrypted_elastic_in_private_subnets(synth, stage):
    fs = only(synth.resources(stage, "Storage", "AWS::EFS::FileSystem"))["Properties"]
    assert fs["Encrypted"] is True and "KmsKeyId" in fs
    assert fs["ThroughputMode"] == "elastic"
    assert fs["BackupPolicy"] == {"Status": "ENABLED"}
    mounts = synth.resources(stage, "Storage", "AWS::EFS::MountTarget").values()
    assert len(mounts) == len(STAGES[stage].availability_zones)
    assert all("PrivateSubnet" in json.dumps(m["Properties"]["SubnetId"]) for m in mounts)
    paths = sorted(
        ap["Properties"]["RootDirectory"]["Path"]
        for ap in synth.resources(stage, "Storage", "AWS::EFS::AccessPoint").values()
    )
    assert paths == ["/model-cache", "/workspace"]


@pytest.mark.parametrize("stage", STAGES)
def test_model_bucket_versioned_encrypted_tls_only_private(synth, stage):
    buckets = synth.resources(stage, "Storage", "AWS::S3::Bucket")
    model = next(b["Properties"] for k, b in buckets.items() if k.startswith("ModelBucket"))
    assert model["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = model["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert model["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in synth.resources(stage, "Storage", "AWS::S3::BucketPolicy").values()
    ]
    denies = [s for doc in policies for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_stateful_resources_retained_where_data_is_kept(synth, stage):
    for stack in ("Registry", "Storage"):
        for resource_type in STATEFUL_TYPES:
            for logical_id, resource in synth.resources(stage, stack, resource_type).items():
                assert resource.get("DeletionPolicy") == "Retain", (stage, logical_id)
                assert resource.get("UpdateReplacePolicy") == "Retain", (stage, logical_id)
    assert not synth.resources(stage, "Storage", "Custom::S3AutoDeleteObjects")


def test_dev_cleans_up_its_data(synth):
    for logical_id, resource in synth.resources("dev", "Storage", "AWS::EFS::FileSystem").items():
        assert resource["DeletionPolicy"] == "Delete", logical_id
    assert (
        len(synth.resources("dev", "Storage", "Custom::S3AutoDeleteObjects")) == 4
    )  # logs, models, backups, MLflow


def test_prod_stacks_are_termination_protected(synth):
    for stack in synth.stacks["prod"]:
        assert synth.termination_protection[("prod", stack)] is True, stack
    assert not any(synth.termination_protection[("dev", stack)] for stack in synth.stacks["dev"])


STABLE_LOGICAL_IDS = {
    "Storage": [
        "StorageKeyB6649B55",
        "SharedFileSystemAD4B2CC6",
        "AccessLogBucketDA470295",
        "ModelBucketB33D855B",
    ],
    "Registry": [
        "RegistryKeyDD63DA09",
        "RepoDynamoOperatorEA5EF3E7",
        "RepoDynamoVllmRuntime77B6C30C",
        "RepoTritonTritonserver6758B033",
        "RepoGpuDevDevServerEBBD8223",
    ],
    "Cluster": ["SecretsKey317DCF94", "ClusterEB0386A7"],
}


@pytest.mark.parametrize("stage", STAGES)
def test_stateful_logical_ids_are_stable(synth, stage):
    """A changed logical id replaces the data store on the next deploy: change it deliberately."""
    for stack, logical_ids in STABLE_LOGICAL_IDS.items():
        resources = synth.template(stage, stack)["Resources"]
        for logical_id in logical_ids:
            assert logical_id in resources, (stage, stack, logical_id)
    if STAGES[stage].reservations.enabled:
        assert "ReservationsTableD1629A9C" in synth.template(stage, "Storage")["Resources"]


# --- cluster -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_version_encryption_logging(synth, stage):
    cluster = only(synth.resources(stage, "Cluster", "AWS::EKS::Cluster"))["Properties"]
    assert cluster["Version"] == "1.35"
    assert cluster["Name"] == f"gpu-platform-{stage}"
    assert cluster["EncryptionConfig"][0]["Resources"] == ["secrets"]
    assert cluster["ComputeConfig"] == {"Enabled": False}  # node groups, not Auto Mode
    assert cluster["AccessConfig"]["AuthenticationMode"] == "API"
    logged = [t["Type"] for t in cluster["Logging"]["ClusterLogging"]["EnabledTypes"]]
    assert logged == STAGES[stage].cluster.control_plane_logs


def test_endpoint_access_follows_stage(synth):
    dev = only(synth.resources("dev", "Cluster", "AWS::EKS::Cluster"))["Properties"]["ResourcesVpcConfig"]
    assert dev["EndpointPrivateAccess"] and dev["EndpointPublicAccess"]
    assert dev["PublicAccessCidrs"] == ["203.0.113.0/24"]
    prod = only(synth.resources("prod", "Cluster", "AWS::EKS::Cluster"))["Properties"]["ResourcesVpcConfig"]
    assert prod["EndpointPrivateAccess"] is True and prod["EndpointPublicAccess"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_admin_roles_get_cluster_admin_access_entries(synth, stage):
    entries = synth.resources(stage, "Cluster", "AWS::EKS::AccessEntry").values()
    admin = [
        e["Properties"]
        for e in entries
        if e["Properties"]["PrincipalArn"] in STAGES[stage].cluster.admin_role_arns
    ]
    assert len(admin) == len(STAGES[stage].cluster.admin_role_arns) == 1
    (policy,) = admin[0]["AccessPolicies"]
    assert literal(policy["PolicyArn"]).endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert policy["AccessScope"] == {"Type": "cluster"}


@pytest.mark.parametrize("stage", STAGES)
def test_managed_addons_with_iam(synth, stage):
    addons = {
        a["Properties"]["AddonName"]: a["Properties"]
        for a in synth.resources(stage, "Cluster", "AWS::EKS::Addon").values()
    }
    assert sorted(addons) == sorted(versions.EKS_ADDONS)  # the seven names: tests/test_versions.py
    assert json.loads(addons["vpc-cni"]["ConfigurationValues"]) == {"enableNetworkPolicy": "true"}
    assert "ServiceAccountRoleArn" in addons["vpc-cni"]
    associations = {
        a["Properties"]["ServiceAccount"]: a["Properties"]["Namespace"]
        for a in synth.resources(stage, "Cluster", "AWS::EKS::PodIdentityAssociation").values()
    }
    assert associations == {"ebs-csi-controller-sa": "kube-system", "efs-csi-controller-sa": "kube-system"}
    assert synth.resources(stage, "Cluster", "AWS::IAM::OIDCProvider")


def _cfn_json_for_role(synth, stage: str, stack: str, role_prefix: str) -> str:
    roles = synth.resources(stage, stack, "AWS::IAM::Role")
    (role,) = [r for k, r in roles.items() if k.startswith(role_prefix)]
    statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    json_id = statement["Condition"]["StringEquals"]["Fn::GetAtt"][0]
    return literal(synth.template(stage, stack)["Resources"][json_id]["Properties"]["Value"])


def test_irsa_trust_names_the_exact_service_account(synth):
    token_refresh = json.loads(
        _cfn_json_for_role(synth, "dev", "Cluster", "EcrTokenRefreshServiceAccountRole")
    )
    assert token_refresh == {
        "<token>:aud": "sts.amazonaws.com",
        "<token>:sub": "system:serviceaccount:ecr-token-refresh:ecr-token-refresh",
    }
    cni = json.loads(_cfn_json_for_role(synth, "dev", "Cluster", "AddonsVpcCniRole"))
    assert cni["<token>:sub"] == "system:serviceaccount:kube-system:aws-node"


def test_token_refresh_role_may_only_get_tokens_and_push_pull_repos(synth):
    policies = synth.resources("dev", "Cluster", "AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("EcrTokenRefresh")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0] == {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    assert all(a.startswith("ecr:") for a in statements[1]["Action"])
    assert len(statements[1]["Resource"]) == 4
    assert all("Registry:ExportsOutput" in r["Fn::ImportValue"] for r in statements[1]["Resource"])
    assert len(statements) == 2


def test_kubectl_handler_runs_in_private_subnets(synth):
    functions = synth.resources("prod", "Cluster", "AWS::Lambda::Function")
    handler = next(f for k, f in functions.items() if k.startswith("ClusterKubectlProviderHandler"))
    assert all("PrivateSubnet" in json.dumps(s) for s in handler["Properties"]["VpcConfig"]["SubnetIds"])


# --- nodes ---------------------------------------------------------------------------------


def _nodegroups(synth, stage: str) -> dict[str, dict]:
    groups = synth.resources(stage, "Nodes", "AWS::EKS::Nodegroup").values()
    return {g["Properties"]["Labels"]["gpuplatform.io/pool"]: g["Properties"] for g in groups}


def _launch_template(synth, stage: str, group: dict) -> dict:
    logical_id = group["LaunchTemplate"]["Id"]["Ref"]
    return synth.template(stage, "Nodes")["Resources"][logical_id]["Properties"]["LaunchTemplateData"]


@pytest.mark.parametrize("stage", STAGES)
def test_gpu_groups_tainted_labelled_on_nvidia_ami(synth, stage):
    groups = _nodegroups(synth, stage)
    for pool in STAGES[stage].gpu_pools:
        group = groups[pool.name]
        assert group["AmiType"] == "AL2023_x86_64_NVIDIA"
        assert group["InstanceTypes"] == [pool.instance_type]
        assert group["Taints"] == [
            {"Effect": "NO_SCHEDULE", "Key": "nvidia.com/gpu", "Value": "true"},
            {"Effect": "NO_SCHEDULE", "Key": "gpuplatform.io/gpu-not-ready", "Value": "true"},  # startup
        ]
        assert group["Labels"]["gpuplatform.io/gpu-model"] == pool.gpu.gpu_model
        template = _launch_template(synth, stage, group)
        assert template["MetadataOptions"]["HttpTokens"] == "required"
        (volume,) = template["BlockDeviceMappings"]
        assert volume["Ebs"]["VolumeType"] == "gp3" and volume["Ebs"]["Encrypted"] is True
        assert volume["Ebs"]["VolumeSize"] >= 300
    cpu = groups["cpu"]
    assert cpu["AmiType"] == "AL2023_x86_64_STANDARD" and "Taints" not in cpu


def test_efa_pool_has_an_interface_per_card_in_one_az_placement_group(synth):
    group = _nodegroups(synth, "prod")["a100"]
    template = _launch_template(synth, "prod", group)
    interfaces = template["NetworkInterfaces"]
    assert [i["NetworkCardIndex"] for i in interfaces] == [0, 1, 2, 3]  # p4d.24xlarge: 4 EFA
    assert [i["DeviceIndex"] for i in interfaces] == [0, 1, 1, 1]
    assert {i["InterfaceType"] for i in interfaces} == {"efa"}
    assert all("EfaSecurityGroup" in json.dumps(i["Groups"]) for i in interfaces)
    assert len(group["Subnets"]) == 1
    placement = only(synth.resources("prod", "Nodes", "AWS::EC2::PlacementGroup"))
    assert placement["Properties"]["Strategy"] == "cluster"
    assert template["Placement"]["GroupName"]["Ref"].startswith("GpuPoolA100PlacementGroup")


def test_non_efa_pool_has_no_interfaces_or_placement(synth):
    template = _launch_template(synth, "dev", _nodegroups(synth, "dev")["t4"])
    assert "NetworkInterfaces" not in template and "Placement" not in template
    assert not synth.resources("dev", "Nodes", "AWS::EC2::PlacementGroup")


def test_karpenter_controller_chart_queue_and_identity(synth):
    chart = _helm_charts(synth, "dev")[KARPENTER.chart]
    assert (chart["Repository"], chart["Chart"], chart["Version"]) == (
        KARPENTER.repository,
        KARPENTER.chart,
        KARPENTER.version,
    )
    values = literal(chart["Values"])
    assert '"clusterName":"gpu-platform-dev"' in values and '"interruptionQueue":"<token>"' in values
    queue = only(synth.resources("dev", "Nodes", "AWS::SQS::Queue"))["Properties"]
    assert queue["MessageRetentionPeriod"] == 300 and queue["SqsManagedSseEnabled"] is True
    detail_types = sorted(
        r["Properties"]["EventPattern"]["detail-type"][0]
        for r in synth.resources("dev", "Nodes", "AWS::Events::Rule").values()
    )
    assert detail_types == [
        "AWS Health Event",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    association = only(synth.resources("dev", "Nodes", "AWS::EKS::PodIdentityAssociation"))["Properties"]
    assert (association["Namespace"], association["ServiceAccount"]) == ("karpenter", "karpenter")
    node_entry = only(synth.resources("dev", "Nodes", "AWS::EKS::AccessEntry"))["Properties"]
    assert node_entry["Type"] == "EC2_LINUX"


def test_karpenter_pass_role_limited_to_its_node_role(synth):
    policy = only(synth.resources("dev", "Nodes", "AWS::IAM::Policy"))["Properties"]["PolicyDocument"]
    (pass_role,) = [s for s in policy["Statement"] if s.get("Sid") == "AllowPassingInstanceRole"]
    assert pass_role["Resource"]["Fn::GetAtt"][0].startswith("KarpenterNodeRole")
    (delete,) = [s for s in policy["Statement"] if s.get("Sid") == "AllowScopedDeletion"]
    assert delete["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/gpu-platform-dev": "owned"
    }


def test_node_pools_manifest_carries_stage_settings(synth):
    from tests.manifests import manifests_in_template

    objects = manifests_in_template(synth.template("dev", "Nodes"))
    pools = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NodePool"}
    assert sorted(pools) == ["g5", "g6", "h100-efa", "l4-shared"]
    assert pools["g6"]["spec"]["weight"] == 40  # seed 000's karpenter_g6_weight = 40
    assert pools["g6"]["spec"]["limits"] == {"nvidia.com/gpu": 16}
    assert pools["g6"]["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    requirements = {
        r["key"]: r["values"] for r in pools["h100-efa"]["spec"]["template"]["spec"]["requirements"]
    }
    assert requirements["node.kubernetes.io/instance-type"] == ["p5.48xlarge", "p5.4xlarge"]
    classes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "EC2NodeClass"}
    assert classes["g6"]["spec"]["amiSelectorTerms"] == [{"alias": KARPENTER_AMI_ALIAS}]
    assert len(classes["h100-efa"]["spec"]["securityGroupSelectorTerms"]) == 2
    assert len(classes["g6"]["spec"]["securityGroupSelectorTerms"]) == 1


def test_stacks_are_wired_across_stages_by_exports(synth):
    nodes = json.dumps(synth.template("dev", "Nodes"))
    assert "dev-Cluster:ExportsOutputRefCluster" in nodes
    assert "dev-Network:ExportsOutputRefVpcPrivateSubnet" in nodes
    cluster = json.dumps(synth.template("dev", "Cluster"))
    assert "dev-Storage:ExportsOutputRefSharedFileSystem" in cluster
    assert "prod-" not in nodes and "staging-" not in cluster


def test_capacity_metadata_matches_config(synth):
    capacity = synth.template("prod", "Nodes")["Metadata"]["GpuPlatformCapacity"]
    a100 = next(p for p in capacity if p["pool"] == "a100")
    assert (a100["gpus_per_node"], a100["max_nodes"], a100["max_gpus"]) == (8, 2, 16)


def _helm_charts(synth, stage: str) -> dict[str, dict]:
    charts = synth.resources(stage, "Nodes", "Custom::AWSCDK-EKS-HelmChart").values()
    return {c["Properties"]["Chart"]: c["Properties"] for c in charts}


def test_gpu_operator_and_efa_plugin_make_gpus_and_efa_schedulable(synth):
    from platform_config.versions import EFA_DEVICE_PLUGIN, GPU_OPERATOR

    dev = _helm_charts(synth, "dev")
    assert "nvidia-device-plugin" not in dev and "dcgm-exporter" not in dev  # one path, one exporter
    operator = dev[GPU_OPERATOR.chart]
    assert (operator["Repository"], operator["Version"], operator["Namespace"]) == (
        GPU_OPERATOR.repository,
        GPU_OPERATOR.version,
        "gpu-operator",
    )
    values = json.loads(literal(operator["Values"]))
    # the EKS NVIDIA AMIs carry the driver and the container toolkit
    assert (values["driver"]["enabled"], values["toolkit"]["enabled"]) == (False, False)
    assert values["daemonsets"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpuplatform.io/gpu-not-ready", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert {"name": "WITH_REBOOT", "value": "true"} in values["migManager"]["env"]
    efa = json.loads(literal(dev[EFA_DEVICE_PLUGIN.chart]["Values"]))
    assert efa["nodeSelector"] == {"gpuplatform.io/efa": "true"}
    # the chart's required node affinity admits every EFA type of the catalogue (its own list
    # lacks g7e and p6-b300), and only those
    efa_types = sorted(t for t, i in gpu_catalog.GPU_INSTANCES.items() if i.supports_efa)
    assert efa["supportedInstanceLabels"] == {"values": efa_types}
    assert {"g7e.48xlarge", "p6-b300.48xlarge"} <= set(efa_types)
    # staging has no EFA pool, so no EFA plugin
    assert EFA_DEVICE_PLUGIN.chart not in _helm_charts(synth, "staging")
    assert GPU_OPERATOR.chart in _helm_charts(synth, "staging")
