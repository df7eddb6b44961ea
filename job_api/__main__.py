"""``python -m job_api serve|dispatch|migrate`` (the container's three commands)."""

from __future__ import annotations

import argparse
import logging
import sys

from job_api.settings import Environment, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m job_api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="the HTTP API on 0.0.0.0:8080 (HTTPS with the TLS files)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    dispatch = commands.add_parser("dispatch", help="the dispatcher loop")
    dispatch.add_argument("--visibility-seconds", type=int, default=60)
    dispatch.add_argument("--max-attempts", type=int, default=5)
    dispatch.add_argument("--idle-seconds", type=float, default=1.0)
    commands.add_parser("migrate", help="apply the schema migrations and PGMQ's SQL-only install")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        env = Environment.from_env()
    except SettingsError as exc:
        print(f"job_api: {exc}", file=sys.stderr)
        return 2

    import os

    from job_api.db import Database
    from job_api.kube import Kube

    kube_host = os.environ.get("JOB_API_KUBERNETES_URL")  # tests and local runs; in-cluster otherwise
    if args.command == "migrate":
        from job_api.migrate import migrate

        database = Database.from_environment(env, max_size=1)
        applied = migrate(database.conninfo())
        database.close()
        print(f"applied: {', '.join(applied) or 'nothing (up to date)'}")
        return 0
    if args.command == "dispatch":
        from job_api.dispatcher import Dispatcher

        database = Database.from_environment(env, max_size=2)
        Dispatcher(
            database,
            Kube.connect(kube_host),
            env.settings,
            visibility_seconds=args.visibility_seconds,
            max_attempts=args.max_attempts,
        ).run_forever(args.idle_seconds)
        return 1  # run_forever returns only by an exception
    import uvicorn

    from job_api.app import create_app

    database = Database.from_environment(env, max_size=20)
    app = create_app(env, database, Kube.connect(kube_host))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=env.tls_cert_file,
        ssl_keyfile=env.tls_key_file,
        proxy_headers=False,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
