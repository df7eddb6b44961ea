"""What is left of one Lambda invocation, so slow work stops before Lambda stops the function.

Lambda kills a function at its timeout without warning: a write half done is simply not done,
and an SQS batch whose invocation was killed is redelivered whole. So every piece of slow work
(a Kubernetes call, the scheduling pass after a batch, the next message of a batch) first asks
the :class:`Deadline` whether it still fits, keeping ``reserve`` seconds for the DynamoDB
writes and the batch response that must follow it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

RESERVE_SECONDS = 5.0  # kept for the writes and the response after the last slow step


class Deadline:
    """Built from the Lambda context's ``get_remaining_time_in_millis`` (None: no deadline,
    as in a test or a benchmark that calls the processor directly)."""

    def __init__(
        self, remaining_millis: Callable[[], int] | None = None, *, reserve: float = RESERVE_SECONDS
    ) -> None:
        self._remaining_millis = remaining_millis
        self.reserve = reserve

    @classmethod
    def of(cls, context: object | None, *, reserve: float = RESERVE_SECONDS) -> Deadline:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return cls(remaining if callable(remaining) else None, reserve=reserve)

    def left(self) -> float:
        """Seconds until Lambda stops the function (infinite without a deadline)."""
        if self._remaining_millis is None:
            return math.inf
        return self._remaining_millis() / 1000.0

    def usable(self) -> float:
        """Seconds slow work may still take: what is left minus the reserve."""
        return self.left() - self.reserve

    def allows(self, seconds: float) -> bool:
        return self.usable() >= seconds
