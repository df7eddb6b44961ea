"""The Kubernetes objects of one reservation (seed 002's dev pod): a Pod, its NodePort Service
and the user's home PersistentVolumeClaim, as plain manifests for :mod:`reservations.kube`.

Names derive from the reservation id alone (``gpu-dev-<uuid>`` for the pod and its service,
``home-<user>-<hash>`` for the claim), so creating twice can only ever answer 409 -- never make a
second pod. Every object carries the labels :data:`MANAGED_BY_LABEL` and
:data:`RESERVATION_LABEL`, which is how cleanup finds everything of one reservation (and the
expiry sweep finds leftovers of ended ones). The home claim is per user and outlives the
reservation: it is never deleted by the Lambdas.

How the pod runs
  * An init container (``install-ssh-keys``, fully restricted: non-root uid 1000, no
    privilege escalation, all capabilities dropped, read-only root filesystem) fetches
    ``https://github.com/<github_user>.keys`` with the image's ``python3`` and installs them as
    ``/home/dev/.ssh/authorized_keys`` (directory 0700, file 0600, written atomically) on the
    home claim. The GitHub user name is validated and passed as an environment variable, never
    spliced into the script.
  * The ``dev`` container runs ``policy.dev_image`` (a pinned tag or digest; ``latest`` and
    untagged images are refused). Its entry script creates the ``dev`` user (uid 1000,
    passwordless sudo) if the image lacks it, generates SSH host keys, writes
    ``/etc/profile.d/gpu-dev.sh`` (exports the container's CUDA/NVIDIA/PATH environment to SSH
    sessions, which do not inherit it, and prints the expiry warning) and then ``exec``s
    ``/usr/sbin/sshd -D -e -p 2222`` as PID 1: key-only authentication, no root login, only
    ``dev`` allowed. The image must contain openssh-server (and sudo for ``dev`` to use it).
    A TCP readiness probe on 2222 marks the pod Ready once sshd listens.
  * The pod's annotations are mounted read-only at ``/etc/gpu-dev/annotations`` (downward
    API). The expiry Lambda writes its warnings into the annotation :data:`WARNING_ANNOTATION`;
    the kubelet refreshes the file, and the profile script prints it at every login.
  * ``/home/dev`` is the user's claim (``policy.home_storage_class``, ReadWriteMany because
    the class is EFS, ``policy.home_storage_gib``), ``/workspace`` the shared claim
    ``policy.workspace_claim`` when set, ``/dev/shm`` a memory-backed emptyDir (PyTorch data
    loaders need more than the runtime's 64 MiB).
  * ``nvidia.com/gpu`` requests = limits = the reservation's GPUs; CPU and memory are
    requested per GPU (:data:`CPU_PER_GPU`, :data:`MEMORY_GIB_PER_GPU`) with no CPU or memory
    limit, so a workstation may use what the node has idle and, under memory pressure, the
    kubelet evicts the pod furthest beyond its request first. It tolerates the GPU taint and
    is bound (required node affinity) to the node the plan chose and to its pool.

A multi-node reservation (a gang, ``record.gang_nodes``) has one such pod per node, rank r
named ``gpu-dev-<uuid>-r`` (rank 0 keeps ``gpu-dev-<uuid>``), each holding its node's share of
the GPUs and every EFA interface of its node type (``vpc.amazonaws.com/efa``). A headless
Service ``gpu-dev-<uuid>-peers`` gives each pod a DNS name (:func:`peer_host`), and each is told
the gang as environment: ``RANK`` and ``WORLD_SIZE`` (node rank and node count, as torchrun's
``--node_rank``/``--nnodes`` want; also ``NODE_RANK``/``NNODES``), ``MASTER_ADDR`` (rank 0's
name), ``MASTER_PORT`` and ``GPU_DEV_PEERS`` (every name, rank order). The NodePort Service
selects rank 0 only; the others are reached through it (``ssh -J``) and from each other with the
user's own key (agent forwarding), by the same sshd on 2222. A NetworkPolicy of the same name
as the headless Service (:func:`peers_policy_manifest`) lets the gang's pods, labelled
:data:`GANG_LABEL` with the reservation id, reach each other on every port, and nobody else's.

Exceptions to the restricted pod security baseline (dev pods are user workstations, where
users install packages and need a login daemon), in the ``dev`` container only:
  * runs as root (sshd must switch to the ``dev`` user; ``dev`` has sudo);
  * ``allowPrivilegeEscalation: true`` (sudo);
  * capabilities: all dropped, then CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, SYS_CHROOT
    (sshd privilege separation), KILL and AUDIT_WRITE (sshd session handling) added back;
  * a writable root filesystem (package installs).
Kept: no privileged mode, no host namespaces or host paths, seccomp ``RuntimeDefault``, no
service-account token mounted (a user's shell gets no cluster credentials), no service links.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .model import Reservation
from .policy import Policy

NAME_PREFIX = "gpu-dev-"
SSH_PORT = 2222
DEV_UID = 1000
CPU_PER_GPU = 3
MEMORY_GIB_PER_GPU = 12
SHM_GIB_PER_GPU = 8
POOL_LABEL = "gpuplatform.io/pool"
HOSTNAME_LABEL = "kubernetes.io/hostname"
GPU_RESOURCE = "nvidia.com/gpu"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gpu-dev-reservations"
RESERVATION_LABEL = "gpu-dev.gpuplatform.io/reservation-id"
USER_LABEL = "gpu-dev.gpuplatform.io/user"
RANK_LABEL = "gpu-dev.gpuplatform.io/rank"  # gangs only
GANG_LABEL = "gpu-dev.gpuplatform.io/gang"  # the reservation id, on a gang's pods (its peers policy)
EFA_RESOURCE = "vpc.amazonaws.com/efa"
MASTER_PORT = 29500
WARNING_ANNOTATION = "gpu-dev.gpuplatform.io/warning"
EXPIRES_ANNOTATION = "gpu-dev.gpuplatform.io/expires-at"
ANNOTATIONS_DIR = "/etc/gpu-dev"
GITHUB_USER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")

# Pod/container states after which waiting longer cannot help.
TERMINAL_WAITING = frozenset({"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"})

INSTALL_KEYS = r"""
import os, sys, time, urllib.request
user = os.environ["GITHUB_USER"]
url = "https://github.com/%s.keys" % user
for attempt in range(5):
    try:
        text = urllib.request.urlopen(url, timeout=15).read().decode()
        break
    except Exception as exc:
        print("fetching %s failed: %s" % (url, exc), file=sys.stderr)
        time.sleep(2 * (attempt + 1))
else:
    sys.exit("could not fetch %s" % url)
keys = [line.strip() for line in text.splitlines() if line.strip().startswith(("ssh-", "ecdsa-", "sk-"))]
if not keys:
    sys.exit("GitHub user %s has no public SSH keys" % user)
ssh = "/home/dev/.ssh"
os.makedirs(ssh, mode=0o700, exist_ok=True)
os.chmod(ssh, 0o700)
target = os.path.join(ssh, "authorized_keys")
with open(target + ".tmp", "w") as out:
    out.write("\n".join(keys) + "\n")
os.chmod(target + ".tmp", 0o600)
os.replace(target + ".tmp", target)
print("installed %d key(s) of %s" % (len(keys), user))
"""

START_SSHD = r"""set -eu
if ! id dev >/dev/null 2>&1; then
  useradd --uid 1000 --home-dir /home/dev --no-create-home --shell /bin/bash dev
fi
if [ -d /etc/sudoers.d ]; then
  echo 'dev ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/dev && chmod 0440 /etc/sudoers.d/dev
fi
chown dev /home/dev && chmod 0755 /home/dev
mkdir -p /run/sshd && chmod 0755 /run/sshd
ssh-keygen -A >/dev/null
{
  env | grep -E -e '^(PATH|LD_LIBRARY_PATH|CUDA_[A-Z_]*|NVIDIA_[A-Z_]*|NCCL_[A-Z_]*|FI_[A-Z_]*|PYTHONPATH)=' \
    -e '^(CONDA_[A-Z_]*|GPU_DEV_[A-Z_]*|RANK|WORLD_SIZE|NODE_RANK|NNODES|MASTER_ADDR|MASTER_PORT)=' \
    | sed -e "s/'/'\\\\''/g" -e "s/=\(.*\)/='\1'/" -e 's/^/export /'
  cat <<'EOF'
if [ -r /etc/gpu-dev/annotations ]; then
  gpu_dev_warning=$(sed -n 's|^gpu-dev\.gpuplatform\.io/warning="\(.*\)"$|\1|p' /etc/gpu-dev/annotations)
  if [ -n "$gpu_dev_warning" ]; then printf '\n*** %b ***\n\n' "$gpu_dev_warning"; fi
  unset gpu_dev_warning
fi
EOF
} > /etc/profile.d/gpu-dev.sh
exec /usr/sbin/sshd -D -e -p 2222 \
  -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
  -o PermitRootLogin=no -o AllowUsers=dev -o AuthorizedKeysFile=.ssh/authorized_keys
"""


class InvalidRequest(ValueError):
    """The reservation cannot be turned into a pod (the reason is shown to the user)."""


def pod_name(reservation_id: str) -> str:
    return f"{NAME_PREFIX}{reservation_id}"


def service_name(reservation_id: str) -> str:
    return f"{NAME_PREFIX}{reservation_id}"


def member_pod_name(reservation_id: str, rank: int) -> str:
    """The pod of one rank of a gang (rank 0 is the one-node name, :func:`pod_name`)."""
    return pod_name(reservation_id) if rank == 0 else f"{pod_name(reservation_id)}-{rank}"


def peers_service_name(reservation_id: str) -> str:
    return f"{NAME_PREFIX}{reservation_id}-peers"


def peer_host(reservation_id: str, rank: int, namespace: str) -> str:
    """The in-cluster DNS name of a gang member (its hostname under the headless Service)."""
    return f"{member_pod_name(reservation_id, rank)}.{peers_service_name(reservation_id)}.{namespace}.svc"


def gang_size(record: Reservation) -> int:
    return len(record.gang_nodes) or 1


def pod_names(record: Reservation) -> list[str]:
    """Every pod of ``record``, rank order (one for a one-node reservation)."""
    return [member_pod_name(record.reservation_id, rank) for rank in range(gang_size(record))]


def service_names(record: Reservation) -> list[str]:
    """Every Service of ``record``: the NodePort one, and a gang's headless one."""
    rid = record.reservation_id
    return [service_name(rid)] + ([peers_service_name(rid)] if record.gang_nodes else [])


def network_policy_names(record: Reservation) -> list[str]:
    """Every NetworkPolicy of ``record``: a gang's peers policy (named as its headless Service)."""
    return [peers_service_name(record.reservation_id)] if record.gang_nodes else []


def home_claim_name(user_id: str) -> str:
    """``home-<user, DNS-safe, at most 40 chars>-<8 hex of the exact user id>``."""
    safe = re.sub(r"[^a-z0-9-]+", "-", user_id.lower()).strip("-")[:40].strip("-") or "user"
    return f"home-{safe}-{hashlib.sha256(user_id.encode()).hexdigest()[:8]}"


def user_label(user_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", user_id)[:63].strip("-_.")
    return safe or "user"


def check_github_user(name: str) -> None:
    if not GITHUB_USER.match(name or ""):
        raise InvalidRequest(f"{name!r} is not a GitHub user name (letters, digits and single hyphens)")


def check_image(image: str) -> None:
    """A pinned image: a digest, or a tag other than ``latest``."""
    if "@sha256:" in image:
        return
    last = image.rsplit("/", 1)[-1]
    if not image or ":" not in last or last.endswith(":latest"):
        raise InvalidRequest(f"dev image {image!r} must be pinned to a tag (not latest) or a digest")


def labels(record: Reservation) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "gpu-dev",
        MANAGED_BY_LABEL: MANAGED_BY,
        RESERVATION_LABEL: record.reservation_id,
        USER_LABEL: user_label(record.user_id),
    }


def selector(reservation_id: str | None = None) -> str:
    """A label selector for every object of one reservation (or of all reservations)."""
    base = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    return f"{base},{RESERVATION_LABEL}={reservation_id}" if reservation_id else base


def home_claim_manifest(record: Reservation, policy: Policy) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": home_claim_name(record.user_id),
            "namespace": policy.namespace,
            "labels": {
                "app.kubernetes.io/name": "gpu-dev-home",
                MANAGED_BY_LABEL: MANAGED_BY,
                USER_LABEL: user_label(record.user_id),
            },
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": policy.home_storage_class,
            "resources": {"requests": {"storage": f"{policy.home_storage_gib}Gi"}},
        },
    }


def service_manifest(record: Reservation, policy: Policy) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(record.reservation_id),
            "namespace": policy.namespace,
            "labels": labels(record),
        },
        "spec": {
            "type": "NodePort",
            # The SSH command names the pod's own node, so traffic stays there and the
            # client's address is kept.
            "externalTrafficPolicy": "Local",
            "selector": {RESERVATION_LABEL: record.reservation_id, MANAGED_BY_LABEL: MANAGED_BY}
            | ({RANK_LABEL: "0"} if record.gang_nodes else {}),
            "ports": [{"name": "ssh", "port": 22, "targetPort": SSH_PORT, "protocol": "TCP"}],
        },
    }


def peers_service_manifest(record: Reservation, policy: Policy) -> dict[str, Any]:
    """A gang's headless Service: a DNS name per pod (hostname + subdomain), from the moment the
    pod has an address (``publishNotReadyAddresses``), so a rendezvous need not wait for sshd."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": peers_service_name(record.reservation_id),
            "namespace": policy.namespace,
            "labels": labels(record),
        },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {RESERVATION_LABEL: record.reservation_id, MANAGED_BY_LABEL: MANAGED_BY},
            "ports": [{"name": "ssh", "port": SSH_PORT, "targetPort": SSH_PORT, "protocol": "TCP"}],
        },
    }


def peers_policy_manifest(record: Reservation, policy: Policy) -> dict[str, Any]:
    """A gang's NetworkPolicy: its pods reach each other on every port (ssh, torchrun's
    rendezvous, NCCL's bootstrap pick their ports) and no other gang's. One per reservation,
    because a NetworkPolicy's peers are label selectors: only a label whose value is this
    reservation's id can say "the same gang". Additive to the namespace's default deny and
    ``allow-workstation`` (``k8s_charts/network_policies.py``), which keep a dev pod's egress
    out of the VPC, where every pod address is."""
    gang = {"podSelector": {"matchLabels": {GANG_LABEL: record.reservation_id}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": peers_service_name(record.reservation_id),
            "namespace": policy.namespace,
            "labels": labels(record),
        },
        "spec": {
            "podSelector": gang["podSelector"],
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [gang]}],
            "egress": [{"to": [gang]}],
        },
    }


def member_ssh_command(record: Reservation, rank: int) -> str | None:
    """The SSH command to rank ``rank`` of an active reservation: the stored one for rank 0,
    a jump through rank 0's sshd to the member's name for the others. None before it is active
    (no address yet) or for a rank it does not have."""
    if not record.ssh_command or not 0 <= rank < gang_size(record):
        return None
    if rank == 0:
        return record.ssh_command
    host = peer_host(record.reservation_id, rank, record.namespace or "")
    return f"ssh -A -J dev@{record.node_ip}:{record.node_port} -p {SSH_PORT} dev@{host}"


def gang_env(record: Reservation, policy: Policy, rank: int) -> list[dict[str, str]]:
    rid, size = record.reservation_id, gang_size(record)
    hosts = [peer_host(rid, r, policy.namespace) for r in range(size)]
    values = {
        "RANK": rank,
        "WORLD_SIZE": size,
        "NODE_RANK": rank,
        "NNODES": size,
        "MASTER_ADDR": hosts[0],
        "MASTER_PORT": MASTER_PORT,
        "GPU_DEV_PEERS": ",".join(hosts),
    }
    return [{"name": name, "value": str(value)} for name, value in values.items()]


def pod_manifest(record: Reservation, policy: Policy, node_name: str, rank: int = 0) -> dict[str, Any]:
    """The dev pod of ``record`` on ``node_name`` (of gang rank ``rank``)."""
    check_image(policy.dev_image)
    check_github_user(record.github_user)
    gpus = record.gpu_count // gang_size(record)
    pod_labels = labels(record)
    env = [
        {"name": "GPU_DEV_RESERVATION_ID", "value": record.reservation_id},
        {"name": "HOME", "value": "/home/dev"},
    ]
    requests: dict[str, str] = {GPU_RESOURCE: str(gpus)}
    naming: dict[str, str] = {}
    if record.gang_nodes:
        pod_labels |= {RANK_LABEL: str(rank), GANG_LABEL: record.reservation_id}
        env += gang_env(record, policy, rank)
        efa = policy.gpu_type(record.gpu_type).efa_interfaces
        requests[EFA_RESOURCE] = str(efa)
        naming = {
            "hostname": member_pod_name(record.reservation_id, rank),
            "subdomain": peers_service_name(record.reservation_id),
        }
    volumes = [
        {"name": "home", "persistentVolumeClaim": {"claimName": home_claim_name(record.user_id)}},
        {
            "name": "gpu-dev-info",
            "downwardAPI": {
                "items": [{"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}}]
            },
        },
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{SHM_GIB_PER_GPU * gpus}Gi"}},
    ]
    mounts = [
        {"name": "home", "mountPath": "/home/dev"},
        {"name": "gpu-dev-info", "mountPath": ANNOTATIONS_DIR, "readOnly": True},
        {"name": "shm", "mountPath": "/dev/shm"},
    ]
    if policy.workspace_claim:
        volumes.append({"name": "workspace", "persistentVolumeClaim": {"claimName": policy.workspace_claim}})
        mounts.append({"name": "workspace", "mountPath": "/workspace"})
    restricted = {
        "runAsNonRoot": True,
        "runAsUser": DEV_UID,
        "runAsGroup": DEV_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    workstation = {
        "runAsUser": 0,
        "runAsNonRoot": False,
        "allowPrivilegeEscalation": True,
        "privileged": False,
        "readOnlyRootFilesystem": False,
        "capabilities": {
            "drop": ["ALL"],
            "add": [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "KILL",
                "AUDIT_WRITE",
            ],
        },
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": member_pod_name(record.reservation_id, rank),
            "namespace": policy.namespace,
            "labels": pod_labels,
            "annotations": {WARNING_ANNOTATION: ""},
        },
        "spec": {
            **naming,
            "restartPolicy": "Always",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"fsGroup": DEV_UID, "seccompProfile": {"type": "RuntimeDefault"}},
            "tolerations": [
                {"key": GPU_RESOURCE, "operator": "Equal", "value": "true", "effect": "NoSchedule"}
            ],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": HOSTNAME_LABEL, "operator": "In", "values": [node_name]},
                                    {"key": POOL_LABEL, "operator": "In", "values": [record.gpu_type]},
                                ]
                            }
                        ]
                    }
                }
            },
            "initContainers": [
                {
                    "name": "install-ssh-keys",
                    "image": policy.dev_image,
                    "command": ["python3", "-c", INSTALL_KEYS],
                    "env": [{"name": "GITHUB_USER", "value": record.github_user}],
                    "volumeMounts": [{"name": "home", "mountPath": "/home/dev"}],
                    "securityContext": restricted,
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
            "containers": [
                {
                    "name": "dev",
                    "image": policy.dev_image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/bash", "-c", START_SSHD],
                    "ports": [{"name": "ssh", "containerPort": SSH_PORT, "protocol": "TCP"}],
                    "env": env,
                    "resources": {
                        "requests": requests
                        | {"cpu": str(CPU_PER_GPU * gpus), "memory": f"{MEMORY_GIB_PER_GPU * gpus}Gi"},
                        "limits": requests,
                    },
                    "readinessProbe": {
                        "tcpSocket": {"port": SSH_PORT},
                        "initialDelaySeconds": 2,
                        "periodSeconds": 5,
                        "failureThreshold": 3,
                    },
                    "volumeMounts": mounts,
                    "securityContext": workstation,
                }
            ],
            "volumes": volumes,
        },
    }


def pod_state(pod: dict[str, Any]) -> tuple[str, str | None]:
    """``("ready", None)``, ``("failed", reason)`` or ``("waiting", reason or None)``.

    The reason is what ``kubectl get pod`` would show: a waiting or terminated container's
    reason (``ImagePullBackOff``, ``CrashLoopBackOff``, ``Init:ErrImagePull``...), else the
    pod's own reason, else an ``Unschedulable`` condition.
    """
    status = pod.get("status") or {}
    if status.get("phase") in ("Failed", "Succeeded"):
        reason = status.get("reason") or _container_reason(status) or status["phase"]
        message = status.get("message")
        return "failed", f"{reason}: {message}" if message else reason
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if conditions.get("Ready", {}).get("status") == "True":
        return "ready", None
    reason = _container_reason(status)
    if reason is None and conditions.get("PodScheduled", {}).get("status") == "False":
        reason = conditions["PodScheduled"].get("reason") or "Unschedulable"
    if reason and reason.split(":")[-1] in TERMINAL_WAITING:
        return "failed", reason
    return "waiting", reason


def _container_reason(status: dict[str, Any]) -> str | None:
    for prefix, key in (("Init:", "initContainerStatuses"), ("", "containerStatuses")):
        for container in status.get(key) or []:
            state = container.get("state") or {}
            for kind in ("waiting", "terminated"):
                reason = (state.get(kind) or {}).get("reason")
                if reason and reason not in ("PodInitializing", "ContainerCreating", "Completed"):
                    return prefix + str(reason)
    return None
