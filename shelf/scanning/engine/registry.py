"""The check registry: one `@check("family")` per check function, one module per family under `checks/`.

A check is a function `(ctx: ScanContext) -> Iterable[Finding]`. It reads the image only through `ctx`,
yields findings, and raises (or calls `ctx.incomplete(...)`) when it cannot give a complete answer.
Adding a check: write the function in its family module (or a new module listed in `checks/__init__.py`),
decorate it, and add a test file `tests/scanning/test_<family>.py`. This module imports no family (families import
it), so the families stay independent of each other; selecting among all checks is `checks.select()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext
    from shelf.scanning.engine.model import Finding

CheckFunc = Callable[["ScanContext"], Iterable["Finding"]]


@dataclass(frozen=True)
class CheckSpec:
    family: str
    name: str
    func: CheckFunc


_CHECKS: list[CheckSpec] = []


def check(family: str) -> Callable[[CheckFunc], CheckFunc]:
    """Register `func` as a check of `family`; checks run in family order, then in definition order."""

    def register(func: CheckFunc) -> CheckFunc:
        name = f"{family}.{func.__name__}"
        if any(spec.name == name for spec in _CHECKS):
            return func  # module re-imported (tests, reloads): keep the first registration
        _CHECKS.append(CheckSpec(family=family, name=name, func=func))
        return func

    return register


def registered() -> list[CheckSpec]:
    """The checks registered so far; `checks.all_checks()` imports every family first."""
    return list(_CHECKS)
