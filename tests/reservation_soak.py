"""A seeded fault soak of the reservation Lambdas (issue 13, item 2).

One run drives a :class:`~tests.reservation_fixtures.World` (moto, the fake Kubernetes API
through the real client) with random developer traffic and injects, per seed, the faults below.
Its cluster (:data:`NODES`, :data:`SOAK_POLICY`) has two 4-GPU T4 nodes, one 8-GPU A100 node
(no EFA: 8 GPUs on T4 is refused) and an EFA pool of three 8-GPU H100 nodes (``p5``), where a
16-GPU request is a gang of two whole nodes, competing with 1- and 8-GPU requests for them.

* ``duplicate``: a message delivered again in a later batch (SQS is at-least-once);
* ``reorder``: a batch shuffled (standard queues do not keep order);
* ``concurrent``: two invocations at once (a batch and the minute's pass, in threads);
* ``index_lag``: a write that reaches the indexes only after up to 4 later writes or 30 s;
* ``kube_5xx``: the next 1-5 Kubernetes requests answer 500/503/429;
* ``kube_outage``: the API hangs for 1-10 minutes (every call costs both tries' timeouts);
* ``kill``: an invocation stopped by Lambda between two calls (any write may be the last);
* ``deadline``: an invocation with only 6-20 s left (a slow start, a long batch).

SQS is modelled here (visibility, receive counts, ``maxReceiveCount`` 3, the DLQ); the
processor sees what Lambda gives it. After EVERY step the invariants are checked:

1. no node over-allocated, in records (preparing + active, read consistently; a gang's GPUs on
   each of its nodes), in the GPU ledgers or in pods;
2. every sent Reserve has at most one record, and no record exists that was never sent;
3. no record moves backwards (status rank and version never decrease; an ended one never changes);
4. a terminal reservation's pod or service may exist only while the ledger still holds its GPUs;
5. no partial gang (``tests/gang_invariants.py``): a gang's record, ledger hold and pods name
   all of its nodes or none, an active gang has every member pod Ready, and a released gang
   has no pod of any rank and neither of its Services.

At the end the faults stop, everything is delivered and a few passes run; then every sent
Reserve has exactly one record (none lost), and every ended reservation's pod and service are
gone. ``python -m tests.reservation_soak --seeds 10`` prints the figures (``make soak-reservations``).

Speed: most of a run was moto's per-call overhead. The checks read the records and ledgers from
the index-lag model's mirror of the base table (no request, decoding only items a write
replaced), and moto answers item operations through ``tests/moto_direct.py``'s short cuts.
"""

from __future__ import annotations

import argparse
import logging
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import timedelta

from boto3.dynamodb.types import TypeDeserializer

from reservations import dead_letters, expiry, messages, processor
from reservations.dev_pod import RESERVATION_LABEL
from reservations.model import ENDED, Reservation, Status, to_iso
from reservations.policy import GpuType
from reservations.store import LEDGER_PREFIX, Ledger
from tests import gang_invariants
from tests.moto_direct import fast_item_responses
from tests.reservation_fixtures import NAMESPACE, POLICY, SCHEDULED_EVENT, World, sender_id, sqs_event

RANK = {Status.QUEUED: 0, Status.PREPARING: 1, Status.ACTIVE: 2}
USERS = [f"dev{n}" for n in range(8)]
# p5.48xlarge: 8 H100s and 32 EFA interfaces (platform_config/gpu_catalog.py).
SOAK_POLICY = replace(
    POLICY,
    gpu_types=(*POLICY.gpu_types, GpuType("p5", "H100", 8, efa_interfaces=32)),
    allowed_gpu_counts=(1, 2, 4, 8, 16),
    max_gpus_per_user=16,
)
NODES = (
    ("t4-a", "t4", 4),
    ("t4-b", "t4", 4),
    ("a100-a", "a100", 8),
    ("p5-a", "p5", 8),
    ("p5-b", "p5", 8),
    ("p5-c", "p5", 8),
)
# What a request asks for: (GPU type, its GPU counts); 16 on p5 is a gang of two nodes.
REQUESTS = (
    ("t4", (1, 1, 2, 4, 8)),
    ("t4", (1, 1, 2, 4, 8)),
    ("a100", (1, 1, 2, 4, 8)),
    ("p5", (1, 8, 16, 16)),
    ("p5", (1, 8, 16, 16)),
)


@dataclass
class Message:
    message_id: str
    body: str
    receives: int = 0


@dataclass
class Queue:
    """The request queue and its DLQ, as SQS behaves for the processor's event source."""

    waiting: list[Message] = field(default_factory=list)
    dead: list[Message] = field(default_factory=list)

    def peek(self) -> list[dead_letters.Letter]:  # the DLQ, as reservations.dead_letters reads it
        return [dead_letters.Letter(m.body, sender_id(m.body)) for m in self.dead]

    def batch(self, rng: random.Random) -> list[Message]:
        return self.waiting[: rng.randint(1, 10)]

    def settle(self, batch: list[Message], failed: set[str] | None) -> None:
        """After an invocation: done messages are deleted; failed (or all, if it was
        killed: ``failed`` None) come back, and go to the DLQ at their third receive."""
        for message in batch:
            if message not in self.waiting:
                continue  # a duplicate in the same batch, settled already
            if failed is not None and message.message_id not in failed:
                self.waiting.remove(message)
            elif message.receives >= 3:
                self.waiting.remove(message)
                self.dead.append(message)


@dataclass
class Report:
    seed: int
    steps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    over_allocations: int = 0
    partial_gangs: int = 0
    lost: int = 0
    gangs_started: int = 0  # 16-GPU reservations that reached preparing (both nodes held)
    gangs_active: int = 0  # ... and active (every member pod Ready)
    sent: int = 0
    records: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # wall
    cpu_seconds: float = 0.0  # of this process (all threads): comparable on a busy machine


class Soak:
    def __init__(self, seed: int, world: World) -> None:
        self.rng = random.Random(seed)
        self.world = world
        self.queue = Queue()
        self.report = Report(seed)
        self.sent: dict[str, str] = {}  # reservation id -> user
        self.seen: dict[str, tuple[Status, int]] = {}
        self.gangs_started: set[str] = set()
        self.gangs_active: set[str] = set()
        self.faults_on = True
        world.runtime = _with_dead_letters(world, self.queue)
        world.store.clock = lambda: world.clock.now.timestamp()  # the lease's term, in virtual time
        self.index_lag = world.lag_index(lag_of=self._lag)
        self.table = self.index_lag.table_now
        self._decoded: dict[str, tuple[dict, Reservation]] = {}

    # -- traffic and faults -----------------------------------------------------------------

    def _fault(self, kind: str, chance: float) -> bool:
        if self.faults_on and self.rng.random() < chance:
            self.report.faults[kind] += 1
            return True
        return False

    def _lag(self, _key: str, _before: dict | None, _after: dict | None) -> tuple[int, float]:
        if self._fault("index_lag", 0.3):
            return self.rng.randint(0, 4), self.rng.choice((0.0, 5.0, 30.0))
        return 0, 0.0

    def send(self, message: messages.Message) -> None:
        self.queue.waiting.append(
            Message(str(uuid.UUID(int=self.rng.getrandbits(128))), messages.encode(message))
        )

    def reserve(self) -> None:
        user = self.rng.choice(USERS)
        gpu_type, counts = self.rng.choice(REQUESTS)
        self.request(user, gpu_type, self.rng.choice(counts), float(self.rng.choice((0.5, 1, 2))))

    def request(self, user: str, gpu_type: str, gpus: int, hours: float) -> str:
        """Send one Reserve (what ``gpu-dev reserve`` sends); its reservation id."""
        rid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.sent[rid] = user
        self.report.sent += 1
        created = to_iso(self.world.clock.now + timedelta(microseconds=self.report.sent))
        self.send(
            messages.Reserve(
                "reservation",
                rid,
                user,
                f"{user}-gh",
                gpu_type,
                gpus,
                hours,
                created,
            )
        )
        return rid

    def cancel_or_extend(self) -> None:
        if not self.sent:
            return
        rid = self.rng.choice(sorted(self.sent))
        if self.rng.random() < 0.75:
            self.send(messages.Cancel("cancellation", rid, self.sent[rid]))
        else:
            self.send(messages.Extend("extension", rid, self.sent[rid], 0.5))

    def invoke(self, event: dict) -> dict | None:
        kill = self.rng.randint(1, 60) if self._fault("kill", 0.12) else None
        timeout = self.rng.uniform(6.0, 20.0) if self._fault("deadline", 0.08) else 60.0
        return self.world.invoke(event, timeout=timeout, kill_at_call=kill)

    def deliver(self) -> None:
        batch = self.queue.batch(self.rng)
        if not batch:
            return
        if self._fault("reorder", 0.3):
            batch = self.rng.sample(batch, len(batch))
        if self._fault("duplicate", 0.2):
            batch = [*batch, self.rng.choice(batch)]
        for message in batch:
            message.receives += 1
        event = _event(batch)
        if self._fault("concurrent", 0.1):
            results: list[dict | None] = [None, None]

            def run(index: int, what: dict) -> None:
                results[index] = processor.handle(what, self.world.runtime)

            threads = [
                threading.Thread(target=run, args=(0, event)),
                threading.Thread(target=run, args=(1, SCHEDULED_EVENT)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            result = results[0]
        else:
            result = self.invoke(event)
        failed = None if result is None else {f["itemIdentifier"] for f in result["batchItemFailures"]}
        self.queue.settle(batch, failed)

    def kube_faults(self) -> None:
        if self._fault("kube_5xx", 0.06):
            status = self.rng.choice((500, 503, 429))
            self.world.kube.inject(r"", status=status, times=self.rng.randint(1, 5))
        if self._fault("kube_outage", 0.02):
            self.world.kube_down_until = self.world.clock.now + timedelta(minutes=self.rng.randint(1, 10))

    def tick(self) -> None:
        self.world.clock.advance(seconds=self.rng.choice((20, 60, 60, 300)))
        for pod in self.world.kube.pods(NAMESPACE):
            if self.rng.random() < 0.7:
                self.world.kube.set_pod_ready(NAMESPACE, pod["metadata"]["name"])
        self.invoke(SCHEDULED_EVENT)
        if self.rng.random() < 0.3:
            expiry.run(self.world.runtime)

    def step(self) -> None:
        self.report.steps += 1
        roll = self.rng.random()
        if roll < 0.25:
            self.reserve()
        elif roll < 0.35:
            self.cancel_or_extend()
        elif roll < 0.75:
            self.deliver()
        else:
            self.tick()
        self.kube_faults()
        self.check()

    # -- invariants -------------------------------------------------------------------------

    def check(self) -> None:
        world = self.world
        allocatable = world.allocatable()
        records = self.records()
        ledgers = self.ledgers()
        from_records: Counter[str] = Counter()
        for record in records.values():
            if record.status in (Status.PREPARING, Status.ACTIVE):
                nodes = record.gang_nodes or [record.node_name or ""]
                for node in nodes:
                    from_records[node] += record.gpu_count // len(nodes)
        from_ledgers = {
            node: sum(ledger.held_on(node) for ledger in ledgers.values()) for node in allocatable
        }
        problems = []
        for source, held in (
            ("records", from_records),
            ("ledgers", from_ledgers),
            ("pods", world.gpus_by_node_from_pods()),
        ):
            over = {node: gpus for node, gpus in held.items() if gpus > allocatable[node]}
            if over:
                problems.append(f"over-allocated in {source}: {over}")
        if problems:
            self.report.over_allocations += 1
        # A partial gang over-allocates its nodes in the records: both are reported, naming the cause.
        gangs = self.check_gangs(records, ledgers)
        if gangs:
            self.report.partial_gangs += 1
        if problems or gangs:
            raise AssertionError(
                f"seed {self.report.seed} step {self.report.steps}: " + "; ".join(problems + gangs)
            )
        unknown = set(records) - set(self.sent)
        assert not unknown, f"records never sent: {unknown}"
        for rid, record in records.items():
            before = self.seen.get(rid)
            if before is not None:
                status, version = before
                assert record.version >= version, (rid, before, record.status, record.version)
                if status in ENDED:
                    assert record.status == status, (rid, before, record.status)
                elif record.status not in ENDED:
                    assert RANK[record.status] >= RANK[status], (rid, before, record.status)
            self.seen[rid] = (record.status, record.version)
        holders = {rid for ledger in ledgers.values() for rid in ledger.holds}
        for rid in self.objects():
            owner = records.get(rid)
            if owner is None or owner.status in ENDED:
                assert rid in holders, (
                    f"seed {self.report.seed}: {rid} ended, its pod/service left, GPUs released"
                )

    def check_gangs(self, records: dict[str, Reservation], ledgers: dict[str, Ledger]) -> list[str]:
        """The gang invariants' breaches (and the count of gangs started and active)."""
        world = self.world
        pools = {name: pool for name, pool, _ in world.node_specs}
        others = {
            (kind, name) for kind in ("services", "networkpolicies") for (_, name) in world.kube.objects[kind]
        }
        found = gang_invariants.violations(
            world.policy, pools, records, ledgers, world.kube.pods(NAMESPACE), others
        )
        for rid, record in records.items():
            if record.gang_nodes and record.status in (Status.PREPARING, Status.ACTIVE):
                if rid not in self.gangs_started:
                    self.gangs_started.add(rid)
                    self.report.gangs_started += 1
                if record.status == Status.ACTIVE and rid not in self.gangs_active:
                    self.gangs_active.add(rid)
                    self.report.gangs_active += 1
        return found

    def records(self) -> dict[str, Reservation]:
        """Every record as the base table holds it (mirrored from each write's consistent image;
        an item is decoded again only when a write replaced it)."""
        decoded: dict[str, tuple[dict, Reservation]] = {}
        for key, item in self.table.items():
            if "status" not in item:
                continue
            known = self._decoded.get(key)
            if known is None or known[0] is not item:
                known = (item, Reservation.from_item(_plain(item)))
            decoded[key] = known
        self._decoded = decoded
        return {key: record for key, (_, record) in decoded.items()}

    def ledgers(self) -> dict[str, Ledger]:
        """The GPU ledgers as the base table holds them (the same mirror)."""
        names = [t.name for t in self.world.policy.gpu_types]
        return {
            name: Ledger.from_item(
                name, _plain(item) if (item := self.table.get(LEDGER_PREFIX + name)) else None
            )
            for name in names
        }

    def objects(self) -> set[str]:
        """The reservations that own a pod, service or NetworkPolicy."""
        kube = self.world.kube
        owners: set[str] = set()
        for kind in ("pods", "services", "networkpolicies"):
            for obj in kube.objects[kind].values():
                owner = (obj["metadata"].get("labels") or {}).get(RESERVATION_LABEL)
                if owner is not None:
                    owners.add(owner)
        return owners

    # -- the end ----------------------------------------------------------------------------

    def finish(self) -> None:
        """Faults off: deliver everything, run passes and expiry, then nothing may be lost."""
        self.faults_on = False
        self.world.kube.clear_injections()
        self.world.kube_down_until = None
        self.index_lag.settle()
        for _ in range(200):
            if not self.queue.waiting:
                break
            self.deliver()
        for _ in range(3):
            self.world.clock.advance(minutes=5)
            processor.handle(SCHEDULED_EVENT, self.world.runtime)
            expiry.run(self.world.runtime)
            self.check()
        records = {r.reservation_id: r for r in self.world.records()}
        self.report.lost = sum(1 for rid in self.sent if rid not in records)
        self.report.records = Counter(str(r.status) for r in records.values())
        leftovers = {rid for rid in self.objects() if records[rid].status in ENDED}
        assert not leftovers, f"ended reservations still own objects: {leftovers}"
        assert self.report.lost == 0, (
            f"seed {self.report.seed}: {self.report.lost} sent Reserves have no record"
        )


_DESERIALIZE = TypeDeserializer().deserialize


def _plain(item: dict) -> dict:
    return {name: _DESERIALIZE(value) for name, value in item.items()}


def _with_dead_letters(world: World, queue: Queue) -> processor.Runtime:
    return replace(world.runtime, dead_letter_queue=queue)


def _event(batch: list[Message]) -> dict:
    event = sqs_event(
        [
            {"MessageId": m.message_id, "ReceiptHandle": m.message_id, "Body": m.body, "MD5OfBody": ""}
            for m in batch
        ]
    )
    for record, message in zip(event["Records"], batch, strict=True):
        record["attributes"]["ApproximateReceiveCount"] = str(message.receives)
    return event


def run(seed: int, *, faults: int) -> Report:
    """One seeded run: steps until ``faults`` faults were injected, then :meth:`Soak.finish`."""
    started, cpu = time.monotonic(), time.process_time()
    with fast_item_responses(), World(policy=SOAK_POLICY, nodes=NODES, timeout=(0.5, 1.0)) as world:
        soak = Soak(seed, world)
        while sum(soak.report.faults.values()) < faults:
            soak.step()
        soak.finish()
    soak.report.seconds = time.monotonic() - started
    soak.report.cpu_seconds = time.process_time() - cpu
    return soak.report


def run_seed(seed: int, faults: int) -> tuple[int, Report | None, str]:
    """One seed, for a worker process: its report, or the invariant it broke (the message names
    seed and step)."""
    try:
        return seed, run(seed, faults=faults), ""
    except AssertionError as exc:
        return seed, None, f"{type(exc).__name__}: {exc}"


def describe(report: Report) -> str:
    return (
        f"seed {report.seed}: {report.steps} steps, {sum(report.faults.values())} faults "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.faults.items()))}), "
        f"{report.sent} Reserves sent, gangs started {report.gangs_started} "
        f"(active {report.gangs_active}), lost {report.lost}, over-allocations {report.over_allocations}, "
        f"partial gangs {report.partial_gangs}, records {dict(sorted(report.records.items()))}, "
        f"{report.seconds:.0f} s ({report.cpu_seconds:.0f} s CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them (to split a run)")
    parser.add_argument("--faults", type=int, default=1000, help="faults injected per run")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once, each in its own process")
    parser.add_argument("--log-level", default="ERROR", help="of the Lambdas' logs (on stderr)")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.monotonic()
    reports: list[Report] = []
    failed: list[str] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for future in as_completed([pool.submit(run_seed, seed, args.faults) for seed in seeds]):
            seed, report, error = future.result()
            if report is None:
                failed.append(f"seed {seed}: {error}")
                print(f"seed {seed} FAILED: {error}", flush=True)
            else:
                reports.append(report)
                print(describe(report), flush=True)
    total: Counter[str] = Counter()
    for report in reports:
        total.update(report.faults)
    figures = Counter[str]()
    for report in reports:
        figures.update(
            {
                "gangs": report.gangs_started,
                "active": report.gangs_active,
                "over": report.over_allocations,
                "lost": report.lost,
                "partial": report.partial_gangs,
            }
        )
    print(
        f"runs: {len(reports) + len(failed)} (seeds {seeds.start}-{seeds.stop - 1}, {len(failed)} failed); "
        f"steps: {sum(r.steps for r in reports)}; faults: {sum(total.values())}; "
        f"Reserves sent: {sum(r.sent for r in reports)}"
    )
    print("faults by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(total.items())))
    print(
        f"gangs started: {figures['gangs']} (active {figures['active']}); over-allocations: "
        f"{figures['over']}; lost: {figures['lost']}; partial gangs: {figures['partial']}"
    )
    print(
        f"wall {time.monotonic() - started:.0f} s with {args.jobs} job(s); "
        f"CPU {sum(r.cpu_seconds for r in reports):.0f} s in all"
    )
    for line in failed:
        print(line)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
