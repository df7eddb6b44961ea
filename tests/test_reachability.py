"""The NetworkPolicy evaluator (tools/reachability.py) against the examples of the Kubernetes
documentation's "Network Policies" page, each written as manifests and asserted for concrete pod
pairs, plus the edge cases the API reference defines; then the platform's dev stage as it is
synthesized today (tools/flow_matrix.py)."""

from __future__ import annotations

import cdk8s
import pytest
import yaml

from tools.flow_matrix import README_STAGE, README_TABLE, StageFlows, stage_flows
from tools.reachability import (
    Cluster,
    ContainerPort,
    External,
    ManifestError,
    NetworkPolicy,
    Workload,
    declared_ports,
    flow_matrix,
    workloads_in,
)


def namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(ns: str, name: str, labels: dict, ports: tuple = ()) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "x", "ports": list(ports)}]},
    }


def policy(text: str) -> dict:
    return yaml.safe_load(text)


def cluster(*objects: dict, extra: tuple[Workload, ...] = ()) -> Cluster:
    return Cluster.from_manifests(objects, extra)


# The documentation's example: default/role=db isolated both ways; ingress on TCP 6379 from
# 172.17.0.0/16 except 172.17.1.0/24, from namespaces labelled project=myproject, from
# role=frontend pods of its own namespace; egress to 10.0.0.0/24 on TCP 5978.
TEST_NETWORK_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
"""


@pytest.fixture
def docs_example() -> Cluster:
    return cluster(
        namespace("default"),
        namespace("myproject", project="myproject"),
        namespace("other"),
        pod("default", "db", {"role": "db"}, ({"containerPort": 6379, "name": "redis"},)),
        pod("default", "frontend", {"role": "frontend"}),
        pod("default", "backend", {"role": "backend"}),
        pod("myproject", "anything", {"app": "x"}),
        pod("other", "frontend", {"role": "frontend"}),
        policy(TEST_NETWORK_POLICY),
    )


def test_docs_example_ingress_sources(docs_example):
    c, db = docs_example, docs_example.workload("default/db")
    assert c.allowed(c.workload("default/frontend"), db, 6379)
    assert c.allowed(c.workload("myproject/anything"), db, 6379)
    assert c.allowed(External("in-range", "172.17.0.9"), db, 6379)
    assert c.allowed(External("in-range", "172.17.2.1"), db, 6379)
    # role=frontend counts only in the policy's own namespace
    assert not c.allowed(c.workload("other/frontend"), db, 6379)
    assert not c.allowed(c.workload("default/backend"), db, 6379)
    assert not c.allowed(External("excepted", "172.17.1.20"), db, 6379)
    assert not c.allowed(External("outside", "172.18.0.1"), db, 6379)


def test_docs_example_ports_and_protocols(docs_example):
    c, db, frontend = (
        docs_example,
        docs_example.workload("default/db"),
        docs_example.workload("default/frontend"),
    )
    assert not c.allowed(frontend, db, 6380)
    assert not c.allowed(frontend, db, 6379, "UDP")
    assert c.allowed(frontend, db, "redis")  # a query may name the destination's port


def test_docs_example_egress_of_db(docs_example):
    c, db = docs_example, docs_example.workload("default/db")
    assert c.allowed(db, External("ten-net", "10.0.0.7"), 5978)
    assert not c.allowed(db, External("ten-net", "10.0.0.7"), 443)
    assert not c.allowed(db, External("elsewhere", "10.0.1.7"), 5978)
    # db's egress is isolated, so even an unpoliced pod is out of its reach
    verdict = c.check(db, c.workload("default/frontend"), 80)
    assert not verdict and verdict.egress.startswith("isolated by default/test-network-policy")
    assert verdict.ingress == "not isolated"


def test_pods_no_policy_selects_are_open_both_ways(docs_example):
    c = docs_example
    frontend, backend = c.workload("default/frontend"), c.workload("default/backend")
    assert c.allowed(frontend, backend, 12345)
    assert c.allowed(backend, External("internet", "1.1.1.1"), 443)
    assert c.allowed(External("internet", "1.1.1.1"), backend, 22)


DEFAULT_POLICIES = {
    "default-deny-ingress": "spec: {podSelector: {}, policyTypes: [Ingress]}",
    "allow-all-ingress": "spec: {podSelector: {}, ingress: [{}], policyTypes: [Ingress]}",
    "default-deny-egress": "spec: {podSelector: {}, policyTypes: [Egress]}",
    "allow-all-egress": "spec: {podSelector: {}, egress: [{}], policyTypes: [Egress]}",
    "default-deny-all": "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}",
}


def default_policy(name: str) -> dict:
    body = yaml.safe_load(DEFAULT_POLICIES[name])
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "prod"},
    } | body


@pytest.mark.parametrize(
    "policies, into_prod, out_of_prod",
    [
        ((), True, True),
        (("default-deny-ingress",), False, True),
        (("default-deny-egress",), True, False),
        (("default-deny-all",), False, False),
        # allow-all ingress overrides any isolation of ingress, leaves egress alone
        (("default-deny-all", "allow-all-ingress"), True, False),
        (("default-deny-all", "allow-all-egress"), False, True),
        (("default-deny-all", "allow-all-ingress", "allow-all-egress"), True, True),
    ],
)
def test_default_policies_of_the_docs(policies, into_prod, out_of_prod):
    c = cluster(
        namespace("prod"),
        namespace("dev"),
        pod("prod", "api", {"app": "api"}),
        pod("dev", "shell", {"app": "shell"}),
        *(default_policy(p) for p in policies),
    )
    api, shell = c.workload("prod/api"), c.workload("dev/shell")
    assert c.allowed(shell, api, 8080) is into_prod
    assert c.allowed(api, shell, 8080) is out_of_prod
    # within the namespace both directions apply to one pair
    c2 = cluster(
        namespace("prod"),
        pod("prod", "a", {"app": "a"}),
        pod("prod", "b", {"app": "b"}),
        *(default_policy(p) for p in policies),
    )
    assert c2.allowed(c2.workload("prod/a"), c2.workload("prod/b"), 80) is (into_prod and out_of_prod)


AND_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: and, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
      podSelector:
        matchLabels:
          role: client
"""
OR_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: or, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
    - podSelector:
        matchLabels:
          role: client
"""


@pytest.mark.parametrize(
    "text, client_in_alice, other_in_alice, client_at_home, client_in_bob",
    [(AND_POLICY, True, False, False, False), (OR_POLICY, True, True, True, False)],
    ids=["one peer: AND", "two peers: OR"],
)
def test_and_versus_or_of_the_docs(text, client_in_alice, other_in_alice, client_at_home, client_in_bob):
    c = cluster(
        namespace("default"),
        namespace("alice-ns", user="alice"),
        namespace("bob-ns", user="bob"),
        pod("default", "db", {"app": "db"}),
        pod("default", "client", {"role": "client"}),
        pod("alice-ns", "client", {"role": "client"}),
        pod("alice-ns", "other", {"role": "other"}),
        pod("bob-ns", "client", {"role": "client"}),
        policy(text),
    )
    db = c.workload("default/db")
    assert c.allowed(c.workload("alice-ns/client"), db, 80) is client_in_alice
    assert c.allowed(c.workload("alice-ns/other"), db, 80) is other_in_alice
    assert c.allowed(c.workload("default/client"), db, 80) is client_at_home
    assert c.allowed(c.workload("bob-ns/client"), db, 80) is client_in_bob


MULTI_PORT_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: multi-port-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
    - Egress
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/24
      ports:
        - protocol: TCP
          port: 32000
          endPort: 32768
"""


@pytest.mark.parametrize(
    "port, allowed", [(31999, False), (32000, True), (32500, True), (32768, True), (32769, False)]
)
def test_end_port_range_of_the_docs(port, allowed):
    c = cluster(namespace("default"), pod("default", "db", {"role": "db"}), policy(MULTI_PORT_EGRESS))
    assert c.allowed(c.workload("default/db"), External("ten-net", "10.0.0.1"), port) is allowed
    # Egress-only: db stays open for ingress
    assert c.allowed(External("anyone", "192.0.2.1"), c.workload("default/db"), 22)


def allow_named_port(name: str, direction: str = "ingress") -> dict:
    rule = {"ports": [{"port": name}]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"named-{direction}", "namespace": "ns"},
        "spec": {"podSelector": {}, "policyTypes": [direction.capitalize()], direction: [rule]},
    }


def test_named_ports_resolve_on_the_destination():
    c = cluster(
        namespace("ns"),
        pod("ns", "nats", {"app": "nats"}, ({"containerPort": 4222, "name": "client"},)),
        pod("ns", "web", {"app": "web"}, ({"containerPort": 8080, "name": "http"},)),
        pod("ns", "dns", {"app": "dns"}, ({"containerPort": 53, "name": "client", "protocol": "UDP"},)),
        allow_named_port("client"),
    )
    nats, web, dns = c.workload("ns/nats"), c.workload("ns/web"), c.workload("ns/dns")
    assert c.allowed(web, nats, 4222)
    # web defines no port named "client", so the rule matches nothing on web
    assert not c.allowed(nats, web, 8080)
    assert not c.allowed(nats, web, 4222)
    # the name resolves per protocol: dns's "client" is UDP, the rule's protocol is TCP
    assert not c.allowed(web, dns, 53, "UDP")
    udp_rule = allow_named_port("client") | {"metadata": {"name": "udp", "namespace": "ns"}}
    udp_rule["spec"]["ingress"][0]["ports"][0]["protocol"] = "UDP"
    c_udp = cluster(
        namespace("ns"), pod("ns", "nats", {}, ({"containerPort": 4222, "name": "client"},)), udp_rule
    )
    nats_tcp = c_udp.workload("ns/nats")
    # a UDP rule naming "client" does not open the TCP port of that name, nor its number over UDP
    assert not c_udp.allowed(web, nats_tcp, 4222, "UDP")
    assert not c_udp.allowed(web, nats_tcp, 4222)
    with pytest.raises(KeyError, match="no container port named 'metrics'"):
        c.check(web, nats, "metrics")


def test_a_named_port_in_egress_resolves_on_the_destination_pod_and_never_on_an_address():
    c = cluster(
        namespace("ns"),
        pod("ns", "nats", {"app": "nats"}, ({"containerPort": 4222, "name": "client"},)),
        pod("ns", "web", {"app": "web"}),
        allow_named_port("client", "egress"),
    )
    web, nats = c.workload("ns/web"), c.workload("ns/nats")
    assert c.allowed(web, nats, 4222)
    assert not c.allowed(web, External("internet", "1.1.1.1"), 4222)


def test_a_flow_needs_egress_of_the_source_and_ingress_of_the_destination():
    allow_egress = policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-api, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}}]}]
""")
    allow_ingress = policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-a, namespace: b}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: a}}}]}]
""")
    deny_all_b = default_policy("default-deny-all") | {"metadata": {"name": "deny", "namespace": "b"}}
    deny_all_a = default_policy("default-deny-all") | {"metadata": {"name": "deny", "namespace": "a"}}
    pods = (namespace("a"), namespace("b"), pod("a", "client", {}), pod("b", "api", {}))

    def verdict(*policies):
        c = cluster(*pods, *policies)
        return c.check(c.workload("a/client"), c.workload("b/api"), 80)

    assert verdict(deny_all_a, deny_all_b, allow_egress, allow_ingress)
    only_egress = verdict(deny_all_a, deny_all_b, allow_egress)
    assert not only_egress and only_egress.egress == "a/to-api egress[0]" and "b/deny" in only_egress.ingress
    only_ingress = verdict(deny_all_a, deny_all_b, allow_ingress)
    assert (
        not only_ingress and only_ingress.ingress == "b/from-a ingress[0]" and "a/deny" in only_ingress.egress
    )


def test_a_policy_of_egress_type_only_leaves_ingress_open_even_with_ingress_rules():
    egress_only = policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: ns}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]
""")
    c = cluster(namespace("ns"), pod("ns", "api", {"app": "api"}), pod("ns", "x", {"app": "x"}), egress_only)
    api, x = c.workload("ns/api"), c.workload("ns/x")
    assert c.check(x, api, 80).ingress == "not isolated"
    assert c.allowed(x, api, 80)
    assert not c.allowed(api, x, 80)


def test_without_policy_types_egress_is_implied_by_egress_rules_only():
    implied = policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: implied, namespace: ns}
spec:
  podSelector: {}
  egress: []
""")
    c = cluster(namespace("ns"), pod("ns", "a", {}), pod("ns", "b", {}), implied)
    a, b = c.workload("ns/a"), c.workload("ns/b")
    assert c.check(a, b, 80).egress == "not isolated"  # empty egress: Ingress type only
    assert not c.allowed(a, b, 80)  # ...and ingress, listed by default, now denies


@pytest.mark.parametrize(
    "expression, matches_prod, matches_unlabelled",
    [
        ({"key": "env", "operator": "In", "values": ["prod", "staging"]}, True, False),
        ({"key": "env", "operator": "NotIn", "values": ["prod"]}, False, True),
        ({"key": "env", "operator": "Exists"}, True, False),
        ({"key": "env", "operator": "DoesNotExist"}, False, True),
    ],
)
def test_match_expressions_on_namespaces(expression, matches_prod, matches_unlabelled):
    rule = {"from": [{"namespaceSelector": {"matchExpressions": [expression]}}]}
    c = cluster(
        namespace("prod", env="prod"),
        namespace("plain"),
        namespace("db"),
        pod("prod", "p", {}),
        pod("plain", "q", {}),
        pod("db", "db", {}),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "expr", "namespace": "db"},
            "spec": {"podSelector": {}, "ingress": [rule]},
        },
    )
    db = c.workload("db/db")
    assert c.allowed(c.workload("prod/p"), db, 80) is matches_prod
    assert c.allowed(c.workload("plain/q"), db, 80) is matches_unlabelled


def test_an_empty_namespace_selector_selects_every_namespace_and_pods_need_a_selector_match():
    c = cluster(
        namespace("a"),
        namespace("b"),
        pod("a", "db", {"app": "db"}),
        pod("b", "metrics", {"app": "prometheus"}),
        pod("b", "shell", {"app": "shell"}),
        policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: scrape, namespace: a}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: prometheus}}}]
    ports: [{port: 9100}]
"""),
    )
    db = c.workload("a/db")
    assert c.allowed(c.workload("b/metrics"), db, 9100)
    assert not c.allowed(c.workload("b/shell"), db, 9100)


def test_workloads_are_read_from_every_pod_template_kind():
    template = {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]},
    }
    objects = [
        {"kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}, "spec": {"template": template}},
        {"kind": "StatefulSet", "metadata": {"name": "s", "namespace": "n"}, "spec": {"template": template}},
        {"kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "n"}, "spec": {"template": template}},
        {"kind": "Job", "metadata": {"name": "j", "namespace": "n"}, "spec": {"template": template}},
        {"kind": "CronJob", "metadata": {"name": "cj", "namespace": "n"},
         "spec": {"jobTemplate": {"spec": {"template": template}}}},
        {"kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}}, "spec": template["spec"]},
        {"kind": "Service", "metadata": {"name": "svc", "namespace": "n"}, "spec": {}},
    ]  # fmt: skip
    found = workloads_in(objects)
    assert [w.id for w in found] == ["n/d", "n/s", "n/ds", "n/j", "n/cj", "default/p"]
    assert all(w.labels == {"app": "x"} and w.ports == (ContainerPort(80, "http"),) for w in found)


def test_namespaces_carry_their_automatic_name_label():
    c = cluster(namespace("declared", team="a"))
    assert c.namespace_labels("declared") == {"team": "a", "kubernetes.io/metadata.name": "declared"}
    assert c.namespace_labels("helm-made") == {"kubernetes.io/metadata.name": "helm-made"}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}},
         "operator: 'Gt' is not one of In, NotIn"),
        ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
         "ipBlock cannot be combined"),
        ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0/8"}}]}]}, "ingress[0].from[0].ipBlock"),
        ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "endPort 90 needs a numeric port"),
        ({"egress": [{"ports": [{"protocol": "ICMP"}]}]}, "protocol: 'ICMP' is not one of TCP, UDP, SCTP"),
        ({"ingress": [{"from": [{}]}]}, "a peer needs podSelector, namespaceSelector or ipBlock"),
        ({"policyTypes": ["Inbound"]}, "policyTypes: ['Inbound']"),
    ],
)  # fmt: skip
def test_bad_policies_fail_naming_the_object_and_field(spec, message):
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bad", "namespace": "ns"},
        "spec": spec,
    }
    with pytest.raises(ManifestError, match="NetworkPolicy ns/bad") as error:
        cluster(bad)
    assert message in str(error.value)


def test_flow_matrix_renders_one_row_per_destination_port():
    c = cluster(
        namespace("ns"),
        pod(
            "ns",
            "api",
            {"app": "api"},
            ({"containerPort": 80, "name": "http"}, {"containerPort": 9090, "name": "metrics"}),
        ),
        pod("ns", "shell", {"app": "shell"}),
        policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: ns}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: shell}}}], ports: [{port: http}]}]
"""),
    )
    api, shell = c.workload("ns/api"), c.workload("ns/shell")
    internet = External("internet", "198.51.100.7")
    table = flow_matrix(c, [shell, internet], declared_ports([api]))
    assert table.splitlines() == [
        "| destination | port | `ns/shell` | `internet` |",
        "|---|---|---|---|",
        "| `ns/api` | http 80/TCP | allow | **deny** |",
        "| `ns/api` | metrics 9090/TCP | **deny** | **deny** |",
    ]


# --- the platform's dev stage, as synthesized today ---------------------------------------------


@pytest.fixture(scope="module")
def dev_flows(synth) -> StageFlows:
    return stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == README_STAGE})


def test_the_dev_stage_is_read_whole(dev_flows):
    ids = {w.id for w in dev_flows.cluster.workloads}
    expected = {
        "nats/nats", "inference/triton", "minio/minio", "gpu-dev/dev-pod", "kube-system/coredns",
        "monitoring/prometheus", "monitoring/grafana", "monitoring/loki", "monitoring/alloy",
        "dynamo-system/qwen-agg-frontend", "dynamo-system/qwen-agg-worker",
        "platform-secrets/secret-sync", "ecr-token-refresh/ecr-token-refresh",
    }  # fmt: skip
    assert expected <= ids
    dev = dev_flows.cluster.workload("gpu-dev/dev-pod")
    assert dev.labels["app.kubernetes.io/name"] == "gpu-dev"  # from reservations.dev_pod itself
    assert dev.port("ssh").number == 2222
    # every ServiceMonitor becomes a scrape flow to a real pod port
    scrapes = {(f.dst.id, f.port.number) for f in dev_flows.required if f.why.startswith("ServiceMonitor")}
    assert scrapes == {
        ("nats/nats", 7777), ("inference/triton", 8002), ("minio/minio", 9000),
        ("llm-serving/qwen-vllm", 8000), ("llm-serving/qwen-tgi", 8000),
    }  # fmt: skip


def test_every_flow_the_platform_needs_is_allowed(dev_flows):
    c = dev_flows.cluster
    denied = [
        str(v) for f in dev_flows.required if not (v := c.check(f.src, f.dst, f.port.number, f.port.protocol))
    ]
    assert denied == []
    whys = {f.why for f in dev_flows.required}
    assert {"DNS", "Dynamo request and event plane", "Grafana data source", "log push"} <= whys


def test_a_policy_that_cuts_dynamo_off_nats_fails_the_needed_flows(dev_flows):
    only_prometheus = policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: scrape-only, namespace: nats}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
      podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
""")
    c = Cluster(
        dev_flows.cluster.namespaces, dev_flows.cluster.workloads, (NetworkPolicy.parse(only_prometheus),)
    )
    denied = [c.check(f.src, f.dst, f.port.number) for f in dev_flows.required]
    denied = [v for v in denied if not v]
    assert denied and all(v.dst == "nats/nats" for v in denied)
    assert "dynamo-system/qwen-agg-frontend" in {v.src for v in denied}
    assert all("isolated by nats/scrape-only" in v.ingress for v in denied)


def test_a_dev_pod_reaches_no_platform_service(dev_flows):
    c = dev_flows.cluster
    targets = {f.dst.id for f in dev_flows.forbidden}
    assert {
        "nats/nats",
        "minio/minio",
        "monitoring/prometheus",
        "monitoring/grafana",
        "monitoring/loki",
    } <= targets
    assert {"inference/triton", "dynamo-system/qwen-agg-frontend", "dynamo-system/qwen-agg-worker"} <= targets
    allowed = [
        str(v) for f in dev_flows.forbidden if (v := c.check(f.src, f.dst, f.port.number, f.port.protocol))
    ]
    assert allowed == []


def test_readme_flow_matrix_is_generated_from_the_dev_stage(dev_flows):
    from tools.readme_tables import README, table_in

    shown = table_in(README.read_text(), README_TABLE)
    assert shown is not None, f"README.md lacks the <!-- table:{README_TABLE} --> markers"
    assert shown == dev_flows.matrix(), (
        "README flow matrix is stale: run `make synth && python -m tools.flow_matrix cdk.out --write-readme`"
    )


def test_a_trainjobs_nodes_and_a_ray_clusters_pods_reach_each_other_and_nothing_else_does(dev_flows):
    c = dev_flows.cluster
    whys = {f.why for f in dev_flows.required}
    assert {
        "torchrun rendezvous and NCCL bootstrap",
        "Ray worker to its head's GCS",
        "Trainer's webhook",
    } <= whys
    outsiders = [f for f in dev_flows.forbidden if f.why == "a pod outside the job"]
    assert {f.dst.name for f in outsiders} == {"trainjob-node-0", "trainjob-node-1", "ray-head"}
    assert not [str(v) for f in outsiders if (v := c.check(f.src, f.dst, f.port.number))]
    # without the peers policy, the job's own nodes are cut off from each other
    kept = tuple(p for p in c.policies if p.name != "allow-trainjob-peers")
    cut = Cluster(c.namespaces, c.workloads, kept)
    node0, node1 = c.workload("team-agentic/trainjob-node-0"), c.workload("team-agentic/trainjob-node-1")
    assert c.allowed(node0, node1, 29500) and not cut.allowed(node0, node1, 29500)


# Every port the API server calls in the dev stage (admission webhooks and Kueue's aggregated
# visibility API), as the pinned charts' templates declare them (README "Tenancy and security").
WEBHOOKS = {
    ("cert-manager/cert-manager-webhook", 10250),
    ("cert-manager/trust-manager", 6443),
    ("linkerd/linkerd-destination", 8443),
    ("linkerd/linkerd-destination", 9443),
    ("linkerd/linkerd-proxy-injector", 8443),
    ("monitoring/prometheus-operator", 10250),
    ("kueue-system/kueue-controller-manager", 9443),
    ("kueue-system/kueue-controller-manager", 8082),
    ("dynamo-system/dynamo-operator", 9443),
}


def test_the_api_server_reaches_every_webhook_and_every_operator_the_api_server(dev_flows):
    calls = [f for f in dev_flows.required if f.why.startswith("API server calls")]
    assert {(f.dst.id, f.port.number) for f in calls} == WEBHOOKS
    assert all(f.src.id == "vpc" for f in calls)
    watchers = {f.src.id for f in dev_flows.required if f.why == "an operator watches the API server"}
    assert {
        "kueue-system/kueue-controller-manager",
        "dynamo-system/dynamo-operator",
        "karpenter/karpenter",
    } <= watchers
    c = dev_flows.cluster
    denied = [str(v) for f in calls if not (v := c.check(f.src, f.dst, f.port.number))]
    assert denied == []


def test_without_its_webhook_allow_the_api_server_cannot_call_kueue(dev_flows):
    """Kueue's webhook is fail-closed for every pod of a team namespace: the allow is what keeps
    team pods creatable under the default deny."""
    c = dev_flows.cluster
    kept = tuple(p for p in c.policies if (p.namespace, p.name) != ("kueue-system", "allow-webhook-calls"))
    assert len(kept) == len(c.policies) - 1
    cut = Cluster(c.namespaces, c.workloads, kept)
    kueue = c.workload("kueue-system/kueue-controller-manager")
    verdict = cut.check(dev_flows.endpoint("vpc"), kueue, "webhook-server")
    assert not verdict.allowed and "kueue-system/default-deny" in verdict.ingress


# --- MinIO's clients (workloads.minio.client_namespaces / client_teams) -------------------------


def test_minio_admits_exactly_the_teams_its_settings_name(dev_flows):
    """The oracle is the stage file (training and mlops), the verdict the synthesized policies:
    their team pods reach the S3 port, the other teams' and a developer's pod do not, and
    nothing reaches the console."""
    from platform_config.loader import load_stages

    dev = next(stage for stage in load_stages() if stage.name == README_STAGE)
    assert dev.workloads.minio.client_teams == ["training", "mlops"]
    c = dev_flows.cluster
    minio = c.workload("minio/minio")
    teams = {w.namespace: w for w in c.workloads if w.kind == "team workload"}
    assert set(teams) == set(dev.tenancy.namespaces)
    reaches = {ns for ns, w in teams.items() if c.allowed(w, minio, "api")}
    assert reaches == set(dev.minio_client_namespaces()) == {"team-training", "team-mlops"}
    assert not any(c.allowed(w, minio, "console") for w in teams.values())
    assert not c.allowed(c.workload("gpu-dev/dev-pod"), minio, "api")


def minio_cluster(clients: tuple[str, ...]) -> Cluster:
    from k8s_charts import minio
    from k8s_charts.mesh_policy import ProtectedPort, ProtectedService
    from k8s_charts.network_policies import NetworkPoliciesChart

    service = ProtectedService(
        "minio", "minio", {"app.kubernetes.io/name": minio.NAME},
        (ProtectedPort("minio-s3", minio.API_PORT, "HTTP/1"),), clients,
    )  # fmt: skip
    chart = NetworkPoliciesChart(
        cdk8s.App(),
        "np",
        namespaces=["minio", "gpu-dev", "team-a"],
        vpc_cidr="10.0.0.0/16",
        services=[service],
    )
    objects = [namespace(n) for n in ("minio", "gpu-dev", "team-a")] + list(chart.to_json())
    objects += [
        pod(
            "minio",
            "minio",
            {"app.kubernetes.io/name": minio.NAME},
            ({"containerPort": 9000, "name": "api"},),
        ),
        pod("gpu-dev", "dev", {}),
        pod("team-a", "job", {}),
    ]
    return cluster(*objects)


@pytest.mark.parametrize(
    ("clients", "dev_reaches", "team_reaches"),
    [((), False, False), (("team-a/*",), False, True), (("gpu-dev/*", "team-a/*"), True, True)],
)
def test_minio_clients_open_both_ends_and_nothing_else(clients, dev_reaches, team_reaches):
    """A client namespace the chart guards gets the egress, MinIO the ingress; by default
    nothing reaches the S3 port (a developer's pod only when a setting lists gpu-dev)."""
    c = minio_cluster(clients)
    minio = c.workload("minio/minio")
    assert c.allowed(c.workload("gpu-dev/dev"), minio, 9000) is dev_reaches
    assert c.allowed(c.workload("team-a/job"), minio, 9000) is team_reaches


def test_the_api_server_reaches_metrics_server_and_it_reaches_the_kubelets(dev_flows):
    """metrics-server is an APIService: the API server (an address in the VPC) calls it on the
    EKS add-on's 10251, and it reads every kubelet on 10250. kube-system carries no platform
    policy today; a default deny there (as someone hardening it might add) must show up here."""
    c = dev_flows.cluster
    metrics = c.workload("kube-system/metrics-server")
    needed = [f for f in dev_flows.required if metrics in (f.src, f.dst) and f.why != "DNS"]
    assert {(f.src.id, f.dst.id, f.port.number) for f in needed} == {
        ("vpc", "kube-system/metrics-server", 10251),
        ("kube-system/metrics-server", "vpc", 10250),
    }
    assert all(c.allowed(f.src, f.dst, f.port.number) for f in needed)
    deny = NetworkPolicy.parse(
        policy("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: kube-system}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
""")
    )
    hardened = Cluster(c.namespaces, c.workloads, (*c.policies, deny))
    assert not any(hardened.allowed(f.src, f.dst, f.port.number) for f in needed)


def test_the_rest_of_monitoring_reaches_no_dynamo_frontend_nor_llm_server_and_prometheus_does(dev_flows):
    """Prometheus scrapes the Dynamo frontends and the LLM servers on their API port by a rule
    of its own; the rest of ``monitoring`` is not a client and is denied both ways round."""
    c = dev_flows.cluster
    bystanders = [f for f in dev_flows.forbidden if f.why.startswith("not a client")]
    assert {f.src.id for f in bystanders} == {
        "monitoring/grafana", "monitoring/alloy", "monitoring/loki", "monitoring/prometheus-operator",
    }  # fmt: skip
    assert {"dynamo-system/qwen-agg-frontend", "llm-serving/qwen-vllm"} <= {f.dst.id for f in bystanders}
    assert not [str(v) for f in bystanders if (v := c.check(f.src, f.dst, f.port.number))]
    prometheus = c.workload("monitoring/prometheus")
    assert all(c.allowed(prometheus, f.dst, f.port.number) for f in bystanders)
