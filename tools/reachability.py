"""Which pod may reach which pod, on which port: Kubernetes NetworkPolicy evaluated offline.

The evaluator reads plain manifests (Namespaces, networking.k8s.io/v1 NetworkPolicies and the
pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Pods),
takes extra workloads the manifests do not show (pods that Helm charts or operators create) as
typed :class:`Workload` entries, and answers ``Cluster.check(src, dst, port)`` with a
:class:`Verdict` that names the policy rule deciding each direction. ``flow_matrix`` renders the
answers for chosen sources and destination ports as a markdown table.

Why not network-config-analyzer (judged 2026-11-30, version 2.1.0, the newest on PyPI): it is
Apache-2.0 and it runs offline on plain manifests (a Deployment/NetworkPolicy example of the
Kubernetes documentation in 0.3 s of analysis, 8 s of process on the shared 2-core machine,
mostly imports), and its connectivity report is correct on that example. But its last release
is of 2024-12-11; it pins its dependencies exactly, among them ``PyYAML==6.0.2`` where this
project pins 6.0.4, so it cannot share the project's environment; it brings lxml (a 5 MB native
wheel), beautifulsoup4, ghapi (a GitHub API client) and networkx for features we do not use; its
interface is a command line whose output is a minimised firewall-rule table, not a predicate
"may A reach B on port p" a test can assert on (its Python classes are internal, not a
documented API); and it knows no workloads beyond what manifests declare, so Helm- and
operator-created pods would have to be faked as Deployments. The semantics we need are small
and fully specified by the documentation, so this module implements them (about 300 lines) and
is tested against the documentation's own examples (``tests/test_reachability.py``).

Semantics, from the Kubernetes documentation's "Network Policies" page
(kubernetes.io/docs/concepts/services-networking/network-policies/) and the NetworkPolicy v1
API reference (kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/):

1. "By default, pods are non-isolated." A pod is isolated for ingress when a NetworkPolicy in
   its namespace selects it (``spec.podSelector``; empty selects every pod of the namespace) and
   lists Ingress among its policy types; likewise, independently, for egress.
2. Without ``policyTypes``, "Ingress will always be set and Egress will be set if the
   NetworkPolicy has any egress rules". Rules of a direction not in the policy's types are
   ignored.
3. "Network policies do not conflict; they are additive": an isolated direction allows the
   union of the rules of every policy that isolates it. A policy with no rules for a direction
   it lists allows nothing (default deny).
4. "For a network flow between two pods to be allowed, both the egress policy on the source
   pod and the ingress policy on the destination pod need to allow the traffic."
5. A rule "allows traffic which matches both the from and ports sections"; an absent or empty
   ``from``/``to`` matches every peer, an absent or empty ``ports`` every port.
6. A peer's ``podSelector`` alone selects pods in the policy's own namespace;
   ``namespaceSelector`` alone every pod of the selected namespaces; both in one peer select
   the matching pods within the matching namespaces (AND), while separate peers are OR.
   ``ipBlock`` selects addresses in ``cidr`` minus every ``except`` range, and cannot be
   combined with the selectors. An empty selector selects everything.
7. Label selectors: ``matchLabels`` and ``matchExpressions`` (In, NotIn, Exists,
   DoesNotExist), all ANDed. Every namespace carries ``kubernetes.io/metadata.name: <name>``
   (set by the API server).
8. Ports: ``protocol`` defaults to TCP (TCP, UDP, SCTP); no ``port`` matches every port of the
   protocol; a number matches that port, or ``port``..``endPort`` inclusive; a name matches the
   container port of that name and protocol on the destination pod (for ingress and egress
   alike; an address outside the cluster has no named ports, so a named port never matches it).

Endpoints outside the cluster (the internet, the VPC's API server endpoints) are
:class:`External` addresses: only the pod end of such a flow is subject to policy, and only
``ipBlock`` peers can match them. A workload may carry an ``ip`` standing for its pods' addresses
(on EKS with the VPC CNI, pods take addresses from the VPC's subnets), so that an ``ipBlock``
covering the VPC is seen to cover pods too.

Not modelled, by design (the documentation's exceptions and undefined cases): traffic between a
pod and the node it runs on (always allowed: kubelet probes), a pod to itself (always allowed;
``check(a, a, ...)`` means two replicas of one workload), hostNetwork pods (behaviour left to
the network plugin), the rewriting of Service IPs, cluster-wide policy APIs
(AdminNetworkPolicy) and CNI-specific extensions. Layer 7 authorisation (Linkerd's
AuthorizationPolicy) is a separate, further gate and not evaluated here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from platform_config.contract import NAMESPACE_NAME_LABEL

PROTOCOLS = ("TCP", "UDP", "SCTP")
# kind -> path from the object to its pod template
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class ManifestError(ValueError):
    """A manifest the evaluator cannot read: names the object, the field and what is allowed."""


@dataclass(frozen=True)
class ContainerPort:
    number: int
    name: str = ""
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.name} {self.number}/{self.protocol}" if self.name else f"{self.number}/{self.protocol}"


@dataclass(frozen=True, eq=False)
class Workload:
    """The pods of one workload: where they run, their labels and their containers' ports."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...] = ()
    kind: str = "Pod"
    ip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def port(self, name: str) -> ContainerPort:
        for port in self.ports:
            if port.name == name:
                return port
        known = ", ".join(p.name for p in self.ports if p.name) or "none"
        raise KeyError(f"{self.id} has no container port named {name!r} (named ports: {known})")


@dataclass(frozen=True)
class External:
    """An address outside the cluster (the internet, the VPC's API server endpoints)."""

    name: str
    ip: str

    @property
    def id(self) -> str:
        return self.name


Endpoint = Workload | External


@dataclass(frozen=True, eq=False)
class Selector:
    """A label selector: ``matchLabels`` plus ``matchExpressions``, all ANDed; empty selects all."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    expressions: tuple[tuple[str, str, frozenset[str]], ...] = ()

    @classmethod
    def parse(cls, raw: Mapping | None, where: str) -> Selector:
        raw = raw or {}
        expressions = []
        for i, expression in enumerate(raw.get("matchExpressions") or ()):
            operator, key = expression.get("operator"), expression.get("key")
            values = frozenset(expression.get("values") or ())
            if operator not in SELECTOR_OPERATORS:
                allowed = ", ".join(SELECTOR_OPERATORS)
                raise ManifestError(
                    f"{where}.matchExpressions[{i}].operator: {operator!r} is not one of {allowed}"
                )
            if not key:
                raise ManifestError(f"{where}.matchExpressions[{i}].key is missing")
            if (operator in ("In", "NotIn")) != bool(values):
                need = "needs values" if operator in ("In", "NotIn") else "takes no values"
                raise ManifestError(f"{where}.matchExpressions[{i}]: operator {operator} {need}")
            expressions.append((key, operator, values))
        return cls(dict(raw.get("matchLabels") or {}), tuple(expressions))

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        for key, operator, values in self.expressions:
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True


@dataclass(frozen=True)
class IPBlock:
    cidr: ipaddress.IPv4Network | ipaddress.IPv6Network
    excepts: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping, where: str) -> IPBlock:
        try:
            cidr = ipaddress.ip_network(raw.get("cidr", ""), strict=False)
            excepts = tuple(ipaddress.ip_network(e, strict=False) for e in raw.get("except") or ())
        except ValueError as exc:
            raise ManifestError(f"{where}: {exc} (a CIDR such as 10.0.0.0/16 is expected)") from None
        return cls(cidr, excepts)

    def contains(self, ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return address in self.cidr and not any(address in e for e in self.excepts)


@dataclass(frozen=True)
class Peer:
    pods: Selector | None = None
    namespaces: Selector | None = None
    ip_block: IPBlock | None = None

    @classmethod
    def parse(cls, raw: Mapping, where: str) -> Peer:
        if "ipBlock" in raw:
            if "podSelector" in raw or "namespaceSelector" in raw:
                raise ManifestError(
                    f"{where}: ipBlock cannot be combined with podSelector or namespaceSelector"
                )
            return cls(ip_block=IPBlock.parse(raw["ipBlock"], f"{where}.ipBlock"))
        if "podSelector" not in raw and "namespaceSelector" not in raw:
            raise ManifestError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
        return cls(
            pods=Selector.parse(raw["podSelector"], f"{where}.podSelector") if "podSelector" in raw else None,
            namespaces=Selector.parse(raw["namespaceSelector"], f"{where}.namespaceSelector")
            if "namespaceSelector" in raw
            else None,
        )


@dataclass(frozen=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    @classmethod
    def parse(cls, raw: Mapping, where: str) -> PolicyPort:
        protocol, port, end_port = raw.get("protocol", "TCP"), raw.get("port"), raw.get("endPort")
        if protocol not in PROTOCOLS:
            raise ManifestError(f"{where}.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if end_port is not None and not (isinstance(port, int) and end_port >= port):
            raise ManifestError(
                f"{where}.endPort {end_port} needs a numeric port no greater than it (port: {port!r})"
            )
        return cls(protocol, port, end_port)

    def matches(self, dst: Endpoint, number: int, protocol: str) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, int):
            return self.port <= number <= (self.end_port or self.port)
        return isinstance(dst, Workload) and any(
            p.name == self.port and p.protocol == protocol and p.number == number for p in dst.ports
        )


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...] = ()  # empty: every peer
    ports: tuple[PolicyPort, ...] = ()  # empty: every port


@dataclass(frozen=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: Selector
    types: frozenset[str]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, obj: Mapping) -> NetworkPolicy:
        metadata, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        namespace = metadata.get("namespace", "default")
        where = f"NetworkPolicy {namespace}/{metadata.get('name')}: spec"
        types = spec.get("policyTypes")
        if types is None:  # implied: Ingress always, Egress when there are egress rules
            types = ["Ingress", *(["Egress"] if spec.get("egress") else [])]
        if unknown := set(types) - {"Ingress", "Egress"}:
            raise ManifestError(f"{where}.policyTypes: {sorted(unknown)} (allowed: Ingress, Egress)")
        rules = {}
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            rules[direction] = tuple(
                Rule(
                    tuple(
                        Peer.parse(peer, f"{where}.{direction}[{i}].{peers_key}[{j}]")
                        for j, peer in enumerate(rule.get(peers_key) or ())
                    ),
                    tuple(
                        PolicyPort.parse(port, f"{where}.{direction}[{i}].ports[{j}]")
                        for j, port in enumerate(rule.get("ports") or ())
                    ),
                )
                for i, rule in enumerate(spec.get(direction) or ())
            )
        return cls(
            namespace=namespace,
            name=metadata.get("name", ""),
            pod_selector=Selector.parse(spec.get("podSelector"), f"{where}.podSelector"),
            types=frozenset(types),
            **rules,
        )


@dataclass(frozen=True)
class Verdict:
    """One flow's answer, with the reason for each direction (the rule that allowed it, or the
    policies that isolate the pod when none does)."""

    src: str
    dst: str
    port: int
    protocol: str
    egress: str
    ingress: str
    allowed: bool

    def __bool__(self) -> bool:
        return self.allowed

    def __str__(self) -> str:
        word = "allowed" if self.allowed else "denied"
        flow = f"{self.src} -> {self.dst} {self.port}/{self.protocol}"
        return f"{flow}: {word} (egress: {self.egress}; ingress: {self.ingress})"


def _pod_template(obj: Mapping) -> Mapping | None:
    template: Mapping | None = obj
    for key in POD_TEMPLATE_PATHS[obj["kind"]]:
        template = (template or {}).get(key)
    return template


def _container_ports(pod_spec: Mapping, where: str) -> tuple[ContainerPort, ...]:
    """The ports of the containers and of native sidecars (init containers that keep running)."""
    containers = list(pod_spec.get("containers") or ())
    containers += [c for c in pod_spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    ports = []
    for container in containers:
        for raw in container.get("ports") or ():
            protocol = raw.get("protocol", "TCP")
            if protocol not in PROTOCOLS:
                raise ManifestError(f"{where}: container {container.get('name')} port protocol {protocol!r}")
            ports.append(ContainerPort(int(raw["containerPort"]), raw.get("name", ""), protocol))
    return tuple(ports)


def workloads_in(objects: Iterable[Mapping]) -> list[Workload]:
    """Every workload whose pod template the manifests carry."""
    found = []
    for obj in objects:
        if obj.get("kind") not in POD_TEMPLATE_PATHS:
            continue
        metadata = obj.get("metadata") or {}
        namespace, name = metadata.get("namespace", "default"), metadata.get("name", "")
        template = _pod_template(obj) or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        where = f"{obj['kind']} {namespace}/{name}"
        found.append(
            Workload(
                namespace,
                name,
                dict(labels),
                _container_ports(template.get("spec") or {}, where),
                obj["kind"],
            )
        )
    return found


@dataclass(frozen=True)
class Cluster:
    namespaces: Mapping[str, Mapping[str, str]]  # declared namespaces -> labels
    workloads: tuple[Workload, ...]
    policies: tuple[NetworkPolicy, ...]

    @classmethod
    def from_manifests(cls, objects: Iterable[Mapping], extra_workloads: Sequence[Workload] = ()) -> Cluster:
        """The cluster the manifests describe, plus ``extra_workloads`` (pods that charts or
        operators create). NetworkPolicies of other API versions are refused, not ignored."""
        objects = list(objects)
        namespaces = {
            o["metadata"]["name"]: dict(o["metadata"].get("labels") or {})
            for o in objects
            if o.get("kind") == "Namespace"
        }
        policies = []
        for obj in objects:
            if obj.get("kind") != "NetworkPolicy":
                continue
            if obj.get("apiVersion") != "networking.k8s.io/v1":
                name, version = (obj.get("metadata") or {}).get("name"), obj.get("apiVersion")
                raise ManifestError(
                    f"NetworkPolicy {name}: apiVersion {version!r} (only networking.k8s.io/v1 is read)"
                )
            policies.append(NetworkPolicy.parse(obj))
        return cls(namespaces, (*workloads_in(objects), *extra_workloads), tuple(policies))

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels, with the one the API server sets on every namespace."""
        return {**self.namespaces.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}

    def workload(self, workload_id: str) -> Workload:
        for workload in self.workloads:
            if workload.id == workload_id:
                return workload
        raise KeyError(f"no workload {workload_id!r}; known: {', '.join(w.id for w in self.workloads)}")

    def _peer_matches(self, peer: Peer, other: Endpoint, policy_namespace: str) -> bool:
        if peer.ip_block is not None:
            return other.ip is not None and peer.ip_block.contains(other.ip)
        if not isinstance(other, Workload):
            return False
        if peer.namespaces is None:
            in_namespace = other.namespace == policy_namespace
        else:
            in_namespace = peer.namespaces.matches(self.namespace_labels(other.namespace))
        return in_namespace and (peer.pods is None or peer.pods.matches(other.labels))

    def _direction(
        self, pod: Endpoint, direction: str, other: Endpoint, dst: Endpoint, number: int, protocol: str
    ) -> tuple[bool, str]:
        """Whether ``pod``'s policies allow the flow in ``direction`` ("Ingress": from
        ``other``; "Egress": to ``other``), and why."""
        if not isinstance(pod, Workload):
            return True, "outside the cluster"
        isolating = [
            p
            for p in self.policies
            if p.namespace == pod.namespace and direction in p.types and p.pod_selector.matches(pod.labels)
        ]
        if not isolating:
            return True, "not isolated"
        for policy in isolating:
            rules = policy.ingress if direction == "Ingress" else policy.egress
            for i, rule in enumerate(rules):
                peer_ok = not rule.peers or any(
                    self._peer_matches(p, other, policy.namespace) for p in rule.peers
                )
                port_ok = not rule.ports or any(p.matches(dst, number, protocol) for p in rule.ports)
                if peer_ok and port_ok:
                    return True, f"{policy.id} {direction.lower()}[{i}]"
        return False, f"isolated by {', '.join(p.id for p in isolating)}; no rule matches"

    def check(self, src: Endpoint, dst: Endpoint, port: int | str, protocol: str | None = None) -> Verdict:
        """May ``src`` open a connection to ``dst`` on ``port`` (a number, or a container port
        name of ``dst``)? ``protocol`` defaults to TCP, or to the named port's protocol."""
        if not isinstance(src, Workload) and not isinstance(dst, Workload):
            raise ValueError(f"{src.id} -> {dst.id}: neither end is a pod, so no NetworkPolicy applies")
        if isinstance(port, str):
            if not isinstance(dst, Workload):
                raise ValueError(f"{dst.id} is outside the cluster and has no named port {port!r}")
            named = dst.port(port)
            if protocol not in (None, named.protocol):
                raise ValueError(f"{dst.id} port {port!r} is {named.protocol}, not {protocol}")
            number, protocol = named.number, named.protocol
        else:
            number, protocol = port, protocol or "TCP"
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        egress_ok, egress = self._direction(src, "Egress", dst, dst, number, protocol)
        ingress_ok, ingress = self._direction(dst, "Ingress", src, dst, number, protocol)
        return Verdict(src.id, dst.id, number, protocol, egress, ingress, egress_ok and ingress_ok)

    def allowed(self, src: Endpoint, dst: Endpoint, port: int | str, protocol: str | None = None) -> bool:
        return self.check(src, dst, port, protocol).allowed


def declared_ports(destinations: Iterable[Workload]) -> list[tuple[Workload, ContainerPort]]:
    """Every container port of each destination, the rows of a flow matrix."""
    return [(workload, port) for workload in destinations for port in workload.ports]


def flow_matrix(
    cluster: Cluster,
    sources: Sequence[Endpoint],
    targets: Sequence[tuple[Endpoint, ContainerPort]],
) -> str:
    """A markdown table: one row per destination port, one column per source, each cell
    ``allow`` or ``deny``."""
    header = "| destination | port | " + " | ".join(f"`{s.id}`" for s in sources) + " |"
    rows = [header, "|---|---|" + "---|" * len(sources)]
    for dst, port in targets:
        cells = []
        for src in sources:
            if not (isinstance(src, Workload) or isinstance(dst, Workload)):
                cells.append("")
                continue
            cells.append("allow" if cluster.allowed(src, dst, port.number, port.protocol) else "**deny**")
        rows.append(f"| `{dst.id}` | {port} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
