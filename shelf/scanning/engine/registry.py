"""The check registry: one `@check("family")` per check function, one module per family under `checks/`.

A check is a function `(ctx: ScanContext) -> Iterable[Finding]`. It reads the image only through `ctx`,
yields findings, and raises (or calls `ctx.incomplete(...)`) when it cannot give a complete answer.
Adding a check: write the function in its family module (or a new module listed in `checks/__init__.py`),
decorate it, and add a test file `tests/scanning/test_<family>.py`.
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


def all_checks() -> list[CheckSpec]:
    from shelf.scanning.engine import checks  # noqa: F401  (imports every family module)

    return list(_CHECKS)


def families() -> list[str]:
    seen: list[str] = []
    for spec in all_checks():
        if spec.family not in seen:
            seen.append(spec.family)
    return seen


def select(wanted: list[str] | None) -> tuple[list[CheckSpec], set[str] | None]:
    """Checks to run for `wanted` (family names like "ssh" or check ids like "ssh.root_login").

    Returns the specs and, when check ids were named, the set of ids to keep from their families' findings.
    """
    specs = all_checks()
    if wanted is None:
        return specs, None
    fams = set()
    ids: set[str] = set()
    known = {spec.family for spec in specs}
    for item in wanted:
        family = item.split(".", 1)[0]
        if family not in known:
            raise ValueError(f"unknown check family {family!r}; known: {sorted(known)}")
        fams.add(family)
        if "." in item:
            ids.add(item)
    whole = {item for item in wanted if "." not in item}
    keep = None if not ids else ids | {f"{fam}.*" for fam in whole}
    return [spec for spec in specs if spec.family in fams], keep


def keep_finding(check_id: str, keep: set[str] | None) -> bool:
    if keep is None:
        return True
    return check_id in keep or f"{check_id.split('.', 1)[0]}.*" in keep
