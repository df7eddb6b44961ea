"""The EFA/NCCL acceptance test of one EFA pool: nccl-tests' ``all_reduce_perf`` over two nodes
of one instance type, every GPU and every EFA interface of each node, ``FI_PROVIDER=efa``.

Kubeflow Trainer runs it (an MPI TrainingRuntime: a launcher on the CPU pool starts one rank
per GPU on the two nodes over ssh, with the hostfile and keys Trainer generates), in the
``efa-test`` namespace. The pass mark is the catalogue's expected bus bandwidth for the type
(``gpu_catalog.nccl_pass_mark_gbs``); ``make efa-test`` writes these manifests and prints the
commands that run them and compare the result with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_charts.training import GPU_TOLERATION, TRAINER_API, TRAINER_STEP
from platform_config import gpu_catalog
from platform_config.contract import EFA_RESOURCE, GPU_RESOURCE, POOL_LABEL
from platform_config.gpu_catalog import GpuInstance
from platform_config.model import CPU_POOL
from platform_config.namespaces import EFA_TEST as EFA_TEST_NAMESPACE
from platform_config.versions import NCCL_TESTS

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
NODES = 2
SSH_PATH = "/root/.ssh"
# AWS's EFA nccl-tests example for p5e.48xlarge on EKS asks for 5120Mi of 2 MiB huge pages per
# node; libfabric's EFA provider keeps its bounce buffers there. Types without GPUDirect RDMA
# move less through them: those run with huge pages off (FI_EFA_USE_HUGE_PAGE=0).
HUGE_PAGES = "5120Mi"
ALL_REDUCE = "/opt/nccl-tests/build/all_reduce_perf -b 1G -e 8G -f 2 -g 1 -c 1 -n 20"
RESULT_LINE = "Avg bus bandwidth"
EFA_SELECTED = "selected provider is efa"  # aws-ofi-nccl's log line (NCCL_DEBUG=INFO), lower-cased


@dataclass(frozen=True)
class EfaTest:
    pool: str
    instance: GpuInstance

    @property
    def name(self) -> str:
        return f"efa-test-{self.pool}"

    @property
    def pass_mark_gbs(self) -> float:
        return gpu_catalog.nccl_pass_mark_gbs(self.instance.instance_type)

    @property
    def gpudirect(self) -> bool:
        return self.instance.family in gpu_catalog.GPUDIRECT_RDMA_FAMILIES

    def env(self) -> list[dict]:
        values = {
            "FI_PROVIDER": "efa",
            "FI_EFA_USE_DEVICE_RDMA": "1" if self.gpudirect else "0",
            "FI_EFA_USE_HUGE_PAGE": "1" if self.gpudirect else "0",
            "NCCL_DEBUG": "INFO",
            "NCCL_SOCKET_IFNAME": "^lo,docker",
        }
        return [{"name": key, "value": value} for key, value in values.items()]

    def node_resources(self) -> dict:
        per_node: dict[str, str | int] = {
            GPU_RESOURCE: self.instance.gpus,
            EFA_RESOURCE: self.instance.efa_interfaces,
            "cpu": 8,
            "memory": "32Gi",
        }
        if self.gpudirect:
            per_node["hugepages-2Mi"] = HUGE_PAGES
        return {"requests": per_node, "limits": per_node}

    def launch_command(self) -> str:
        forwarded = " ".join(f"-x {e['name']}" for e in self.env())
        return (
            f"mpirun --allow-run-as-root --hostfile /etc/mpi/hostfile --bind-to none "
            f"--mca plm_rsh_args '-o StrictHostKeyChecking=no' {forwarded} "
            f"-x LD_LIBRARY_PATH -x PATH {ALL_REDUCE}"
        )

    def runtime(self) -> dict:
        """A TrainingRuntime of the test's own: launcher on the CPU pool, two nodes of the type
        in the pool, each with every GPU and every EFA interface (a node's whole share: two
        pods never share a node, so the test crosses the network)."""
        node_pod = {
            "nodeSelector": {POOL_LABEL: self.pool, INSTANCE_TYPE_LABEL: self.instance.instance_type},
            "tolerations": [GPU_TOLERATION],
            "containers": [
                {
                    "name": "node",
                    "image": NCCL_TESTS.uri,
                    "command": ["/usr/sbin/sshd", "-De"],
                    "env": self.env(),
                    "resources": self.node_resources(),
                }
            ],
        }
        launcher_pod = {
            "nodeSelector": {POOL_LABEL: CPU_POOL},
            "containers": [
                {
                    "name": "node",
                    "image": NCCL_TESTS.uri,
                    "command": ["bash", "-c", self.launch_command()],
                    "env": self.env(),
                    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
                }
            ],
        }
        return {
            "apiVersion": TRAINER_API,
            "kind": "TrainingRuntime",
            "metadata": {"name": self.name, "namespace": EFA_TEST_NAMESPACE},
            "spec": {
                "mlPolicy": {
                    "numNodes": NODES,
                    "mpi": {
                        "mpiImplementation": "OpenMPI",
                        "numProcPerNode": self.instance.gpus,
                        "sshAuthMountPath": SSH_PATH,
                        "runLauncherAsNode": False,
                    },
                },
                "template": {
                    "spec": {
                        "network": {"publishNotReadyAddresses": True},
                        "successPolicy": {"operator": "All", "targetReplicatedJobs": ["launcher"]},
                        "replicatedJobs": [
                            {"name": "launcher", "template": {"spec": {"template": {"spec": launcher_pod}}}},
                            {
                                "name": "node",
                                "template": {
                                    "metadata": {"labels": TRAINER_STEP},
                                    "spec": {"template": {"spec": node_pod}},
                                },
                            },
                        ],
                    }
                },
            },
        }

    def trainjob(self) -> dict:
        return {
            "apiVersion": TRAINER_API,
            "kind": "TrainJob",
            "metadata": {"name": self.name, "namespace": EFA_TEST_NAMESPACE},
            "spec": {
                "runtimeRef": {
                    "name": self.name,
                    "kind": "TrainingRuntime",
                    "apiGroup": "trainer.kubeflow.org",
                },
                "trainer": {"numNodes": NODES},
            },
        }

    def manifests(self) -> list[dict]:
        return [self.runtime(), self.trainjob()]

    def commands(self, manifest_path: str) -> list[str]:
        """The kubectl commands that run the test, wait for it and judge its result: the
        launcher's log must show aws-ofi-nccl choosing EFA and an average bus bandwidth at or
        above the pass mark."""
        selector = (
            f"jobset.sigs.k8s.io/jobset-name={self.name},jobset.sigs.k8s.io/replicatedjob-name=launcher"
        )
        judge = (
            f"awk -v mark={self.pass_mark_gbs} 'tolower($0) ~ /{EFA_SELECTED}/ {{efa=1}} "
            f"/{RESULT_LINE}/ {{bw=$NF}} "
            'END { if (!efa) { print "FAIL: NCCL did not select the EFA provider"; exit 1 } '
            'if (bw == "") { print "FAIL: no result line"; exit 1 } '
            'if (bw + 0 >= mark) print "PASS: " bw " GB/s >= " mark " GB/s"; '
            'else { print "FAIL: " bw " GB/s < " mark " GB/s"; exit 1 } }\''
        )
        return [
            f"kubectl apply -f {manifest_path}",
            f"kubectl -n {EFA_TEST_NAMESPACE} wait trainjob/{self.name} --for=condition=Complete --timeout=1h"
            " || { echo 'FAIL: the test did not complete within an hour'; false; }",
            f"kubectl -n {EFA_TEST_NAMESPACE} logs -l {selector} --tail=-1 | {judge}",
            f"kubectl delete -f {manifest_path}",
        ]


def efa_pool_types(pool_instances: list[GpuInstance]) -> list[GpuInstance]:
    """A pool's EFA-capable types, the one with the most EFA interfaces (then GPUs) first: the
    default test type of a Karpenter pool that may launch several sizes."""
    capable = [i for i in pool_instances if i.supports_efa]
    return sorted(capable, key=lambda i: (-i.efa_interfaces, -i.gpus, i.instance_type))
