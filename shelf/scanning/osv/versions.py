"""Version comparison by each family's own rules: dpkg (python-debian), rpm (`rpmvercmp`), apk (apk-tools)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from debian.debian_support import NativeVersion

from shelf.scanning.osv.ecosystems import ecosystem_family


@lru_cache(maxsize=65536)
def _dpkg_version(value: str) -> NativeVersion:
    return NativeVersion(value)


@lru_cache(maxsize=262144)
def _dpkg_compare(a: str, b: str) -> int:
    va, vb = _dpkg_version(a.strip()), _dpkg_version(b.strip())
    if va < vb:
        return -1
    return 0 if va == vb else 1


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alpha(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _rpmvercmp(a: str, b: str) -> int:
    """rpm's ``rpmvercmp``: alternating numeric and alphabetic segments; ``~`` sorts first, ``^`` after the end."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not (_is_digit(a[i]) or _is_alpha(a[i])) and a[i] not in "~^":
            i += 1
        while j < lb and not (_is_digit(b[j]) or _is_alpha(b[j])) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        kind = _is_digit if _is_digit(ca) else _is_alpha
        si, sj = i, j
        while i < la and kind(a[i]):
            i += 1
        while j < lb and kind(b[j]):
            j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            # A numeric segment is newer than an alphabetic one.
            return 1 if kind is _is_digit else -1
        if kind is _is_digit:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@lru_cache(maxsize=65536)
def _rpm_evr(value: str) -> tuple[int, str, str]:
    value = value.strip()
    epoch = 0
    head, sep, tail = value.partition(":")
    if sep and (head.isdigit() or head == ""):
        epoch = int(head or 0)
        value = tail
    version, sep, release = value.rpartition("-")
    if not sep:
        version, release = value, ""
    return epoch, version, release


def _rpm_compare(a: str, b: str) -> int:
    ea, va, ra = _rpm_evr(a)
    eb, vb, rb = _rpm_evr(b)
    if ea != eb:
        return 1 if ea > eb else -1
    # As rpm's labelCompare: a missing release sorts before any release.
    return _rpmvercmp(va, vb) or _rpmvercmp(ra, rb)


# apk-tools: digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}
_T_INITIAL, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_HASH, _T_REVISION, _T_END, _T_INVALID = range(9)
# Pre-release suffixes sort below the bare version ("_none"), post-release ones above.
_APK_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_APK_SUFFIX_NONE = 5
_DIGITS = re.compile(r"[0-9]*")
_LOWER = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-fA-F]*")


@lru_cache(maxsize=65536)
def _apk_tokens(value: str) -> tuple[tuple[int, Any], ...]:
    """Tokenize an apk version the way apk-tools does; ends with an END or INVALID token."""
    tokens: list[tuple[int, Any]] = []
    pos, n = 0, len(value)

    def digits(kind: int) -> tuple[int, Any]:
        nonlocal pos
        text = _DIGITS.match(value, pos).group()  # type: ignore[union-attr]
        pos += len(text)
        if not text:
            return (_T_INVALID, None)
        return (kind, text)

    token = digits(_T_INITIAL)
    while True:
        tokens.append(token)
        kind = token[0]
        if kind >= _T_END:
            return tuple(tokens)
        if pos >= n:
            token = (_T_END, None)
            continue
        c = value[pos]
        if "a" <= c <= "z":
            token = (_T_INVALID, None) if kind > _T_DIGIT else (_T_LETTER, c)
            pos += 1
        elif c == "." or _is_digit(c):
            if c == "." and kind > _T_DIGIT:
                token = (_T_INVALID, None)
                continue
            if c == ".":
                pos += 1
            if kind in (_T_INITIAL, _T_DIGIT):
                token = digits(_T_DIGIT)
            elif kind == _T_SUFFIX:
                token = digits(_T_SUFFIX_NO)
            else:
                token = (_T_INVALID, None)
        elif c == "_":
            if kind > _T_SUFFIX_NO:
                token = (_T_INVALID, None)
                continue
            pos += 1
            name = _LOWER.match(value, pos).group()  # type: ignore[union-attr]
            pos += len(name)
            suffix = _APK_SUFFIXES.get(name)
            token = (_T_INVALID, None) if suffix is None else (_T_SUFFIX, suffix)
        elif c == "~":
            if kind >= _T_HASH:
                token = (_T_INVALID, None)
                continue
            pos += 1
            text = _HEX.match(value, pos).group()  # type: ignore[union-attr]
            pos += len(text)
            token = (_T_HASH, text) if text else (_T_INVALID, None)
        elif c == "-":
            if kind >= _T_REVISION or not value.startswith("-r", pos):
                token = (_T_INVALID, None)
                continue
            pos += 2
            token = digits(_T_REVISION)
        else:
            token = (_T_INVALID, None)


def _apk_token_cmp(kind: int, a: Any, b: Any) -> int:
    if kind in (_T_INITIAL, _T_SUFFIX_NO, _T_REVISION) or (kind == _T_DIGIT and a[0] != "0" and b[0] != "0"):
        a, b = int(a), int(b)
    # Otherwise (a leading zero, a letter, a commit hash) the text is compared; suffixes are ranks.
    return (a > b) - (a < b)


def _apk_compare(a: str, b: str) -> int:
    ta, tb = _apk_tokens(a.strip()), _apk_tokens(b.strip())
    for (ka, va), (kb, vb) in zip(ta, tb, strict=False):
        if ka != kb or ka >= _T_END:
            break
        r = _apk_token_cmp(ka, va, vb)
        if r:
            return r
    if ka == kb:
        return 0
    # Equal so far: the longer version is newer unless what it goes on with is a pre-release suffix.
    if ka == _T_SUFFIX and va < _APK_SUFFIX_NONE:
        return -1
    if kb == _T_SUFFIX and vb < _APK_SUFFIX_NONE:
        return 1
    return -1 if ka > kb else 1


COMPARATORS: dict[str, Callable[[str, str], int]] = {
    "dpkg": _dpkg_compare,
    "rpm": _rpm_compare,
    "apk": _apk_compare,
}
# Parse a version or raise ValueError; rpm and apk accept any string (as rpm and apk-tools do).
VALIDATORS: dict[str, Callable[[str], object]] = {
    "dpkg": lambda value: _dpkg_version(value),
    "rpm": lambda value: None,
    "apk": lambda value: None,
}


def compare_versions(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` sorts before, with or after ``b`` under ``ecosystem``'s rules.

    Raises ``ValueError`` for an ecosystem without version rules here, or for
    a version dpkg would reject.
    """
    family = ecosystem_family(ecosystem)
    if family is None:
        raise ValueError(f"no version rules for ecosystem {ecosystem!r}")
    return COMPARATORS[family](a, b)


def canonical_version(family: str | None, value: str) -> str:
    value = value.strip()
    if family in ("dpkg", "rpm") and value.startswith("0:"):
        return value[2:]
    return value
