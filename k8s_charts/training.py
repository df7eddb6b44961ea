"""Distributed PyTorch with Kubeflow Trainer v2: the platform's ClusterTrainingRuntime, an EFS
checkpoint volume in every team namespace, and the example TrainJob per GPU pool that teams
apply (``make templates``).

A TrainJob names a runtime and says how many nodes, with what on each; Trainer turns it into a
JobSet whose pods get torchrun's rendezvous variables (``PET_*``). In a team namespace Kueue
queues the TrainJob as one workload and admits it only when the team's queue has room for
every node of it at once: a two-node job starts whole or waits whole. The example saves a
checkpoint to the team's EFS volume every 100 steps and, when started again (a restarted
JobSet after a node failure, or the same TrainJob re-submitted), resumes from the newest one.
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from k8s_charts.kueue_queues import LOCAL_QUEUE
from platform_config.contract import EFA_RESOURCE, GPU_RESOURCE, GPU_TAINT_KEY, POOL_LABEL
from platform_config.gpu_catalog import GpuInstance
from platform_config.tenancy import TenancySettings
from platform_config.training import TrainingSettings
from platform_config.versions import TRAINING_PYTORCH, TRAINING_PYTORCH_EFA

TRAINER_API = "trainer.kubeflow.org/v1alpha1"
TORCH_RUNTIME = "torch-distributed-efs"
CHECKPOINT_CLAIM = "checkpoints"
CHECKPOINT_PATH = "/checkpoints"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# Trainer's mark of the replicated job that runs the trainer (its runtimes carry it).
TRAINER_STEP = {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
# JobSet labels every pod of a TrainJob with its JobSet's name (= the TrainJob's): the
# NetworkPolicy that lets a job's nodes reach each other selects on it.
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
RDZV_PORT = 29500  # torchrun's default master port (Trainer sets PET_MASTER_PORT to it)
PATCH_MANAGER = "gpuplatform.io/templates"
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
USER = 1000  # the EFS access points' uid/gid (k8s_charts/storage_classes.py)


def restricted(user: int = USER, *, add: list[str] | None = None) -> dict:
    """A container's security context at Pod Security 'restricted' (``add`` widens it)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], **({"add": add} if add else {})},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def api_object(scope: Construct, obj: dict) -> cdk8s.ApiObject:
    """A manifest written as a dict, as one ``ApiObject`` of ``scope``."""
    metadata = obj["metadata"]
    api = cdk8s.ApiObject(
        scope,
        f"{obj['kind']}-{metadata.get('namespace', '')}-{metadata['name']}",
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=cdk8s.ApiObjectMetadata(**metadata),
    )
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata"):
            api.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))
    return api


# The example's training loop: DDP on random data; rank 0 saves model, optimizer and step to
# the team's EFS volume (write, then rename: a crash never leaves half a checkpoint), and every
# rank loads the newest checkpoint at start.
TRAIN_SCRIPT = f"""\
import os
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("nccl")
rank, local_rank = dist.get_rank(), int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(local_rank)
directory = os.path.join("{CHECKPOINT_PATH}", os.environ["RUN_NAME"])
latest = os.path.join(directory, "latest.pt")
model = DistributedDataParallel(torch.nn.Linear(4096, 4096).cuda(), device_ids=[local_rank])
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
start = 0
if os.path.exists(latest):
    state = torch.load(latest, map_location="cuda")
    model.module.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    start = state["step"] + 1
    print(f"rank {{rank}}: resumed from step {{state['step']}}", flush=True)
for step in range(start, int(os.environ.get("STEPS", "2000"))):
    loss = model(torch.randn(64, 4096, device="cuda")).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0 and rank == 0:
        os.makedirs(directory, exist_ok=True)
        state = {{"model": model.module.state_dict(), "optimizer": optimizer.state_dict(), "step": step}}
        torch.save(state, latest + ".tmp")
        os.replace(latest + ".tmp", latest)
        print(f"step {{step}}: loss {{loss.item():.4f}}, checkpoint saved", flush=True)
dist.destroy_process_group()
"""


def torch_runtime() -> dict:
    """The ClusterTrainingRuntime every example names: one container per node with the pinned
    PyTorch image, restricted, the team's checkpoint volume and a memory-backed /dev/shm
    (PyTorch's data loaders share tensors through it). A failed node restarts the whole JobSet
    up to three times; the restarted ranks resume from the checkpoint."""
    pod = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "node",
                "image": TRAINING_PYTORCH.uri,
                "securityContext": restricted(),
                "env": [{"name": "HOME", "value": "/tmp"}],
                "volumeMounts": [
                    {"name": CHECKPOINT_CLAIM, "mountPath": CHECKPOINT_PATH},
                    {"name": "shm", "mountPath": "/dev/shm"},
                ],
            }
        ],
        "volumes": [
            {"name": CHECKPOINT_CLAIM, "persistentVolumeClaim": {"claimName": CHECKPOINT_CLAIM}},
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
        ],
    }
    return {
        "apiVersion": TRAINER_API,
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": TORCH_RUNTIME, "labels": {"trainer.kubeflow.org/framework": "torch"}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {}},
            "template": {
                "spec": {
                    "failurePolicy": {"maxRestarts": 3},
                    "replicatedJobs": [
                        {
                            "name": "node",
                            "template": {
                                "metadata": {"labels": TRAINER_STEP},
                                "spec": {"template": {"spec": pod}},
                            },
                        }
                    ],
                }
            },
        },
    }


def node_shape(instances: list[GpuInstance]) -> tuple[int, int]:
    """GPUs and EFA interfaces one node of the pool can always give: the least of its types."""
    gpus = min(i.gpus for i in instances)
    efa = min((i.efa_interfaces * gpus) // i.gpus for i in instances)
    return gpus, efa


def example_trainjob(pool: str, instances: list[GpuInstance], *, efa: bool, nodes: int = 2) -> dict:
    """The example TrainJob for one GPU pool: ``nodes`` nodes of the pool with every GPU a node
    of it always has (and, on an EFA pool, its share of EFA interfaces), queued to the team's
    LocalQueue. Apply it in a team namespace: ``kubectl apply -n team-x -f``."""
    gpus, efa_devices = node_shape(instances)
    smallest = min(instances, key=lambda i: (i.vcpus, i.memory_gib))
    per_node = {
        GPU_RESOURCE: gpus,
        "cpu": max(1, smallest.vcpus // 2),
        "memory": f"{max(4, smallest.memory_gib // 2)}Gi",
        **({EFA_RESOURCE: efa_devices} if efa and efa_devices else {}),
    }
    name = f"ddp-{pool}"
    env = [{"name": "RUN_NAME", "value": name}]
    trainer: dict = {}
    if efa:
        # The runtime's PyTorch image has no aws-ofi-nccl, so NCCL would fall back to sockets:
        # on an EFA pool the job runs AWS's Deep Learning Container, with libfabric's EFA provider.
        trainer["image"] = TRAINING_PYTORCH_EFA.uri
        env.append({"name": "FI_PROVIDER", "value": "efa"})
    return {
        "apiVersion": TRAINER_API,
        "kind": "TrainJob",
        "metadata": {"name": name, "labels": {QUEUE_LABEL: LOCAL_QUEUE}},
        "spec": {
            "runtimeRef": {
                "name": TORCH_RUNTIME,
                "kind": "ClusterTrainingRuntime",
                "apiGroup": "trainer.kubeflow.org",
            },
            "trainer": {
                **trainer,
                "numNodes": nodes,
                "resourcesPerNode": {"requests": per_node, "limits": per_node},
                "command": ["bash", "-c"],
                "args": [f"cat > /tmp/train.py <<'PY'\n{TRAIN_SCRIPT}PY\nexec torchrun /tmp/train.py"],
                "env": env,
            },
            "runtimePatches": [
                {
                    "manager": PATCH_MANAGER,
                    "trainingRuntimeSpec": {
                        "template": {
                            "spec": {
                                "replicatedJobs": [
                                    {
                                        "name": "node",
                                        "template": {
                                            "spec": {
                                                "template": {
                                                    "spec": {
                                                        "nodeSelector": {POOL_LABEL: pool},
                                                        "tolerations": [GPU_TOLERATION],
                                                    }
                                                }
                                            }
                                        },
                                    }
                                ]
                            }
                        }
                    },
                }
            ],
        },
    }


def checkpoint_claim(namespace: str, gib: int, storage_class: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CHECKPOINT_CLAIM, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        },
    }


class TrainingChart(cdk8s.Chart):
    """What the Workloads stack deploys after Trainer's chart: the runtime, and a checkpoint
    volume in every team namespace (on EFS: every node of a job mounts it)."""

    def __init__(
        self, scope: Construct, chart_id: str, *, settings: TrainingSettings, tenancy: TenancySettings,
        efs_storage_class: str,
    ) -> None:  # fmt: skip
        super().__init__(scope, chart_id)
        api_object(self, torch_runtime())
        for namespace in sorted(tenancy.namespaces):
            api_object(self, checkpoint_claim(namespace, settings.checkpoint_gib, efs_storage_class))
