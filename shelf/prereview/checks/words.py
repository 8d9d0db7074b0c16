"""The operators' word list (`ClaimWord`) matched against the provider's text.

Matching runs on the NFKC form of the text: Chinese words as substrings, Latin words as whole words,
case-insensitively. A hit inside a longer hit (最 in 最佳) or inside an allowed phrase (最 in 最近) is not
reported; one hit per word per field, quoting the provider's own words around the first occurrence.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _

from shelf.prereview.checks.hits import Hit, field_label
from shelf.prereview.models import ClaimWord

CONTEXT_CHARS = 20  # quoted on each side of a hit
MAX_MATCHES_PER_WORD = 1000  # per field; enough to get past many allowed occurrences to a real one

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_WS = re.compile(r"\s+")
_BOUNDARY = "A-Za-z0-9-"  # a hyphen joins words: "best-effort" is not "best"


def normalize(text: str | None) -> str:
    """NFKC (full-width Ｂｅｓｔ and １００％ become Best and 100%), without zero-width characters."""
    return unicodedata.normalize("NFKC", text or "").translate(_INVISIBLE)


class Normalized:
    """A text normalised for matching (`text`), able to map a span of it back to the provider's own words.

    Matching runs on the NFKC form, so full-width letters and digits match; quotes show what was typed
    (full-width brackets stay full-width).
    """

    def __init__(self, original: str | None):
        self.original = unicodedata.normalize("NFC", original or "")
        chars: list[str] = []
        self.index: list[int] = []  # position in `original` of each character of `text`
        for position, char in enumerate(self.original):
            for normal in unicodedata.normalize("NFKC", char).translate(_INVISIBLE):
                chars.append(normal)
                self.index.append(position)
        self.text = "".join(chars)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if start >= end:
            return self.index[start] if start < len(self.index) else len(self.original), len(self.original)
        return self.index[start], self.index[end - 1] + 1


def is_chinese(word: str) -> bool:
    return any(ord(char) >= 0x2E80 for char in word)


@lru_cache(maxsize=4096)
def word_pattern(word: str) -> re.Pattern | None:
    word = normalize(word).strip()
    if not word:
        return None
    body = (
        r"\s*".join(re.escape(piece) for piece in word.split())
        if is_chinese(word)
        else r"\s+".join(re.escape(piece) for piece in word.split())
    )
    if is_chinese(word):
        return re.compile(body, re.IGNORECASE)
    return re.compile(rf"(?<![{_BOUNDARY}]){body}(?![{_BOUNDARY}])", re.IGNORECASE)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    word: str
    kind: str


class Lexicon:
    """The active words, compiled once per pre-review."""

    def __init__(self, words: Iterable[tuple[str, str]]):
        self.words: list[tuple[str, str, re.Pattern]] = []
        self.allowed: list[re.Pattern] = []
        for word, kind in words:
            pattern = word_pattern(word)
            if pattern is None:
                continue
            if kind == ClaimWord.Kind.ALLOWED:
                self.allowed.append(pattern)
            else:
                self.words.append((word, kind, pattern))

    def find(
        self, text: str, *, masked: Iterable[tuple[int, int]] = (), kinds: Iterable[str] | None = None
    ) -> list[_Match]:
        """Matches that are neither inside a longer match, nor inside an allowed phrase or a masked span."""
        kinds = set(kinds) if kinds is not None else None
        matches: list[_Match] = []
        for word, kind, pattern in self.words:
            if kinds is not None and kind not in kinds:
                continue
            for count, m in enumerate(pattern.finditer(text)):
                if count >= MAX_MATCHES_PER_WORD:
                    break
                if m.end() > m.start():
                    matches.append(_Match(m.start(), m.end(), word, kind))
        if not matches:
            return []
        covers = _Spans([(m.start(), m.end()) for p in self.allowed for m in p.finditer(text)] + list(masked))
        matches = [m for m in _outermost(matches) if not covers.covers(m.start, m.end)]
        return sorted(matches, key=lambda m: (m.start, m.end))

    def hits(self, field: str, normalized: Normalized, *, masked: Iterable[tuple[int, int]] = ()) -> list[Hit]:
        seen: set[tuple[str, str]] = set()
        hits = []
        original = normalized.original
        for match in self.find(normalized.text, masked=masked):
            key = (match.kind, match.word.casefold())
            if key in seen:
                continue
            seen.add(key)
            start, end = normalized.original_span(match.start, match.end)
            hits.append(
                Hit(
                    field,
                    _WORD_CODES[match.kind],
                    _word_message(match.kind, field, original[start:end]),
                    quote(original, start, end),
                )
            )
        return hits


_WORD_CODES = {
    ClaimWord.Kind.ABSOLUTE_CLAIM: "absolute_claim",
    ClaimWord.Kind.CLOUD_VENDOR: "cloud_vendor",
    ClaimWord.Kind.PURCHASE_LINK_HINT: "offsite_purchase",
}


def _word_message(kind: str, field: str, word: str) -> str:
    values = {"field": field_label(field), "word": word}
    if kind == ClaimWord.Kind.ABSOLUTE_CLAIM:
        return (
            _(
                "%(field)s: “%(word)s” is an absolute advertising claim, which the advertising law forbids "
                "(最, 第一, 国家级, …). Describe the product with facts instead."
            )
            % values
        )
    if kind == ClaimWord.Kind.CLOUD_VENDOR:
        return (
            _("%(field)s: “%(word)s” names another cloud vendor; the standard forbids advertising other cloud vendors.")
            % values
        )
    return (
        _(
            "%(field)s: “%(word)s” invites buyers to deal outside the marketplace; the standard forbids leading "
            "buyers to purchase elsewhere."
        )
        % values
    )


def _outermost(matches: list[_Match]) -> list[_Match]:
    """Drop matches lying inside a longer one (最 inside 最佳, 京东 inside 京东云); equal spans are all kept."""
    ordered = sorted(matches, key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[_Match] = []
    furthest = -1  # furthest end among earlier, different spans
    index = 0
    while index < len(ordered):
        span = (ordered[index].start, ordered[index].end)
        group = []
        while index < len(ordered) and (ordered[index].start, ordered[index].end) == span:
            group.append(ordered[index])
            index += 1
        if furthest < span[1]:
            kept += group
        furthest = max(furthest, span[1])
    return kept


class _Spans:
    """Answers "does one of these spans cover [start, end)?" in O(log n)."""

    def __init__(self, spans: list[tuple[int, int]]):
        spans.sort()
        self.starts = [start for start, _end in spans]
        self.max_end: list[int] = []
        furthest = -1
        for _start, end in spans:
            furthest = max(furthest, end)
            self.max_end.append(furthest)

    def covers(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.starts, start)
        return index > 0 and self.max_end[index - 1] >= end


def quote(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """The hit with about `context` characters either side, on one line."""
    left, right = max(0, start - context), min(len(text), end + context)
    snippet = _WS.sub(" ", text[left:right]).strip()
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")
