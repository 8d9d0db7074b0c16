"""The catalog's full-text index: one tokenizer in Python, two database back ends that see the same tokens.

Why this shape (docs/adr/0006-catalog-search-cjk-bigrams.md): Chinese has no spaces, so runs of CJK
characters become overlapping bigrams ("云服务器" → 云服 服务 务器) and, for one-character queries, each
character alone. Other words are case-folded, stripped of accents and matched by prefix (from two
characters on: a one-letter prefix would merge a large part of the index for nothing). Every token that is not plain ASCII letters or digits is spelled in ASCII ("0" + its UTF-8
bytes as letters), so SQLite's FTS5 `unicode61` tokenizer and PostgreSQL's `simple` parser each see exactly
one token per Python token, whatever their Unicode tables: both databases find the same rows.

The index is keyed by CatalogEntry id: on SQLite the FTS5 table `storefront_catalogfts` (rowid = entry id,
columns name / body / details), on PostgreSQL the entry's `search` tsvector column (weights A / B / C), each
created by migration 0002 for its own database only.
"""

import unicodedata
from dataclasses import dataclass

from django.db import connection

FTS_TABLE = "storefront_catalogfts"
# Name above summary, tags, software and provider, those above the details text.
FTS5_WEIGHTS = (10.0, 4.0, 1.0)
MAX_TOKEN = 60  # PostgreSQL drops words over 2047 bytes; cut earlier, the same way in documents and queries
MAX_DOCUMENT_TOKENS = 20_000  # per column: enough for any real details text, bounded for the tsvector
MAX_QUERY_TERMS = 32

_NIBBLES = "abcdfghijklmnopq"  # no "e": a digit, an "e" and a digit would be scientific notation to PostgreSQL


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x20000 <= code <= 0x3134F  # extensions B to G
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x31F0 <= code <= 0x31FF
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


def _fold(char: str) -> str:
    """Case-folded, compatibility-normalised, accents removed (é → e, Ｌ → l); CJK left as it is."""
    if is_cjk(char):
        return char
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _kind(char: str) -> str | None:
    if is_cjk(char):
        return "cjk"
    if "0" <= char <= "9":
        return "digit"
    if char.isalnum():
        return "word"
    return None


def _runs(text: str):
    """(kind, run) for each maximal run of CJK characters, of ASCII digits, of other letters and digits."""
    kind, run = None, []
    for raw in unicodedata.normalize("NFKC", text or ""):
        for char in _fold(raw):
            current = _kind(char)
            if current != kind and run:
                yield kind, "".join(run)
                run = []
            kind = current
            if current is not None:
                run.append(char)
    if run:
        yield kind, "".join(run)


def _spell(word: str) -> str:
    """ASCII letters and digits as they are; anything else as "0" + its UTF-8 bytes in letters (prefix-preserving)."""
    if word.isascii():
        return word[:MAX_TOKEN]
    spelled = "0" + "".join(_NIBBLES[b >> 4] + _NIBBLES[b & 15] for b in word.encode())
    return spelled[:MAX_TOKEN]


def document_tokens(text: str) -> list[str]:
    """The tokens a document's text is indexed under."""
    tokens: list[str] = []
    for kind, run in _runs(text):
        if kind == "cjk":
            tokens += [_spell(run[i : i + 2]) for i in range(len(run) - 1)]
            tokens += [_spell(char) for char in run]  # each character alone, for one-character queries
        else:
            tokens.append(_spell(run))
        if len(tokens) >= MAX_DOCUMENT_TOKENS:
            return tokens[:MAX_DOCUMENT_TOKENS]
    return tokens


@dataclass(frozen=True)
class Term:
    """One query token: every term must match (AND); a prefix term matches any token it begins."""

    token: str
    prefix: bool


def query_terms(q: str) -> list[Term]:
    """The terms a query asks for: the bigrams of its CJK runs (a lone CJK character itself), exactly; words
    by prefix, except one-letter or one-digit words, which match only themselves."""
    terms: list[Term] = []
    for kind, run in _runs(q):
        if kind == "cjk" and len(run) > 1:
            terms += [Term(_spell(run[i : i + 2]), prefix=False) for i in range(len(run) - 1)]
        else:
            terms.append(Term(_spell(run), prefix=kind != "cjk" and len(run) > 1))
    unique = list(dict.fromkeys(terms))
    return unique[:MAX_QUERY_TERMS]


def entry_columns(*, name: str, summary: str, tags, software, provider_name: str, details_text: str) -> tuple:
    """The three weighted columns of an entry, as space-separated tokens."""
    body = " ".join([summary or "", *(tags or []), *(software or []), provider_name or ""])
    return tuple(" ".join(document_tokens(text)) for text in (name, body, details_text))


def _is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def index_write(entry_id: int, columns: tuple[str, str, str]) -> None:
    """Put (or replace) one entry in the index, in the caller's transaction."""
    with connection.cursor() as cursor:
        if _is_sqlite():
            # Also overwrites a row left behind under a reused id (a test database flush does not know this table).
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry_id])
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, name, body, details) VALUES (%s, %s, %s, %s)", [entry_id, *columns]
            )
        else:
            cursor.execute(
                "UPDATE storefront_catalogentry SET search = "
                "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B') "
                "|| setweight(to_tsvector('simple', %s), 'C') WHERE id = %s",
                [*columns, entry_id],
            )


def index_delete(entry_id: int) -> None:
    """Drop one entry from the index (on PostgreSQL the row itself goes, with its column)."""
    if _is_sqlite():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry_id])


def index_clear() -> None:
    if _is_sqlite():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")


@dataclass(frozen=True)
class Match:
    """SQL pieces over `storefront_catalogentry e`: `where` keeps the query's matches (nothing ranked);
    `joins` + `score` rank them too (higher = better), for the relevance order only."""

    where: str
    where_params: list
    joins: str
    join_params: list
    join_where: str  # what keeps only matches when ranking (the SQLite join does it by itself)
    score: str


def match(terms: list[Term]) -> Match:
    if _is_sqlite():
        expression = " AND ".join(f'"{t.token}"' + ("*" if t.prefix else "") for t in terms)
        weights = ", ".join(str(w) for w in FTS5_WEIGHTS)
        return Match(
            where=f"e.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
            where_params=[expression],
            joins=(
                f"JOIN (SELECT rowid AS entry_id, -bm25({FTS_TABLE}, {weights}) AS score FROM {FTS_TABLE} "
                f"WHERE {FTS_TABLE} MATCH %s) m ON m.entry_id = e.id"
            ),
            join_params=[expression],
            join_where="",
            score="m.score",
        )
    expression = " & ".join(t.token + (":*" if t.prefix else "") for t in terms)
    return Match(
        where="e.search @@ to_tsquery('simple', %s)",
        where_params=[expression],
        joins="CROSS JOIN to_tsquery('simple', %s) AS query",
        join_params=[expression],
        join_where="e.search @@ query",
        # float8: the cursor carries the exact value back
        score="ts_rank(e.search, query)::float8",
    )
