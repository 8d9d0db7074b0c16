"""A record's severity: the distribution's rating first, then Ubuntu's priority, a Red Hat summary, CVSS scores."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from shelf.scanning.engine.severity import (
    CRITICAL,
    DEFAULT_FAILING_VULN_SEVERITIES,
    HIGH,
    LOW,
    MEDIUM,
    UNKNOWN,
    VULN_SEVERITIES,
)

#: Severity names, most severe first.
SEVERITIES = VULN_SEVERITIES
_SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
#: The default policy: a vulnerability of these severities with a fix published fails the image.
DEFAULT_FAILING_SEVERITIES = frozenset(DEFAULT_FAILING_VULN_SEVERITIES)

_RATING_WORDS = {
    "critical": CRITICAL,
    "high": HIGH,
    "important": HIGH,
    "medium": MEDIUM,
    "moderate": MEDIUM,
    "low": LOW,
    "negligible": LOW,
    "unimportant": LOW,
    "minor": LOW,
}
_SUMMARY_RATING = re.compile(r"^\s*(critical|important|moderate|low)\s*:", re.IGNORECASE)


def _rating_word(value: Any) -> str | None:
    """A qualitative rating ('High', 'moderate', 'unimportant', Debian's 'medium*'); None for 'not yet assigned' etc."""
    if not isinstance(value, str):
        return None
    return _RATING_WORDS.get(re.sub(r"[^a-z]", "", value.lower()))


def _entry_rating(entry: dict) -> str | None:
    for field in ("ecosystem_specific", "database_specific"):
        specific = entry.get(field)
        if isinstance(specific, dict):
            for key in ("severity", "urgency"):
                rating = _rating_word(specific.get(key))
                if rating:
                    return rating
    return None


def _cvss_rating(kind: str, vector: str) -> str | None:
    try:
        if kind == "CVSS_V3":
            name = CVSS3(vector).severities()[0]
        elif kind == "CVSS_V4":
            name = CVSS4(vector).severity
        else:
            name = CVSS2(vector).severities()[0]
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None
    name = name.lower()
    # CVSS "None" (score 0.0) is the bottom of the scale.
    return LOW if name == "none" else _RATING_WORDS.get(name)


def most_severe(ratings: Iterable[str]) -> str | None:
    return max(ratings, key=_SEVERITY_RANK.__getitem__, default=None)


def entry_severity(record: dict, entry: dict | None = None) -> str:
    affected = [e for e in record.get("affected") or () if isinstance(e, dict)]
    # 1. The distribution's own rating: the matched entry's, the record's, then any entry's.
    if entry is not None:
        rating = _entry_rating(entry)
        if rating:
            return rating
    specific = record.get("database_specific")
    if isinstance(specific, dict):
        rating = _rating_word(specific.get("severity"))
        if rating:
            return rating
    if entry is None:
        rating = most_severe(r for e in affected if (r := _entry_rating(e)))
        if rating:
            return rating
    scores: list[dict] = []
    for owner in ([entry] if entry is not None else []) + [record] + [e for e in affected if e is not entry]:
        for item in owner.get("severity") or ():
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("score"), str):
                scores.append(item)
    # 2. Ubuntu's qualitative priority.
    rating = most_severe(r for s in scores if s["type"] == "Ubuntu" and (r := _rating_word(s["score"])))
    if rating:
        return rating
    # 3. Red Hat, AlmaLinux and Rocky advisories open their summary with the rating ("Important: ...").
    m = _SUMMARY_RATING.match(str(record.get("summary") or ""))
    if m:
        return _RATING_WORDS[m.group(1).lower()]
    # 4. CVSS base scores: v3.x, then v4, then v2.
    for kind in ("CVSS_V3", "CVSS_V4", "CVSS_V2"):
        rating = most_severe(r for s in scores if s["type"] == kind and (r := _cvss_rating(kind, s["score"])))
        if rating:
            return rating
    return UNKNOWN


def severity_of(record: dict) -> str:
    """The record's severity: ``"critical"``, ``"high"``, ``"medium"``, ``"low"`` or ``"unknown"``.

    In order of preference: the distribution's rating (``ecosystem_specific``
    / ``database_specific`` ``severity`` or Debian's ``urgency``:
    ``unimportant`` counts as low, ``not yet assigned`` as no rating; GHSA's
    ``moderate`` and Red Hat's ``important`` map to medium and high), Ubuntu's
    priority (``severity`` of type ``Ubuntu``; ``negligible`` is low), the
    ``Important:``/``Moderate:`` prefix of a Red Hat-style summary, then the
    CVSS base score's rating (``CVSS_V3``, ``CVSS_V4``, ``CVSS_V2`` vectors;
    a 0.0 score is low). Several values of one kind: the most severe wins.
    """
    return entry_severity(record)
