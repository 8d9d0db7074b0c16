"""Family `ssh`: effective sshd settings (as `sshd -T` reports them), baked keys of any kind."""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
from collections.abc import Iterator

from shelf.scanning.engine import cloudinit, sshd_config
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

KEY_TYPES = (
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ssh-ed448",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)

# keyword -> (bad value, check id, severity, title, fix)
SETTINGS = {
    "passwordauthentication": (
        {"yes"},
        "ssh.password_auth",
        "high",
        "sshd accepts password logins (PasswordAuthentication {value})",
        "Set `PasswordAuthentication no` in /etc/ssh/sshd_config (before any Include that could set it first) "
        "and rely on keys injected at first boot.",
    ),
    "permitrootlogin": (
        {"yes"},
        "ssh.root_login",
        "high",
        "sshd lets root log in with a password (PermitRootLogin {value})",
        "Set `PermitRootLogin prohibit-password` (or `no`) in /etc/ssh/sshd_config.",
    ),
    "permitemptypasswords": (
        {"yes"},
        "ssh.empty_passwords",
        "critical",
        "sshd accepts empty passwords (PermitEmptyPasswords {value})",
        "Set `PermitEmptyPasswords no` (the default) in /etc/ssh/sshd_config.",
    ),
}


def _load(ctx: ScanContext) -> sshd_config.SshdConfig | None:
    if "sshd_config" not in ctx.cache:
        ctx.cache["sshd_config"] = sshd_config.parse(ctx)
    return ctx.cache["sshd_config"]


@check("ssh")
def effective_settings(ctx: ScanContext) -> Iterator[Finding]:
    config = _load(ctx)
    if config is None:
        # No /etc/ssh/sshd_config: either no OpenSSH server, or one that refuses to start without its file.
        return
    for keyword, (bad, check_id, severity, title, fix) in SETTINGS.items():
        value, directive = config.get(keyword)
        if value.lower() in bad:
            if directive is None:
                evidence = Evidence(
                    path=sshd_config.MAIN_CONFIG,
                    line=None,
                    text=f"{_canonical(keyword)} is not set; the OpenSSH default is {value}",
                )
            else:
                evidence = Evidence(path=directive.path, line=directive.line, text=directive.text)
            yield Finding(
                check_id=check_id,
                severity=severity,
                title=title.format(value=value.lower()),
                evidence=[evidence],
                fix=fix,
                family="ssh",
                data={"keyword": _canonical(keyword), "value": value.lower(), "default": directive is None},
            )
        for d in config.in_match_blocks(keyword):
            if d.value.lower() in bad:
                yield Finding(
                    check_id=check_id,
                    severity="medium",
                    title=f"{_canonical(keyword)} {d.value.lower()} inside `Match {d.match}`",
                    evidence=[Evidence(path=d.path, line=d.line, text=d.text)],
                    fix=f"Remove `{d.text}` from the Match block (connections matching `{d.match}` get it).",
                    family="ssh",
                    data={"keyword": _canonical(keyword), "value": d.value.lower(), "match": d.match},
                )


def _canonical(keyword: str) -> str:
    return {
        "passwordauthentication": "PasswordAuthentication",
        "permitrootlogin": "PermitRootLogin",
        "permitemptypasswords": "PermitEmptyPasswords",
    }.get(keyword, keyword)


def fingerprint(blob_b64: str) -> str | None:
    try:
        blob = base64.b64decode(blob_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_key_line(line: str) -> tuple[str, str | None, str] | None:
    """(key type, fingerprint, comment) of an authorized_keys line, options allowed before the key."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    tokens = stripped.split()
    for i, token in enumerate(tokens[:-1]):
        if token in KEY_TYPES or token.startswith(("ssh-", "ecdsa-", "sk-")):
            return token, fingerprint(tokens[i + 1]), " ".join(tokens[i + 2 :])
    return "unknown", None, ""


def _expand(pattern: str, user: str, home: str, uid: int | None) -> str:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%" and i + 1 < len(pattern):
            token = pattern[i + 1]
            out.append(
                {"h": home, "u": user, "U": str(uid if uid is not None else ""), "%": "%"}.get(token, "%" + token)
            )
            i += 2
            continue
        out.append(ch)
        i += 1
    path = "".join(out)
    if path.startswith("~/"):
        path = home + path[1:]
    if not path.startswith("/"):
        path = posixpath.join(home, path)
    return posixpath.normpath(path)


@check("ssh")
def authorized_keys(ctx: ScanContext) -> Iterator[Finding]:
    config = _load(ctx) or sshd_config.SshdConfig()
    value, _ = config.get("authorizedkeysfile")
    patterns = [] if value.lower() == "none" else value.split()
    users = [(u.name, u.home, u.uid) for u in ctx.users if u.home]
    known_homes = {home for _, home, _ in users}
    users += [(name, home, None) for name, home in ctx.homes() if home not in known_homes]
    seen: set[str] = set()
    for name, home, uid in users:
        for pattern in patterns:
            path = _expand(pattern, name, home.rstrip("/") or "/", uid)
            if path in seen:
                continue
            seen.add(path)
            text = ctx.read_text(path, 1024 * 1024)
            if not text:
                continue
            evidence = []
            for number, line in enumerate(text.splitlines(), start=1):
                parsed = parse_key_line(line)
                if parsed is None:
                    continue
                key_type, fp, comment = parsed
                shown = f"{key_type} {fp or '(unparsable key)'}" + (f" {comment[:60]}" if comment else "")
                evidence.append(Evidence(path=path, line=number, text=shown))
            if evidence:
                yield Finding(
                    check_id="ssh.authorized_keys",
                    severity="high",
                    title=f"{len(evidence)} SSH key(s) authorized for {name!r} are baked into the image",
                    evidence=evidence,
                    fix=f"Empty or remove {path}; buyers' keys are injected at first boot by cloud-init.",
                    family="ssh",
                    data={"user": name, "keys": len(evidence)},
                )


PRIVATE_MARKERS = (b"PRIVATE KEY-----", b"PuTTY-User-Key-File-")


def describe_private_key(data: bytes) -> tuple[int, str] | None:
    """(line, description) of the first private key in `data`, never the key material."""
    for number, line in enumerate(data.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(b"-----BEGIN ") and stripped.endswith(b"PRIVATE KEY-----"):
            kind = stripped[len(b"-----BEGIN ") : -len(b" PRIVATE KEY-----")].decode("ascii", "replace").strip()
            encrypted = b"ENCRYPTED" in stripped or b"Proc-Type: 4,ENCRYPTED" in data
            if kind == "OPENSSH":
                encrypted = _openssh_encrypted(data)
            label = f"{kind or 'PKCS#8'} private key".strip()
            return number, f"{label} ({'passphrase-protected' if encrypted else 'unencrypted'})"
        if stripped.startswith(b"PuTTY-User-Key-File-"):
            encrypted = b"Encryption: none" not in data
            return number, f"PuTTY private key ({'passphrase-protected' if encrypted else 'unencrypted'})"
    return None


def _openssh_encrypted(data: bytes) -> bool:
    try:
        body = data.split(b"-----BEGIN OPENSSH PRIVATE KEY-----", 1)[1].split(b"-----END", 1)[0]
        raw = base64.b64decode(b"".join(body.split())[:200] + b"===")
    except (IndexError, binascii.Error, ValueError):
        return True
    prefix = b"openssh-key-v1\x00"
    if not raw.startswith(prefix) or len(raw) < len(prefix) + 4:
        return True
    n = int.from_bytes(raw[len(prefix) : len(prefix) + 4], "big")
    cipher = raw[len(prefix) + 4 : len(prefix) + 4 + n]
    return cipher != b"none"


@check("ssh")
def private_keys(ctx: ScanContext) -> Iterator[Finding]:
    for name, home in ctx.homes():
        ssh_dir = posixpath.join(home, ".ssh")
        for entry in ctx.iter_files(ssh_dir):
            data = ctx.read_bytes(entry.path, 256 * 1024) or b""
            if not any(marker in data for marker in PRIVATE_MARKERS):
                continue
            found = describe_private_key(data)
            if found is None:
                continue
            line, description = found
            yield Finding(
                check_id="ssh.private_key",
                severity="high",
                title=f"A private SSH key of {name!r} is left in the image",
                evidence=[Evidence(path=entry.path, line=line, text=description)],
                fix=f"Delete {entry.path} and revoke the key wherever its public half is authorized.",
                family="ssh",
                data={"user": name},
            )


@check("ssh")
def host_keys(ctx: ScanContext) -> Iterator[Finding]:
    keys = [p for p in ctx.glob("/etc/ssh/ssh_host_*_key") if ctx.is_file(p)]
    if not keys:
        return
    ci = cloudinit.cached_state(ctx)
    evidence = [Evidence(path=p, line=None, text="host private key") for p in keys]
    if ci.active and ci.ssh_deletekeys:
        severity = "low"
        title = "SSH host keys are baked into the image (cloud-init will delete and regenerate them at first boot)"
        fix = (
            "Delete /etc/ssh/ssh_host_*_key* before capturing the image anyway: cloud-init regenerates them only "
            "if it runs (ssh_deletekeys is on), and a copy of the image still holds the originals."
        )
    else:
        severity = "medium"
        reason = "cloud-init is not active" if not ci.active else f"ssh_deletekeys is off ({ci.ssh_deletekeys_source})"
        title = f"SSH host keys are baked into the image and would be shared by every server ({reason})"
        fix = "Delete /etc/ssh/ssh_host_*_key* before capturing the image and regenerate them at first boot."
    yield Finding(
        check_id="ssh.host_keys",
        severity=severity,
        title=title,
        evidence=evidence,
        fix=fix,
        family="ssh",
        data={"cloud_init_active": ci.active, "ssh_deletekeys": ci.ssh_deletekeys},
    )
