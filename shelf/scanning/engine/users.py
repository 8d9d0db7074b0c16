"""/etc/passwd and /etc/shadow, parsed the way glibc's files backend reads them (first entry of a name wins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

SHADOWED = "x"  # noqa: S105  (passwd field meaning "see /etc/shadow", not a password)
NOLOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/nologin")


@dataclass
class User:
    name: str
    uid: int | None
    gid: int | None
    home: str
    shell: str
    passwd_field: str
    passwd_line: int
    shadow_field: str | None = None
    shadow_line: int | None = None

    @property
    def password_field(self) -> tuple[str, str, int]:
        """The field that authenticates this user: (value, file, line). shadow when passwd says `x`."""
        if self.passwd_field == SHADOWED and self.shadow_field is not None:
            return self.shadow_field, "/etc/shadow", self.shadow_line or 0
        return self.passwd_field, "/etc/passwd", self.passwd_line

    @property
    def has_hash(self) -> bool:
        value, _, _ = self.password_field
        if self.passwd_field == SHADOWED and self.shadow_field is None:
            return False  # no shadow entry: nothing to match a password against
        return bool(value) and not value.startswith(("!", "*")) and value != SHADOWED

    @property
    def empty_password(self) -> bool:
        value, _, _ = self.password_field
        if self.passwd_field == SHADOWED and self.shadow_field is None:
            return False
        return value == ""

    @property
    def login_shell(self) -> bool:
        return bool(self.shell) and self.shell not in NOLOGIN_SHELLS


def hash_scheme(value: str) -> str:
    """A name for the hash algorithm (never the hash itself)."""
    schemes = {
        "1": "md5crypt",
        "2a": "bcrypt",
        "2b": "bcrypt",
        "2y": "bcrypt",
        "5": "sha256crypt",
        "6": "sha512crypt",
        "y": "yescrypt",
        "gy": "gost-yescrypt",
        "7": "scrypt",
    }
    if value.startswith("$"):
        ident = value.split("$")[1] if value.count("$") >= 2 else ""
        return schemes.get(ident, f"${ident}$")
    if len(value) == 13:
        return "DES crypt"
    return "unknown scheme"


def _parse_lines(text: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith(("#", "+", "-")):
            continue  # NIS compat lines are not local accounts
        rows.append((number, line.split(":")))
    return rows


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def parse_users(ctx: ScanContext) -> list[User]:
    passwd = ctx.read_text("/etc/passwd")
    if passwd is None:
        ctx.incomplete("/etc/passwd not found")
        return []
    users: dict[str, User] = {}
    for number, fields in _parse_lines(passwd):
        if len(fields) < 7 or not fields[0] or fields[0] in users:
            continue
        users[fields[0]] = User(
            name=fields[0],
            passwd_field=fields[1],
            uid=_int(fields[2]),
            gid=_int(fields[3]),
            home=fields[5],
            shell=fields[6].strip(),
            passwd_line=number,
        )
    shadow = ctx.read_text("/etc/shadow")
    if shadow is not None:
        seen: set[str] = set()
        for number, fields in _parse_lines(shadow):
            if len(fields) < 2 or fields[0] in seen:
                continue
            seen.add(fields[0])
            if fields[0] in users:
                users[fields[0]].shadow_field = fields[1]
                users[fields[0]].shadow_line = number
    return list(users.values())
