"""Problems found in a routing file, each naming its key path (`groups.gpt-4o.weight`)."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RoutingConfigError(ValueError):
    """A routing file that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))


def key_path(*parts: str | int) -> str:
    """`("groups", "gpt-4o", "deployments", 1)` → `groups.gpt-4o.deployments[1]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:  # a key with dots or slashes, e.g. a model id like `meta/llama-3.1`
            out += f"[{part!r}]"
    return out


def _field_type(model: Any, loc: Sequence[str | int]) -> Any:
    """The type found at `loc` under `model`, walking models, dicts and tuples."""
    current = model
    for part in loc:
        while get_origin(current) in (Union, types.UnionType):
            current = next(a for a in get_args(current) if a is not type(None))
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is tuple:
            current = get_args(current)[0]
        else:
            return None
    while get_origin(current) in (Union, types.UnionType):
        current = next(a for a in get_args(current) if a is not type(None))
    return current


def _unknown_key(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    parent = _field_type(model, loc[:-1])
    message = "unknown key"
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        message += f" (known: {', '.join(parent.model_fields)})"
    if loc and loc[-1] in ("true", "false"):
        message += "; YAML reads on/off/yes/no as booleans: quote the key"
    if loc and loc[-1] == "api_key":
        message += "; a key never goes in this file: name its environment variable in api_key_env"
    return message


def from_validation(model: type[BaseModel], error: ValidationError) -> list[Problem]:
    """One problem per schema error, without the echoes pydantic adds after a failed item."""
    errors = error.errors(include_url=False, include_input=False)
    locs = [tuple(e["loc"]) for e in errors]
    problems = []
    for err, loc in zip(errors, locs, strict=True):
        # A failed item also makes its list "too short after validation": say it once.
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue
        message = (_unknown_key(model, loc) if err["type"] == "extra_forbidden"
                   else err["msg"][0].lower() + err["msg"][1:])
        problems.append(Problem(key_path(*loc), message))
    return problems


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems without duplicates, in the order they were found."""
    return list(dict.fromkeys(problems))
