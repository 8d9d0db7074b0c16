"""End-of-life dates of distribution releases: the end of the last support a buyer gets for free
(security support, or the distribution's own LTS where it has one; paid extended support does not count).

Keep it small and exact. A release missing from the table is answered as follows: older than every listed
release of its distro: end-of-life; newer: supported; a distro not listed at all: unknown (the scan is then
incomplete for this check rather than passed).
"""

from __future__ import annotations

from datetime import date

# distro id -> [(release, last supported day)], release as the os-release VERSION_ID prefix it matches.
EOL: dict[str, list[tuple[str, str]]] = {
    "debian": [
        ("7", "2018-05-31"),
        ("8", "2020-06-30"),
        ("9", "2022-06-30"),
        ("10", "2024-06-30"),
        ("11", "2026-08-31"),
        ("12", "2028-06-30"),
        ("13", "2030-06-30"),
    ],
    "ubuntu": [
        ("12.04", "2017-04-28"),
        ("14.04", "2019-04-25"),
        ("16.04", "2021-04-30"),
        ("16.10", "2017-07-20"),
        ("17.04", "2018-01-13"),
        ("17.10", "2018-07-19"),
        ("18.04", "2023-05-31"),
        ("18.10", "2019-07-18"),
        ("19.04", "2020-01-23"),
        ("19.10", "2020-07-17"),
        ("20.04", "2025-05-29"),
        ("20.10", "2021-07-22"),
        ("21.04", "2022-01-20"),
        ("21.10", "2022-07-14"),
        ("22.04", "2027-04-30"),
        ("22.10", "2023-07-20"),
        ("23.04", "2024-01-25"),
        ("23.10", "2024-07-11"),
        ("24.04", "2029-04-30"),
        ("24.10", "2025-07-10"),
        ("25.04", "2026-01-15"),
        ("25.10", "2026-07-09"),
        ("26.04", "2031-04-30"),
    ],
    "centos": [
        ("5", "2017-03-31"),
        ("6", "2020-11-30"),
        ("7", "2024-06-30"),
        ("8", "2021-12-31"),
    ],
    "centos-stream": [
        ("8", "2024-05-31"),
        ("9", "2027-05-31"),
        ("10", "2030-01-01"),
    ],
    "rhel": [
        ("6", "2020-11-30"),
        ("7", "2024-06-30"),
        ("8", "2029-05-31"),
        ("9", "2032-05-31"),
        ("10", "2035-05-31"),
    ],
    "almalinux": [("8", "2029-03-01"), ("9", "2032-05-31"), ("10", "2035-05-31")],
    "rocky": [("8", "2029-05-31"), ("9", "2032-05-31"), ("10", "2035-05-31")],
    "ol": [("6", "2021-03-01"), ("7", "2024-12-31"), ("8", "2029-07-31"), ("9", "2032-06-30")],
    "amzn": [("2018.03", "2023-12-31"), ("2", "2026-06-30"), ("2023", "2029-06-30")],
    "alpine": [
        ("3.14", "2023-05-01"),
        ("3.15", "2023-11-01"),
        ("3.16", "2024-05-23"),
        ("3.17", "2024-11-22"),
        ("3.18", "2025-05-09"),
        ("3.19", "2025-11-01"),
        ("3.20", "2026-04-01"),
        ("3.21", "2026-11-01"),
        ("3.22", "2027-05-01"),
        ("3.23", "2027-11-01"),
    ],
    "fedora": [("37", "2023-12-05"), ("38", "2024-05-21"), ("39", "2024-11-26"), ("40", "2025-05-13")],
}


def _key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def release_key(distro: str, version: str) -> str | None:
    """The table row a VERSION_ID belongs to: Debian/RHEL-likes by major, Ubuntu/Alpine by major.minor."""
    if not version:
        return None
    pieces = version.split(".")
    if distro in ("ubuntu", "alpine"):
        return ".".join(pieces[:2]) if len(pieces) >= 2 else None
    if distro == "amzn" and version.startswith("2018"):
        return "2018.03"
    return pieces[0]


def lookup(distro: str, version: str, today: date) -> tuple[bool | None, str | None]:
    """(end of life?, last supported day) for a release; (None, None) when unknown."""
    rows = EOL.get(distro)
    key = release_key(distro, version)
    if not rows or key is None:
        return None, None
    for release, last_day in rows:
        if release == key:
            return today > date.fromisoformat(last_day), last_day
    keys = sorted(_key(r) for r, _ in rows)
    if _key(key) < keys[0]:
        return True, None
    if _key(key) > keys[-1]:
        return False, None
    return None, None
