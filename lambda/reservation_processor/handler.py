"""Lambda entry of the reservation processor: SQS batches from the CLI (partial batch response)
and the 1-minute EventBridge schedule. All behaviour is in ``reservations.processor``.

Environment (set by the CDK stack): ``TABLE_NAME``, ``POLICY``, ``CLUSTER_NAME``,
``CLUSTER_ENDPOINT``, ``CLUSTER_CA``; the region is the runtime's ``AWS_REGION``.
"""

from __future__ import annotations

import logging

from reservations import processor

logging.getLogger().setLevel(logging.INFO)

_runtime: processor.Runtime | None = None


def handler(event, context):
    global _runtime
    if _runtime is None:  # once per container: the token cache and HTTP pool are reused
        _runtime = processor.Runtime.from_env()
    return processor.handle(event, _runtime, context)
