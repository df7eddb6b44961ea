"""IAM's evaluation of identity-policy statements, as far as the reservations' users policy uses
it, so tests can ask "may this caller make this request?" of the synthesized policy document.

Covers: Allow/Deny (an explicit Deny wins; nothing allowed is denied), actions and resources
with ``*``/``?`` wildcards, policy variables (``${aws:userid}``), and the condition operators
``StringEquals``, ``StringLike``, ``StringNotEquals``, ``StringNotLike`` with the set prefixes
``ForAllValues:`` (true when every value of the request's key matches one of the policy's, and
when the key is absent) and ``ForAnyValue:`` (true when some value does; false when absent).
A negated operator with several policy values holds when the request's value matches none of
them. Anything else raises, so a policy this cannot read fails its test rather than passing it.
Source: IAM User Guide, "Policy evaluation logic", "Condition operators", "Multivalued context
keys"; DynamoDB Developer Guide, "Using IAM policy conditions for fine-grained access control".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Request:
    action: str  # e.g. dynamodb:Query
    resource: str  # an ARN
    context: dict[str, list[str]] = field(default_factory=dict)  # condition key -> values


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _substitute(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in variables:
            raise KeyError(f"policy variable {match.group(0)} has no value in this request")
        return variables[match.group(1)]

    return _VARIABLE.sub(value, text)


def _match(operator: str, actual: str, wanted: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals"):
        return actual == wanted
    if operator in ("StringLike", "StringNotLike"):
        return fnmatchcase(actual, wanted)
    raise ValueError(f"condition operator {operator} is not modelled here")


def _holds(operator: str, values: list[str] | None, wanted: list[str]) -> bool:
    prefix, _, base = operator.rpartition(":")
    negated = "Not" in base

    def one(value: str) -> bool:
        hit = any(_match(base, value, w) for w in wanted)
        return not hit if negated else hit

    if prefix == "ForAllValues":
        return all(one(v) for v in values or [])
    if prefix == "ForAnyValue":
        return any(one(v) for v in values or [])
    if prefix:
        raise ValueError(f"set operator {prefix} is not modelled here")
    if not values:
        return negated  # an absent key matches nothing
    if len(values) != 1:
        raise ValueError(f"{operator} on a multivalued key needs ForAllValues or ForAnyValue")
    return one(values[0])


def applies(
    statement: dict[str, Any], request: Request, variables: dict[str, str], resource: Callable
) -> bool:
    """Whether ``statement`` covers ``request``. ``resource`` renders a statement's resource
    (CloudFormation intrinsics) to an ARN pattern."""
    if "NotAction" in statement or "NotResource" in statement:
        raise ValueError("NotAction/NotResource are not modelled here")
    if not any(fnmatchcase(request.action.lower(), a.lower()) for a in _listed(statement["Action"])):
        return False
    patterns = [_substitute(resource(r), variables) for r in _listed(statement["Resource"])]
    if not any(fnmatchcase(request.resource, p) for p in patterns):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, wanted in keys.items():
            expected = [_substitute(str(w), variables) for w in _listed(wanted)]
            if not _holds(operator, request.context.get(key), expected):
                return False
    return True


def allowed(
    statements: Iterable[dict[str, Any]], request: Request, variables: dict[str, str], resource: Callable
) -> bool:
    """IAM's answer for one identity policy: an explicit Deny wins, else an Allow is needed."""
    covering = [s for s in statements if applies(s, request, variables, resource)]
    if any(s["Effect"] == "Deny" for s in covering):
        return False
    return any(s["Effect"] == "Allow" for s in covering)


def dynamodb_request(operation: str, body: dict[str, Any], table_arn: str, keys: dict[str, str]) -> Request:
    """The IAM request of one DynamoDB call (its JSON body): the table's or index's ARN, and
    ``dynamodb:LeadingKeys``, the partition key values it reads. ``keys``: the partition key
    attribute of the table (``""``) and of each index (by name)."""
    index = body.get("IndexName")
    resource = f"{table_arn}/index/{index}" if index else table_arn
    partition = keys[index or ""]
    leading: list[str] | None = None
    if operation in ("GetItem", "DeleteItem", "PutItem", "UpdateItem"):
        item = body.get("Key") or body.get("Item") or {}
        leading = [next(iter(item[partition].values()))]
    elif operation == "Query":
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", body.get("KeyConditionExpression", "")):
            if names.get(name, name) == partition:
                leading = [next(iter(values[placeholder].values()))]
    context = {} if leading is None else {"dynamodb:LeadingKeys": leading}
    return Request(action=f"dynamodb:{operation}", resource=resource, context=context)
