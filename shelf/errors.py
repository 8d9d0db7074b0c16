"""Domain errors shared by every app; the API, the web console and the CLI render them alike.

Services raise these; they never return half-applied changes. `RuleViolations`
carries every violated rule at once so a user fixes everything in one pass.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Violation:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class RuleViolations(Exception):
    """One or more validation rules failed (HTTP 422)."""

    def __init__(self, violations: list[Violation]):
        self.violations = list(violations)
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in self.violations))

    def by_field(self) -> dict[str, list[Violation]]:
        grouped: dict[str, list[Violation]] = {}
        for violation in self.violations:
            grouped.setdefault(violation.field, []).append(violation)
        return grouped


class Conflict(Exception):
    """The object's state forbids the operation (HTTP 409)."""

    def __init__(self, message: str, code: str = "conflict", field: str | None = None):
        self.message = message
        self.code = code
        self.field = field
        super().__init__(message)


class StorageFull(Exception):
    """The object store has no room for the bytes (HTTP 507); nothing of the refused write is kept."""

    def __init__(self, message: str, code: str = "storage_full", field: str | None = None):
        self.message = message
        self.code = code
        self.field = field
        super().__init__(message)


class TooLarge(Exception):
    """A size or quota limit was exceeded (HTTP 413)."""

    def __init__(self, message: str, code: str = "too_large", field: str | None = None):
        self.message = message
        self.code = code
        self.field = field
        super().__init__(message)


class Unavailable(Exception):
    """A service Shelf depends on failed; the request may be retried later (HTTP 503)."""

    def __init__(self, message: str, code: str = "unavailable", field: str | None = None):
        self.message = message
        self.code = code
        self.field = field
        super().__init__(message)


def raise_if(violations: list[Violation]) -> None:
    if violations:
        raise RuleViolations(violations)
