"""Creates a consumer's login and database on the platform's PostgreSQL: the custom resource
that ``platform_constructs/postgres.py`` adds per consumer (issue 14).

Why it exists: the consumer's secret is rotated by AWS's multi-user rotation, which needs the
login to exist with the secret's password before it first runs, and CloudFormation cannot put a
generated password into SQL. This function reads the password from the consumer's secret and
runs the SQL as the master user through the RDS Data API (HTTPS, IAM-gated; no network path to
the cluster, so the function runs outside the VPC). The password travels as a statement
parameter, never in SQL text (PostgreSQL takes no parameters in ``CREATE ROLE``, so a
transaction-local setting carries it into a ``DO`` block).

Idempotent: an existing login keeps its password (the rotation owns it from then on), an
existing database is left alone. Deleting the resource deletes nothing: the data goes (or
stays) with the cluster. Properties: ``ClusterArn``, ``MasterSecretArn``, ``ConsumerSecretArn``,
``Consumer`` (the login and database name).
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.request
from typing import Any

import boto3

logging.getLogger().setLevel(logging.INFO)
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PASSWORD_SETTING = "platform.consumer_password"
RESUME_WAIT_SECONDS, RESUME_ATTEMPTS = 10, 12  # a paused Serverless v2 cluster resumes in ~15-30 s

CREATE_ROLE = f"""DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{{name}}') THEN
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', '{{name}}', current_setting('{PASSWORD_SETTING}'));
  END IF;
  EXECUTE format('GRANT %I TO CURRENT_USER', '{{name}}');
END
$$"""


class DataApi:
    """The Data API calls this function makes, against one cluster as its master user."""

    def __init__(self, client: Any, *, cluster_arn: str, master_secret_arn: str) -> None:
        self.client, self.target = client, {"resourceArn": cluster_arn, "secretArn": master_secret_arn}

    def _call(self, method: str, **kwargs: Any) -> dict:
        for attempt in range(RESUME_ATTEMPTS):
            try:
                return getattr(self.client, method)(**self.target, **kwargs)
            except Exception as exc:  # the client's modelled error class, by name
                if type(exc).__name__ != "DatabaseResumingException" or attempt == RESUME_ATTEMPTS - 1:
                    raise
                logging.info("the cluster is resuming; retrying in %s s", RESUME_WAIT_SECONDS)
                time.sleep(RESUME_WAIT_SECONDS)
        raise AssertionError("unreachable")

    def execute(self, sql: str, transaction: str | None = None, **parameters: str) -> list:
        kwargs: dict[str, Any] = {"sql": sql, "database": "postgres"}
        if transaction:
            kwargs["transactionId"] = transaction
        if parameters:
            kwargs["parameters"] = [{"name": k, "value": {"stringValue": v}} for k, v in parameters.items()]
        return self._call("execute_statement", **kwargs).get("records", [])

    def begin(self) -> str:
        return self._call("begin_transaction", database="postgres")["transactionId"]

    def commit(self, transaction: str) -> None:
        self._call("commit_transaction", transactionId=transaction)

    def rollback(self, transaction: str) -> None:
        self._call("rollback_transaction", transactionId=transaction)


def ensure_consumer(api: DataApi, *, name: str, password: str) -> None:
    """The login ``name`` with ``password`` unless it exists, and the database ``name`` owned
    by it that no other login may connect to."""
    if not NAME.fullmatch(name):
        raise ValueError(f"consumer name {name!r} is not a plain PostgreSQL name; allowed: {NAME.pattern}")
    transaction = api.begin()
    try:
        api.execute(
            f"SELECT set_config('{PASSWORD_SETTING}', :password, true)", transaction, password=password
        )
        api.execute(CREATE_ROLE.format(name=name), transaction)
        api.commit(transaction)
    except Exception:
        api.rollback(transaction)
        raise
    if not api.execute("SELECT 1 FROM pg_database WHERE datname = :name", name=name):
        api.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')  # not inside a transaction
    api.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC')


def apply(event: dict) -> str:
    """Create or update: ensure the consumer; delete: nothing. Returns the physical id."""
    props = event["ResourceProperties"]
    physical = f"{props['ClusterArn']}/{props['Consumer']}"
    if event["RequestType"] == "Delete":
        return str(event.get("PhysicalResourceId", physical))
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=props["ConsumerSecretArn"])
    api = DataApi(
        boto3.client("rds-data"), cluster_arn=props["ClusterArn"], master_secret_arn=props["MasterSecretArn"]
    )
    ensure_consumer(api, name=props["Consumer"], password=json.loads(secret["SecretString"])["password"])
    logging.info("consumer %s is in place", props["Consumer"])
    return physical


def respond(event: dict, status: str, physical: str, reason: str = "") -> None:
    """The custom resource's answer to CloudFormation (its pre-signed response URL)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000] or status,
            "PhysicalResourceId": physical,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30):  # CloudFormation's pre-signed https URL
        pass


def handler(event: dict, _context: Any) -> None:
    physical = str(event.get("PhysicalResourceId") or event["LogicalResourceId"])
    try:
        physical = apply(event)
    except Exception as exc:
        logging.exception("consumer bootstrap failed")
        respond(event, "FAILED", physical, f"{type(exc).__name__}: {exc}")
        return
    respond(event, "SUCCESS", physical)
