"""The job submission API (issue 14): an ASGI service that signs developers in with their IAM
identity, takes GPU job submissions into a PGMQ queue on PostgreSQL, and a dispatcher that turns
each queued submission into one Kueue-admitted Kubernetes Job.

Commands (``python -m job_api serve|dispatch|migrate``) and configuration are described in
README.md, "Job API"; the contract with the AWS side is the settings model in
:mod:`job_api.settings` and the Job rendering in :mod:`job_api.manifests`.
"""
