"""Check families, one module each; importing this package registers every check (see registry.py).

The import order is the order families run and are reported in. Families never import each other (an
import-linter contract): what two of them share lives in the scan context or a helper module of the engine.
"""

from shelf.scanning.engine.checks import os_release  # noqa: F401, I001
from shelf.scanning.engine.checks import accounts, ssh, hygiene, secrets, firewall  # noqa: F401
from shelf.scanning.engine.checks import web, passwords, eol_software, malware  # noqa: F401
from shelf.scanning.engine.checks import daemons, permissions, logs  # noqa: F401
from shelf.scanning.engine.registry import CheckSpec, registered


def all_checks() -> list[CheckSpec]:
    return registered()


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
