"""``gpu-dev``: reserve GPU developer servers on the platform's EKS cluster (seed 002).

The CLI reads the stage's reservation parameter from SSM (queue, table and the stage's own
:class:`reservations.policy.Policy`), validates a request with those rules and sends the
message the processor Lambda acts on; it only reads the table (the processor creates records).
"""

__version__ = "0.1.0"
