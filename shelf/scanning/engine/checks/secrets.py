"""Family `secrets`: credentials left in text files under the homes, /etc, /opt, /srv and /var/www.

Bounded: files over 1 MiB and binary files are skipped, walks stop at a file count (recorded as incomplete),
package-owned trust stores are not entered, ~/.ssh and /etc/ssh belong to the `ssh` family.
Evidence names the path, line and kind of secret; the secret itself is masked (`mask()`), never copied.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from shelf.scanning.engine.context import ScanContext, WalkLimits
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check
from shelf.scanning.engine.text import mask, numbered_lines

MiB = 1024 * 1024
FILE_LIMIT = MiB
TOTAL_BYTES_LIMIT = 256 * MiB
ROOTS = ("/etc", "/opt", "/srv", "/var/www")
SKIP_DIRS = (
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/pki/java",
    "/etc/ssh",
    "/etc/alternatives",
)
SKIP_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".bmp", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mo",
    ".pyc", ".so", ".a", ".o", ".jar", ".war", ".class", ".zip", ".gz", ".tgz", ".xz", ".bz2", ".zst", ".7z",
    ".rar", ".pdf", ".mp3", ".mp4", ".iso", ".img", ".qcow2", ".deb", ".rpm", ".whl", ".crt", ".pub",
)  # fmt: skip


@dataclass(frozen=True)
class Pattern:
    check_id: str
    severity: str
    label: str
    regex: re.Pattern[str]
    group: int = 0


PATTERNS = (
    Pattern(
        "secrets.private_key",
        "high",
        "private key block",
        re.compile(r"-----BEGIN ((?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----"),
    ),
    Pattern("secrets.cloud_key", "critical", "AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Pattern("secrets.cloud_key", "critical", "Tencent Cloud SecretId", re.compile(r"\bAKID[0-9A-Za-z]{32}\b")),
    Pattern("secrets.cloud_key", "critical", "Alibaba Cloud AccessKey ID", re.compile(r"\bLTAI[0-9A-Za-z]{12,20}\b")),
    Pattern(
        "secrets.cloud_key",
        "critical",
        "AWS secret access key",
        re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{20,})"),
        1,
    ),
    Pattern("secrets.token", "high", "GitHub token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b")),
    Pattern("secrets.token", "high", "GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b")),
    Pattern("secrets.token", "high", "GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    Pattern("secrets.token", "high", "Slack token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b")),
)

Hit = tuple[int, str]  # (line, masked description)


def _git_credentials(text: str) -> list[Hit]:
    hits = []
    for n, line in numbered_lines(text):
        m = re.match(r"^\s*\w[\w+.-]*://([^:/@\s]+):([^@\s]+)@(\S+)", line)
        if m:
            hits.append((n, f"credentials for {m.group(1)}@{m.group(3).split('/')[0]}: password {mask(m.group(2))}"))
    return hits


def _netrc(text: str) -> list[Hit]:
    return [
        (n, f"password {mask(m.group(1))}")
        for n, line in numbered_lines(text)
        if (m := re.search(r"(?:^|\s)password\s+(\S+)", line))
    ]


def _pgpass(text: str) -> list[Hit]:
    hits = []
    for n, line in numbered_lines(text):
        if line.strip() and not line.lstrip().startswith("#"):
            fields = re.split(r"(?<!\\):", line, maxsplit=4)
            if len(fields) == 5 and fields[4]:
                hits.append((n, f"password for {fields[3]}@{fields[0]} {mask(fields[4])}"))
    return hits


def _ini_password(text: str) -> list[Hit]:
    return [
        (n, f"password {mask(m.group(1).strip(chr(34) + chr(39)))}")
        for n, line in numbered_lines(text)
        if (m := re.match(r"^\s*password\s*[=:]\s*(\S.*?)\s*$", line, re.IGNORECASE))
    ]


def _npmrc(text: str) -> list[Hit]:
    return [
        (n, f"{m.group(1)} {mask(m.group(2))}")
        for n, line in numbered_lines(text)
        if (m := re.search(r"(_authToken|_auth|_password)\s*=\s*(\S+)", line))
    ]


def _aws_credentials(text: str) -> list[Hit]:
    return [
        (n, f"aws_secret_access_key {mask(m.group(1))}")
        for n, line in numbered_lines(text)
        if (m := re.match(r"^\s*aws_secret_access_key\s*=\s*(\S+)", line, re.IGNORECASE))
    ]


def _docker_config(text: str) -> list[Hit]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    auths = data.get("auths") if isinstance(data, dict) else None
    hits = []
    if isinstance(auths, dict):
        for registry, entry in auths.items():
            if isinstance(entry, dict) and (entry.get("auth") or entry.get("identitytoken") or entry.get("password")):
                secret = str(entry.get("auth") or entry.get("identitytoken") or entry.get("password"))
                line = next((n for n, ln in numbered_lines(text) if registry in ln), None) or 1
                hits.append((line, f"registry credentials for {registry}: {mask(secret)}"))
    return hits


def _gh_hosts(text: str) -> list[Hit]:
    return [
        (n, f"oauth_token {mask(m.group(1))}")
        for n, line in numbered_lines(text)
        if (m := re.match(r"^\s*oauth_token\s*:\s*(\S+)", line))
    ]


def _s3cfg(text: str) -> list[Hit]:
    return [
        (n, f"secret_key {mask(m.group(1))}")
        for n, line in numbered_lines(text)
        if (m := re.match(r"^\s*secret_key\s*=\s*(\S+)", line))
    ]


# (path suffix, parser): a file whose path ends with the suffix is a credential file if the parser finds something.
CREDENTIAL_FILES: tuple[tuple[str, Callable[[str], list[Hit]]], ...] = (
    ("/.git-credentials", _git_credentials),
    ("/.netrc", _netrc),
    ("/_netrc", _netrc),
    ("/.pgpass", _pgpass),
    ("/.my.cnf", _ini_password),
    ("/etc/mysql/debian.cnf", _ini_password),
    ("/.aws/credentials", _aws_credentials),
    ("/.docker/config.json", _docker_config),
    ("/.npmrc", _npmrc),
    ("/.pypirc", _ini_password),
    ("/.config/gh/hosts.yml", _gh_hosts),
    ("/.s3cfg", _s3cfg),
)


def scan_text(path: str, text: str) -> dict[tuple[str, str], list[Evidence]]:
    """Findings of one file, keyed by (check id, severity)."""
    found: dict[tuple[str, str], list[Evidence]] = {}
    for suffix, parser in CREDENTIAL_FILES:
        if path.endswith(suffix):
            for line, description in parser(text):
                found.setdefault(("secrets.credential_file", "high"), []).append(Evidence(path, line, description))
    for number, line in numbered_lines(text):
        if len(line) > 10_000:
            line = line[:10_000]
        for pattern in PATTERNS:
            for m in pattern.regex.finditer(line):
                if "EXAMPLE" in m.group(0):
                    continue  # AWS's documented sample keys (AKIAIOSFODNN7EXAMPLE ...) ship in SDKs and docs
                if pattern.check_id == "secrets.private_key":
                    shown = m.group(0)  # the armour header names the key type; the key follows on later lines
                else:
                    shown = f"{pattern.label} {mask(m.group(pattern.group))}"
                found.setdefault((pattern.check_id, pattern.severity), []).append(Evidence(path, number, shown))
    return found


TITLES = {
    "secrets.private_key": "A private key is left in {path}",
    "secrets.cloud_key": "Cloud access keys are left in {path}",
    "secrets.token": "API tokens are left in {path}",
    "secrets.credential_file": "A credentials file with stored passwords or tokens: {path}",
}
FIXES = {
    "secrets.private_key": "Remove the key from the image, revoke it, and generate per-server keys at first boot.",
    "secrets.cloud_key": "Remove the key from the image and deactivate it in the cloud console now: it is compromised.",
    "secrets.token": "Remove the token from the image and revoke it with its provider.",
    "secrets.credential_file": "Delete the file (or the stored password) and rotate the credentials it held.",
}


def _candidate_files(ctx: ScanContext) -> Iterator[str]:
    homes = [home for _, home in ctx.homes()]
    skip = SKIP_DIRS + tuple(posixpath.join(h, ".ssh") for h in homes)
    seen: set[str] = set()
    limits = WalkLimits(max_size=FILE_LIMIT, max_files=20_000, max_depth=12)
    for root in (*homes, *ROOTS):
        if root in ("/", ""):
            continue
        for entry in ctx.iter_files(root, limits, skip=skip):
            if entry.path in seen or entry.size == 0:
                continue
            seen.add(entry.path)
            if entry.path.lower().endswith(SKIP_EXTENSIONS):
                continue
            yield entry.path


@check("secrets")
def secrets(ctx: ScanContext) -> Iterator[Finding]:
    budget = TOTAL_BYTES_LIMIT
    for path in _candidate_files(ctx):
        data = ctx.read_bytes(path, FILE_LIMIT)
        if not data:
            continue
        budget -= len(data)
        if budget < 0:
            ctx.incomplete(f"stopped after reading {TOTAL_BYTES_LIMIT // MiB} MiB of text files")
            return
        if b"\x00" in data[:8192]:
            continue
        text = data.decode("utf-8", errors="replace")
        for (check_id, severity), evidence in scan_text(path, text).items():
            yield Finding(
                check_id=check_id,
                severity=severity,
                title=TITLES[check_id].format(path=path),
                evidence=evidence[:20],
                fix=FIXES[check_id],
                family="secrets",
                data={"matches": len(evidence)},
            )
