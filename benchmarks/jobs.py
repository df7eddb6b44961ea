"""Job API benchmark (`make bench-jobs`): 1,000 submissions from 50 concurrent clients over
loopback against a real PostgreSQL server, the API as its own process (``python -m job_api
serve``), two dispatcher processes (``python -m job_api dispatch``) and the project's fake
Kubernetes API (tests/fake_kube.py) in this process.

Reports submission throughput and p50/p99 latency, the time until every job was dispatched,
and checks that every submission became exactly one Kubernetes Job (0 lost, 0 duplicated) --
then the same with one dispatcher killed (SIGKILL) midway, whose in-flight messages reappear
after their visibility timeout for the other one.

PostgreSQL runs with its durable defaults (fsync on). The 50 clients' API keys are issued
directly in the database: sign-in (an STS round trip per key) is not what is measured.

Usage: ``.venv/bin/python -m benchmarks.jobs [--submissions N] [--clients N] [--json]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VISIBILITY_SECONDS = 5


def _settings(clients: int) -> dict:
    from tests.job_api_harness import ACCOUNT, settings_dict

    members = [f"arn:aws:iam::{ACCOUNT}:role/GpuDevelopers"]
    training = settings_dict()["teams"]["training"] | {"max_active_gpus": 1_000_000, "members": members}
    return settings_dict(
        limits={"max_active_jobs_per_user": 100_000, "max_active_gpus_per_user": 100_000},
        teams={"training": training},
    )


def _client(url: str, key: str, count: int, index: int, latencies: list[float], errors: list[str]) -> None:
    from tests.job_api_harness import ACCOUNT

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    for n in range(count):
        body = json.dumps(
            {
                "image": f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/train:1",
                "command": ["python", "train.py", f"--run={index}-{n}"],
                "gpus": 1,
                "pool": "t4",
                "team": "training",
            }
        )
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{index}-{n}",
        }
        started = time.perf_counter()
        conn.request("POST", "/v1/jobs", body, headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 201:
            errors.append(f"{response.status}: {payload[:200]!r}")
    conn.close()


def _spawn(command: list[str], environ: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "job_api", *command],
        env={**os.environ, **environ},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run(server_url: str, name: str, submissions: int, clients: int, kill_one: bool, tmp: Path) -> dict:
    import psycopg

    from job_api import queue, store
    from tests.fake_kube import FakeKube
    from tests.job_api_harness import ACCOUNT, free_port, new_database

    db_url = new_database(server_url, name)
    settings_file = tmp / f"{name}.json"
    settings_file.write_text(json.dumps(_settings(clients)))
    with psycopg.connect(db_url, autocommit=True) as conn:
        keys = [
            store.create_key(
                conn, f"arn:aws:sts::{ACCOUNT}:assumed-role/GpuDevelopers/user{i}", timedelta(hours=2)
            )[0]
            for i in range(clients)
        ]
    with FakeKube(namespaces={"team-training"}) as kube:
        port = free_port()
        environ = {
            "JOB_API_SETTINGS_FILE": str(settings_file),
            "JOB_API_DATABASE_URL": db_url,
            "JOB_API_KUBERNETES_URL": kube.url,
        }
        api = _spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], environ)
        dispatch_args = ["dispatch", "--visibility-seconds", str(VISIBILITY_SECONDS), "--idle-seconds", "0.2"]
        dispatchers = [_spawn(dispatch_args, environ) for _ in range(2)]
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, api)
            latencies: list[float] = []
            errors: list[str] = []
            per_client = submissions // clients
            threads = [
                threading.Thread(target=_client, args=(url, keys[i], per_client, i, latencies, errors))
                for i in range(clients)
            ]
            killed_at = None
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            if kill_one:
                while len(latencies) < submissions // 2:
                    time.sleep(0.01)
                dispatchers[0].send_signal(signal.SIGKILL)
                dispatchers[0].wait()
                killed_at = len(latencies)
            for thread in threads:
                thread.join()
            submitted = time.perf_counter() - started
            total = per_client * clients
            deadline = time.monotonic() + 120
            with psycopg.connect(db_url, autocommit=True) as conn:
                while True:
                    row = conn.execute("SELECT count(*) FROM job_api_jobs WHERE status = 'queued'").fetchone()
                    pending = row[0] if row else 0
                    if pending == 0 or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                all_dispatched = time.perf_counter() - started
                statuses: dict[str, int] = dict(
                    conn.execute("SELECT status, count(*) FROM job_api_jobs GROUP BY status").fetchall()
                )
                depth = queue.depth(conn)
                ids = {str(row[0]) for row in conn.execute("SELECT id FROM job_api_jobs")}
            with kube.lock:
                labels = [job["metadata"]["labels"]["gpuplatform.io/job-id"] for job in kube.jobs.values()]
                creates = sum(1 for r in kube.requests if r.method == "POST" and r.path.endswith("/jobs"))
        finally:
            for process in [api, *dispatchers]:
                if process.poll() is None:
                    process.terminate()
                    process.wait(10)
    latencies.sort()
    return {
        "scenario": "one dispatcher killed midway" if kill_one else "two dispatchers",
        "submissions": total,
        "clients": clients,
        "errors": len(errors),
        "first_errors": errors[:3],
        "submit_seconds": round(submitted, 2),
        "throughput_per_s": round(total / submitted, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "all_dispatched_seconds": round(all_dispatched, 2),
        "killed_after_submissions": killed_at,
        "statuses": statuses,
        "queue_depth_after": depth,
        "kubernetes_jobs": len(labels),
        "job_create_calls": creates,
        "lost": len(ids - set(labels)),
        "duplicated": len(labels) - len(set(labels)),
    }


def _wait_healthy(url: str, api: subprocess.Popen) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError("the API process exited")
        try:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not become healthy")


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from tests.job_api_harness import postgres_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp, postgres_server(durable=True) as server:
        for name, kill in (("bench_steady", False), ("bench_killed", True)):
            results.append(run(server, name, args.submissions, args.clients, kill, Path(tmp)))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(
                f"{r['scenario']}: {r['submissions']} submissions from {r['clients']} clients in "
                f"{r['submit_seconds']} s = {r['throughput_per_s']}/s, "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"{r['errors']} errors; all dispatched after {r['all_dispatched_seconds']} s; "
                f"{r['kubernetes_jobs']} Kubernetes Jobs ({r['job_create_calls']} create calls), "
                f"lost {r['lost']}, duplicated {r['duplicated']}, queue depth {r['queue_depth_after']}, "
                f"statuses {r['statuses']}"
            )
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 and r["errors"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
