"""From findings to a verdict. Django-free, so `shelf scan FILE` on a laptop judges exactly like the server."""

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from shelf.scanning.engine.severity import CRITICAL, DEFAULT_FAILING_VULN_SEVERITIES, HIGH, LOW, MEDIUM
from shelf.scanning.states import FAILED, INCOMPLETE, PASSED

DEFAULT_FAIL_CHECKS = (
    "os.eol",
    "accounts.*",
    "ssh.password_auth",
    "ssh.root_login",
    "ssh.empty_passwords",
    "ssh.authorized_keys",
    "ssh.private_key",
    "hygiene.history",
    "secrets.*",
    "passwords.builtin",
    "passwords.default",
    "web.*",
    "eol_software.*",
    "malware.detected",
    "malware.package_modified",
    "services.no_auth",
    "permissions.world_writable",
    "permissions.system_dirs",
    "permissions.sensitive",
    "permissions.suid",
)
DEFAULT_FAIL_SEVERITIES = DEFAULT_FAILING_VULN_SEVERITIES
KEY_MAX_LENGTH = 300  # Finding.key and FindingException.key hold this much; matching uses the same prefix
PACKAGE_DB_PATHS = {"dpkg": "/var/lib/dpkg/status", "rpm": "/var/lib/rpm/rpmdb.sqlite", "apk": "/lib/apk/db/installed"}


@dataclass
class Policy:
    fail_checks: tuple[str, ...] = DEFAULT_FAIL_CHECKS
    fail_vuln_severities: tuple[str, ...] = DEFAULT_FAIL_SEVERITIES
    fail_unfixed_vulns: bool = False
    # (check_id, key) pairs an operator excepted for this image.
    exceptions: set[tuple[str, str]] = field(default_factory=set)


def finding_key(finding: dict) -> str:
    if (finding.get("data") or {}).get("vuln_id"):
        return f"{finding['data']['vuln_id']}:{finding['data']['package']}"[:KEY_MAX_LENGTH]
    evidence = finding.get("evidence") or []
    return evidence[0]["path"][:KEY_MAX_LENGTH] if evidence else ""


def vulnerability_findings(matches, os_family: str = "") -> list[dict]:
    """Turn vulnerability matches into findings of the `vulnerabilities` family."""
    findings = []
    for m in matches:
        fixed = m.fixed_version is not None
        severity = (
            m.severity if m.severity in (CRITICAL, HIGH, MEDIUM, LOW) else MEDIUM
        )  # an unrated one shows as medium
        name = m.package if m.package == m.source else f"{m.package} (source {m.source})"
        findings.append(
            {
                "check_id": "vulnerabilities.fixable" if fixed else "vulnerabilities.unfixed",
                "family": "vulnerabilities",
                "severity": severity,
                "title": f"{m.vuln_id}: {name} {m.installed_version} is vulnerable"
                + (f", fixed in {m.fixed_version}" if fixed else ", no fix published yet"),
                "evidence": [
                    {
                        "path": PACKAGE_DB_PATHS.get(os_family, "package database"),
                        "line": None,
                        "text": f"{m.package} {m.installed_version}",
                    }
                ],
                "fix": (
                    f"Upgrade {m.package} to {m.fixed_version} or later (for example `apt-get update && apt-get upgrade`), "
                    "then rebuild and re-import the image."
                )
                if fixed
                else "No fix is published yet; watch the advisory and rebuild the image when one is. This does not fail the scan by default.",
                "data": {
                    "vuln_id": m.vuln_id,
                    "aliases": list(m.aliases),
                    "package": m.package,
                    "source": m.source,
                    "installed_version": m.installed_version,
                    "fixed_version": m.fixed_version,
                    "summary": m.summary,
                    "references": list(m.references)[:10],
                    "severity": m.severity,
                },
            }
        )
    return findings


def is_blocking(finding: dict, policy: Policy) -> bool:
    if finding["family"] == "vulnerabilities":
        if finding["data"].get("fixed_version") is None and not policy.fail_unfixed_vulns:
            return False
        return finding["data"].get("severity", finding["severity"]) in policy.fail_vuln_severities
    return any(fnmatchcase(finding["check_id"], pattern) for pattern in policy.fail_checks)


def evaluate(findings: list[dict], incomplete: list[str], policy: Policy) -> tuple[str, list[dict]]:
    """Mark each finding blocking/excepted and return the verdict: failed, incomplete or passed."""
    for finding in findings:
        finding["key"] = finding_key(finding)
        blocking = is_blocking(finding, policy)
        finding["excepted"] = blocking and (finding["check_id"], finding["key"]) in policy.exceptions
        finding["blocking"] = blocking and not finding["excepted"]
    if any(f["blocking"] for f in findings):
        return FAILED, findings
    # A check that could not complete never lets an image pass.
    if incomplete:
        return INCOMPLETE, findings
    return PASSED, findings
