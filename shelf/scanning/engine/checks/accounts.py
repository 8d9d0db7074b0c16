"""Family `accounts`: no baked passwords, no passwordless accounts, no second root."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check
from shelf.scanning.engine.users import hash_scheme


@check("accounts")
def password_hashes(ctx: ScanContext) -> Iterator[Finding]:
    for user in ctx.users:
        value, path, line = user.password_field
        if user.has_hash:
            shell = f", shell {user.shell}" if user.shell else ""
            yield Finding(
                check_id="accounts.password_hash",
                severity="high",
                title=f"Account {user.name!r} has a password set in the image",
                evidence=[
                    Evidence(path=path, line=line, text=f"{user.name}: {hash_scheme(value)} password hash{shell}")
                ],
                fix=(
                    f"Lock the password before capturing the image (`passwd -l {user.name}` or `usermod -p '*' "
                    f"{user.name}`); let cloud-init set credentials at first boot."
                ),
                family="accounts",
                data={"user": user.name, "uid": user.uid, "shell": user.shell, "login_shell": user.login_shell},
            )
        elif user.empty_password:
            yield Finding(
                check_id="accounts.empty_password",
                severity="critical",
                title=f"Account {user.name!r} has an empty password field: anyone may log in without a password",
                evidence=[
                    Evidence(path=path, line=line, text=f"{user.name}: empty password field, shell {user.shell}")
                ],
                fix=f"Lock the account (`usermod -p '*' {user.name}`) or remove it before capturing the image.",
                family="accounts",
                data={"user": user.name, "uid": user.uid, "shell": user.shell},
            )


@check("accounts")
def extra_uid0(ctx: ScanContext) -> Iterator[Finding]:
    for user in ctx.users:
        if user.uid == 0 and user.name != "root":
            yield Finding(
                check_id="accounts.extra_uid0",
                severity="high",
                title=f"Account {user.name!r} has UID 0 (a second root account)",
                evidence=[
                    Evidence(path="/etc/passwd", line=user.passwd_line, text=f"{user.name}: uid 0, shell {user.shell}")
                ],
                fix=f"Remove the account or give it an unprivileged UID (`userdel {user.name}`); use sudo for administration.",
                family="accounts",
                data={"user": user.name},
            )
