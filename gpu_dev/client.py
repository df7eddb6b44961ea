"""Everything the CLI asks of AWS: the stage's SSM parameter, STS, the reservations table (read
only) and queue (send only).

AWS failures become one-line :class:`CliError` messages here, so commands never show tracebacks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    TokenRetrievalError,
)

from gpu_dev.errors import CliError
from reservations import forecast, messages
from reservations.model import OWNER_INDEX, SUMMARY_KEY, Reservation, Status, to_iso
from reservations.policy import Policy, parameter_name

_BOTO = BotoConfig(connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"})


@dataclass(frozen=True)
class StageSettings:
    """The stage's reservation parameter, as the stack writes it."""

    stage: str
    policy: Policy
    queue_url: str
    table_name: str
    region: str

    @classmethod
    def from_parameter(cls, stage: str, text: str) -> StageSettings:
        try:
            data = json.loads(text)
            return cls(
                stage=stage,
                policy=Policy.from_json(json.dumps(data["policy"])),
                queue_url=str(data["queue_url"]),
                table_name=str(data["table_name"]),
                region=str(data["region"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError(
                f"the reservations parameter {parameter_name(stage)} of stage {stage} is malformed "
                f"({type(exc).__name__}: {exc}); ask the platform team"
            ) from None


def user_from_arn(arn: str) -> str:
    """The caller's user name: the IAM user name, or the session name of an assumed role
    (``arn:aws:sts::1:assumed-role/Role/alice`` -> ``alice``)."""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    kind, _, rest = resource.partition("/")
    if kind == "user" and rest:
        return rest.rsplit("/", 1)[-1]
    if kind == "assumed-role" and "/" in rest:
        return rest.split("/", 1)[1]
    if kind == "federated-user" and rest:
        return rest
    raise CliError(f"cannot tell a user name from the AWS identity {arn}; use an IAM user or an assumed role")


def plain(value: Any) -> Any:
    """DynamoDB values as JSON-able Python values (Decimal -> int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(item) for item in value]
    return value


@contextmanager
def aws_errors(region: str, what: str) -> Iterator[None]:
    """Turn botocore's exceptions into one-line messages."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise CliError(
            "no AWS credentials found; configure them (aws configure, or aws sso login) and retry"
        ) from None
    except TokenRetrievalError as exc:
        raise CliError(f"your AWS session has expired; log in again (aws sso login): {exc}") from None
    except NoRegionError:
        raise CliError("no AWS region; pass --region or set AWS_REGION") from None
    except EndpointConnectionError:
        raise CliError(
            f"cannot reach AWS in region {region} (trying to {what}); check the network and the region"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message", "")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            raise CliError("your AWS credentials have expired; refresh them and retry") from None
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise CliError(f"AWS denied access while trying to {what}: {message}") from None
        raise CliError(f"AWS error while trying to {what}: {code}: {message}") from None
    except BotoCoreError as exc:
        raise CliError(f"AWS error while trying to {what}: {exc}") from None


class Platform:
    """One stage of the platform, seen from the CLI. The SSM parameter and the caller's identity
    are read at most once per command."""

    def __init__(self, stage: str, region: str, session_factory: Callable[..., Any] = boto3.session.Session):
        self.stage = stage
        self.region = region
        self._session_factory = session_factory

    @cached_property
    def _session(self) -> Any:
        return self._session_factory(region_name=self.region)

    def _client(self, service: str, region: str | None = None) -> Any:
        with aws_errors(region or self.region, f"create a {service} client"):
            return self._session.client(service, region_name=region or self.region, config=_BOTO)

    @cached_property
    def settings(self) -> StageSettings:
        name = parameter_name(self.stage)
        ssm = self._client("ssm")
        with aws_errors(self.region, f"read {name}"):
            try:
                response = ssm.get_parameter(Name=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                    raise CliError(
                        f"stage {self.stage} has no reservations in {self.region}; is it deployed? "
                        f"(no SSM parameter {name}; try --stage or --region)"
                    ) from None
                raise
        return StageSettings.from_parameter(self.stage, response["Parameter"]["Value"])

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @cached_property
    def _identity(self) -> dict[str, str]:
        sts = self._client("sts")
        with aws_errors(self.region, "find out who you are (sts:GetCallerIdentity)"):
            identity: dict[str, str] = sts.get_caller_identity()
        return identity

    @cached_property
    def user_id(self) -> str:
        """The user name messages carry (the session name of an assumed role)."""
        return user_from_arn(self._identity["Arn"])

    @property
    def owner_id(self) -> str:
        """The caller's AWS user id (``<role id>:<session>``, or ``AIDA...``): the key of the
        caller's records in ``OwnerIndex`` and the only one IAM lets the caller query."""
        return self._identity["UserId"]

    @cached_property
    def _table(self) -> Any:
        with aws_errors(self.settings.region, "open the reservations table"):
            resource = self._session.resource("dynamodb", region_name=self.settings.region, config=_BOTO)
        return resource.Table(self.settings.table_name)

    @cached_property
    def _sqs(self) -> Any:
        return self._client("sqs", self.settings.region)

    # --- reads -------------------------------------------------------------------------------

    # Records are private: the caller may Query only its own key of ``OwnerIndex`` (IAM's
    # ``dynamodb:LeadingKeys`` = ``${aws:userid}``) and GetItem only the aggregate items. Index
    # reads are eventually consistent: a change shows up a moment later, which the waiting
    # ``reserve`` and every read command tolerate.

    def get(self, reservation_id: str) -> Reservation | None:
        """One of the caller's reservations by id; None if the caller has none with that id."""
        found = self._owned(Key("reservation_id").eq(reservation_id), f"read reservation {reservation_id}")
        return found[0] if found else None

    def user_reservations(self, prefix: str = "") -> list[Reservation]:
        """The caller's reservations (those whose id starts with ``prefix``), newest first."""
        condition = Key("reservation_id").begins_with(prefix) if prefix else None
        records = self._owned(condition, "list your reservations")
        records.sort(key=lambda record: record.created_at, reverse=True)
        return records

    def _owned(self, condition: Any, what: str) -> list[Reservation]:
        key = Key("owner_id").eq(self.owner_id)
        query: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": key if condition is None else key & condition,
        }
        items: list[dict[str, Any]] = []
        with aws_errors(self.settings.region, what):
            while True:
                page = self._table.query(**query)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        records = [Reservation.from_item(item) for item in items if "status" in item]
        self._place(records)
        return records

    def _place(self, records: list[Reservation]) -> None:
        """Give each queued record its position and ETA from its type's forecast item."""
        queued = [r for r in records if r.status == Status.QUEUED]
        for gpu_type in sorted({r.gpu_type for r in queued}):
            with aws_errors(self.settings.region, f"read the {gpu_type} queue's forecast"):
                item = self._table.get_item(Key={"reservation_id": forecast.key(gpu_type)}).get("Item")
            places = forecast.decode(item)
            for record in queued:
                place = places.get(record.reservation_id) if record.gpu_type == gpu_type else None
                if place is not None:
                    record.queue_position = place.position
                    record.estimated_start = None if place.start_at is None else to_iso(place.start_at)

    def capacity_summary(self) -> dict[str, Any] | None:
        with aws_errors(self.settings.region, "read the capacity summary"):
            item = self._table.get_item(Key={"reservation_id": SUMMARY_KEY}).get("Item")
        return None if item is None else plain(item)

    # --- requests ----------------------------------------------------------------------------
    # The CLI never writes the table: every change is a message the processor applies (and
    # checks), so developers need only read access to the table (see ``_users_policy``).

    def send(self, message: messages.Message) -> str:
        body = messages.encode(message)
        extra: dict[str, str] = {}
        if self.settings.queue_url.endswith(".fifo"):
            extra = {"MessageGroupId": message.reservation_id, "MessageDeduplicationId": uuid.uuid4().hex}
        with aws_errors(self.settings.region, "send the request to the reservations queue"):
            sent = self._sqs.send_message(QueueUrl=self.settings.queue_url, MessageBody=body, **extra)
        return str(sent["MessageId"])
