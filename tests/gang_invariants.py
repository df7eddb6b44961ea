"""What must hold of multi-node reservations (gangs) at every moment, for the fault soak
(``tests/reservation_soak.py``): a gang starts on all of its nodes or on none, and ends with
every one of its pods and Services.

:func:`violations` reads one snapshot -- the records and GPU ledgers as the base table holds
them, and the pods and Services in the namespace -- and names every breach:

* **records**: a gang's record names either no node (not started) or all of them: ``gang_nodes``
  is ``nodes_for(gpu_count)`` distinct nodes of its pool, ``node_name`` the first; a
  ``preparing`` or ``active`` gang names them all. A one-node record names no gang.
* **ledger**: a record holds GPUs exactly while it is ``preparing`` or ``active`` (or has ended
  and its objects are not yet confirmed gone); a gang's hold names the record's nodes, in rank
  order, with ``gpu_count / nodes`` GPUs on each.
* **pods**: a gang's pod exists only while the ledger holds ALL of the gang's nodes, is named
  after its rank and runs on that rank's node; an ``active`` gang (handed to its user) has every
  member pod, each Ready. (Creating a gang's pods is one API call per pod, so for a moment some
  exist and others not yet -- as in any Kubernetes controller. That is no partial start: the
  nodes are all held, and the reservation is not active until every member is Ready.)
* **ended**: a gang that ended and whose hold is released has no pod of any rank, neither of
  its Services and not its peers NetworkPolicy (found by name, not only by label).
"""

from __future__ import annotations

from typing import Any

from reservations import dev_pod
from reservations.model import ENDED, Reservation, Status
from reservations.policy import Policy
from reservations.store import Hold, Ledger

HOLDING = (Status.PREPARING, Status.ACTIVE)


def is_gang(policy: Policy, record: Reservation) -> bool:
    """A request of more GPUs than one node of its type has (the policy refuses it on a pool
    without EFA, so it never starts there)."""
    try:
        return policy.gpu_type(record.gpu_type).nodes_for(record.gpu_count) > 1
    except KeyError:
        return False


def violations(
    policy: Policy,
    pools: dict[str, str],
    records: dict[str, Reservation],
    ledgers: dict[str, Ledger],
    pods: list[dict[str, Any]],
    others: set[tuple[str, str]],
) -> list[str]:
    """Every breach of the module's rules in one snapshot (``pools``: node name -> pool;
    ``others``: the other objects in the namespace, as (resource, name): services, policies)."""
    holds: dict[str, Hold] = {rid: hold for ledger in ledgers.values() for rid, hold in ledger.holds.items()}
    found: list[str] = []
    for rid, record in records.items():
        found += _record(policy, pools, record, holds.get(rid))
    for rid in holds.keys() - records.keys():
        found.append(f"ledger: {rid} is held but has no record")
    pods_of: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        owner = (pod["metadata"].get("labels") or {}).get(dev_pod.RESERVATION_LABEL)
        if owner:
            pods_of.setdefault(owner, []).append(pod)
    for rid, owned in pods_of.items():
        owner_record = records.get(rid)
        if owner_record is not None and is_gang(policy, owner_record):
            found += _pods(owner_record, holds.get(rid), owned)
    names = {pod["metadata"]["name"] for pod in pods}
    for rid, record in records.items():
        if record.status in ENDED and rid not in holds and is_gang(policy, record):
            size = policy.gpu_type(record.gpu_type).nodes_for(record.gpu_count)
            objects = {("services", dev_pod.service_name(rid))} | {
                (kind, dev_pod.peers_service_name(rid)) for kind in ("services", "networkpolicies")
            }
            left = sorted({dev_pod.member_pod_name(rid, rank) for rank in range(size)} & names) + sorted(
                f"{kind}/{name}" for kind, name in objects & others
            )
            if left:
                found.append(f"ended: {record.status} gang {rid} was released but {left} remain")
    return found


def _record(policy: Policy, pools: dict[str, str], record: Reservation, hold: Hold | None) -> list[str]:
    rid, nodes = record.reservation_id, record.gang_nodes
    found = []
    if record.status in HOLDING and hold is None:
        found.append(f"ledger: {record.status} {rid} holds no GPUs")
    if hold is not None and record.status not in HOLDING and record.status not in ENDED:
        found.append(f"ledger: {record.status} {rid} holds GPUs on {list(hold.nodes)}")
    if not is_gang(policy, record):
        if nodes:
            found.append(f"record: one-node {rid} names a gang {nodes}")
        return found
    size = policy.gpu_type(record.gpu_type).nodes_for(record.gpu_count)
    if nodes or record.status in HOLDING:
        pool = [node for node in nodes if pools.get(node) == record.gpu_type]
        if len(set(pool)) != size or len(nodes) != size or record.node_name != nodes[0]:
            found.append(
                f"record: {record.status} gang {rid} of {record.gpu_count} GPUs ({size} nodes) names "
                f"nodes {nodes}, node {record.node_name}"
            )
    if hold is not None and (list(hold.nodes) != nodes or hold.gpus * size != record.gpu_count):
        found.append(
            f"ledger: gang {rid} ({record.gpu_count} GPUs on {nodes}) is held as {hold.gpus} GPUs "
            f"on {list(hold.nodes)}"
        )
    return found


def _pods(record: Reservation, hold: Hold | None, pods: list[dict[str, Any]]) -> list[str]:
    rid = record.reservation_id
    if hold is None or len(hold.nodes) < 2:
        names = sorted(pod["metadata"]["name"] for pod in pods)
        return [f"pods: {names} of gang {rid} run without all its nodes held"]
    found = []
    by_rank: dict[int, dict[str, Any]] = {}
    for pod in pods:
        rank = int((pod["metadata"].get("labels") or {}).get(dev_pod.RANK_LABEL, "-1"))
        name, node = pod["metadata"]["name"], pod["spec"].get("nodeName")
        if not 0 <= rank < len(hold.nodes) or name != dev_pod.member_pod_name(rid, rank):
            found.append(f"pods: {name} of gang {rid} has rank {rank} of {len(hold.nodes)}")
        elif node != hold.nodes[rank]:
            found.append(f"pods: {name} (rank {rank}) of gang {rid} runs on {node}, not {hold.nodes[rank]}")
        by_rank[rank] = pod
    if record.status == Status.ACTIVE:
        missing = [r for r in range(len(hold.nodes)) if r not in by_rank]
        waiting = [r for r, pod in sorted(by_rank.items()) if dev_pod.pod_state(pod)[0] != "ready"]
        if missing or waiting:
            found.append(f"pods: active gang {rid} has ranks {missing} missing and {waiting} not ready")
    return found
