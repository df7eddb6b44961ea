"""The stage's VPC: subnets over its AZs, NAT, endpoints that keep image pulls off NAT,
flow logs, discovery tags for load balancers and Karpenter, and the EFA security group."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Tags, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from platform_config.contract import KARPENTER_DISCOVERY_TAG, cluster_name
from platform_config.model import StageConfig

RETENTION: dict[int, logs.RetentionDays] = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}

INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


class NetworkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        self._zones = list(config.availability_zones)
        super().__init__(scope, construct_id, **kwargs)
        # CDK acknowledges this itself when its own lookup supplies the zones; ours come from the
        # stage file (see availability_zones below).
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason="The subnets are pinned to the zones the stage file names, on purpose: the "
                "stage chooses them (EFA pools use the first), and synth then needs no AZ lookup.",
            )
        )
        net = config.network

        flow_log_group = logs.LogGroup(self, "FlowLogs", retention=RETENTION[net.flow_log_retention_days])
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(net.vpc_cidr),
            availability_zones=self.availability_zones,
            nat_gateways=config.nat_gateway_count,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=net.public_subnet_mask
                ),
                ec2.SubnetConfiguration(
                    name="Private",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=net.private_subnet_mask,
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            restrict_default_security_group=True,
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from inside the VPC to the interface endpoints",
            allow_all_outbound=False,
        )
        # The stage's CIDR as a literal (not the VPC's token) so reviews and cdk-nag see it.
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(net.vpc_cidr), ec2.Port.HTTPS, "HTTPS from the VPC"
        )
        for endpoint_id, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoint_security_group],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )

        for subnet in self.vpc.public_subnets:
            Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in self.vpc.private_subnets:
            tags = Tags.of(subnet)
            tags.add("kubernetes.io/role/internal-elb", "1")
            tags.add(KARPENTER_DISCOVERY_TAG, cluster_name(config.name))

        self.efa_security_group = ec2.SecurityGroup(
            self,
            "EfaSecurityGroup",
            vpc=self.vpc,
            description="EFA traffic between GPU nodes (all protocols, members only)",
            allow_all_outbound=False,
        )
        self.efa_security_group.add_ingress_rule(
            self.efa_security_group, ec2.Port.all_traffic(), "EFA from members"
        )
        self.efa_security_group.add_egress_rule(
            self.efa_security_group, ec2.Port.all_traffic(), "EFA to members"
        )
        Tags.of(self.efa_security_group).add(KARPENTER_DISCOVERY_TAG, cluster_name(config.name))

    @property
    def availability_zones(self) -> list[str]:
        """The stage file's zones. ``ec2.Vpc`` reads the stack's zones to check the ones it is
        given; CDK's own answer is a context lookup (AWS credentials) for any account/region
        pair not in cdk.context.json, so any region would need a hand-edited context entry."""
        return list(self._zones)
