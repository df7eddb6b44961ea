"""StorageClasses every stateful chart can rely on: encrypted gp3 as the cluster default
(RWO, topology-aware) and EFS through access points (RWX, for model caches and workspaces).

Without a default class a PVC that names none sits in Pending forever; EKS ships only the
legacy in-tree ``gp2`` class, which is not marked default on new clusters.
"""

from __future__ import annotations

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

GP3_CLASS = "gp3"
EFS_CLASS = "efs"


class StorageClassesChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str, *, file_system_id: str) -> None:
        super().__init__(scope, chart_id)
        k8s.KubeStorageClass(
            self,
            "gp3",
            metadata=k8s.ObjectMeta(
                name=GP3_CLASS,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
        )
        k8s.KubeStorageClass(
            self,
            "efs",
            metadata=k8s.ObjectMeta(name=EFS_CLASS),
            provisioner="efs.csi.aws.com",
            parameters={
                "provisioningMode": "efs-ap",
                "fileSystemId": file_system_id,
                "directoryPerms": "750",
                "uid": "1000",
                "gid": "1000",
                "basePath": "/dynamic",
                "subPathPattern": "${.PVC.namespace}/${.PVC.name}",
                "ensureUniqueDirectory": "true",
            },
            reclaim_policy="Retain",
            volume_binding_mode="Immediate",
        )
