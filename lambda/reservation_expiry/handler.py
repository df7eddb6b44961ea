"""Lambda entry of the reservation expiry pass (EventBridge, every 5 minutes): warnings,
expiry, stale queue, cleanup sweep. All behaviour is in ``reservations.expiry``.

Environment: as the processor's (``TABLE_NAME``, ``POLICY``, ``CLUSTER_NAME``,
``CLUSTER_ENDPOINT``, ``CLUSTER_CA``, the runtime's ``AWS_REGION``).
"""

from __future__ import annotations

import logging

from reservations import expiry, processor

logging.getLogger().setLevel(logging.INFO)

_runtime: processor.Runtime | None = None


def handler(event, context):
    global _runtime
    if _runtime is None:
        _runtime = processor.Runtime.from_env()
    return expiry.handle(event, _runtime, context)
