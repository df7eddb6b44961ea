"""GPU developer-server reservations: the domain shared by the processor and expiry Lambdas
and the ``gpu-dev`` CLI (seed 002), written once and bundled into each.

Only the standard library, boto3 and the ``kubernetes`` client are imported here, because
that is all a Lambda bundle carries.
"""
