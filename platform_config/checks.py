"""Rules shared by every settings block: list settings hold each entry once, and messages say
which values the user never wrote.

``Unique`` is the one mechanism behind "no duplicates" (``tests/test_config_errors.py`` holds
every list setting of the model to carrying it). A repeated entry is always a mistake: a
repeated CIDR or namespace does nothing, a repeated role ARN fails only in CloudFormation
("Array items are not unique"), and a repeated pool, model or cache rule would give two
constructs one id -- a traceback at synth instead of a message naming the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import core_schema

T = TypeVar("T")
# An IAM role ARN in any partition (the settings that name roles).
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"


def pascal(name: str) -> str:
    """``dynamo/vllm-runtime`` -> ``DynamoVllmRuntime``: the stable construct id the stacks derive
    from a setting. Here, so that the model can refuse two settings that would share an id."""
    for separator in "/._":
        name = name.replace(separator, "-")
    return "".join(word.capitalize() for word in name.split("-") if word)


def brief(value: object, limit: int = 80) -> str:
    """``repr`` of a value a user wrote, cut so that a pasted blob can't flood the message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Unique:
    """Annotated metadata for a list setting whose entries must differ.

    ``key`` names the field that identifies an entry of a list of settings blocks (a pool's
    ``name``, a cache rule's ``prefix``); scalar entries are their own key. ``same``, when
    given, maps a key to what the platform derives from it (a construct id): two keys that
    derive the same thing clash even though they are spelled differently."""

    key: str | None = None
    same: Callable[[str], str] | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def check(self, entries: Sequence[Any]) -> Sequence[Any]:
        seen: dict[Any, tuple[int, Any]] = {}
        for index, entry in enumerate(entries):
            key = getattr(entry, self.key) if self.key else entry
            derived = self.same(key) if self.same else key
            if derived in seen:
                first, first_key = seen[derived]
                raise ValueError(self._message(first, first_key, index, key, derived))
            seen[derived] = (index, key)
        return entries

    def _message(self, first: int, first_key: Any, index: int, key: Any, derived: Any) -> str:
        if first_key != key:
            return (
                f"entries [{first}] and [{index}] ({brief(first_key)} and {brief(key)}) both become the "
                f"construct id {derived!r}; allowed: values that differ in more than separators (- . / _)"
            )
        if self.key:
            return (
                f"entries [{first}] and [{index}] share the {self.key} {brief(key)}; "
                f"allowed: each {self.key} once"
            )
        return f"{brief(key)} appears twice (entries [{first}] and [{index}]); allowed: each entry once"


UniqueList = Annotated[list[T], Unique()]


def value_of(settings: BaseModel, field: str) -> str:
    """A setting's value for a message, marked ``(default)`` when the stage file did not set
    it: a message that quotes a value the user never wrote must say where it came from."""
    value = getattr(settings, field)
    value = getattr(value, "value", value)
    value = str(value).lower() if isinstance(value, bool) else value
    return f"{value}" if field in settings.model_fields_set else f"{value} (default)"
