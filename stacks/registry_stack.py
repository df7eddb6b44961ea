"""Stateful: the platform's ECR repositories and optional pull-through cache rules.

Repositories are KMS-encrypted, scanned on push, immutable-tagged and pruned by lifecycle
rules. Pull-through rules reference their upstream credentials by Secrets Manager ARN only.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from platform_config.checks import pascal
from platform_config.model import StageConfig
from platform_constructs.keys import stage_key
from platform_constructs.retention import destroys_data, removal_policy


class RegistryStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.registry
        policy = removal_policy(config)

        self.key = stage_key(
            self, "RegistryKey", config=config, description="Encrypts the platform's ECR repositories"
        )
        self.repositories: dict[str, ecr.Repository] = {}
        for name in settings.repositories:
            self.repositories[name] = ecr.Repository(
                self,
                "Repo" + pascal(name),
                repository_name=f"{config.name}/{name}",
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=self.key,
                removal_policy=policy,
                empty_on_delete=destroys_data(config),
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        description="Expire untagged images",
                        rule_priority=1,
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=Duration.days(settings.untagged_expiry_days),
                    ),
                    ecr.LifecycleRule(
                        description="Keep the newest tagged images",
                        rule_priority=2,
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=settings.keep_tagged_images,
                    ),
                ],
            )

        for rule in settings.pull_through_cache:
            ecr.CfnPullThroughCacheRule(
                self,
                "PullThrough" + pascal(rule.prefix),
                ecr_repository_prefix=f"{config.name}-{rule.prefix}",
                upstream_registry_url=rule.upstream_registry_url,
                credential_arn=rule.credential_secret_arn,
            )
