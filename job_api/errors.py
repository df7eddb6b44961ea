"""The one kind of refusal the API answers with: an HTTP status and a message naming the value
and the rule (``{"detail": message}``)."""


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
