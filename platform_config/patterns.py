"""Text patterns settings blocks share: names, Hugging Face model ids, secret ARNs, mesh clients.

One home, so the workload settings (``workloads.py``) and the blocks hooked into them
(``llm_servers.py``) accept the same spellings.
"""

NAME_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
# The full ARN, with the six-character suffix Secrets Manager appends to every name, so that
# IAM grants exactly that secret (what `aws secretsmanager describe-secret` prints).
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$"
HF_MODEL_PATTERN = r"^[\w.-]+/[\w.-]+$"
# A mesh client: ``namespace/serviceaccount``, or ``namespace/*`` for every meshed workload
# of a namespace (Linkerd identities are ServiceAccounts).
MESH_CLIENT_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/([a-z0-9]([-a-z0-9.]*[a-z0-9])?|\*)$"
