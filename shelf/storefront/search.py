"""The catalog's full-text index: one tokenizer in Python, two database back ends that see the same tokens.

Why this shape (docs/adr/0006-catalog-search-cjk-bigrams.md): Chinese has no spaces, so runs of CJK
characters become overlapping bigrams ("云服务器" → 云服 服务 务器) and, for one-character queries, each
character alone. Other words are case-folded, stripped of accents and matched by prefix (from two
characters on: a one-letter prefix would merge a large part of the index for nothing). Every token that is
not plain ASCII letters or digits is spelled in ASCII ("0" + its UTF-8 bytes as letters), so SQLite's FTS5
`unicode61` tokenizer and PostgreSQL's `simple` parser each see exactly one token per Python token, whatever
their Unicode tables: both databases find the same rows.

The index is keyed by CatalogEntry id: on SQLite the FTS5 table `storefront_catalogfts` (rowid = entry id,
columns name / body / details; migrations 0002 and 0006), on PostgreSQL the entry's `search` tsvector with a
GIN index (weights A / B / C; 0002) and `search_head` (A / B only, for ranking; 0007), each created for its
own database only. Both rank the same way (TIERS), so both give the same pages."""

import contextlib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import connection, transaction

FTS_TABLE = "storefront_catalogfts"
MAX_TOKEN = 60  # PostgreSQL drops words over 2047 bytes; cut earlier, the same way in documents and queries
MAX_DOCUMENT_TOKENS = 20_000  # per column: enough for any real details text, bounded for the tsvector
MAX_QUERY_TERMS = 32

_NIBBLES = "abcdfghijklmnopq"  # no "e": a digit, an "e" and a digit would be scientific notation to PostgreSQL


_CJK_RANGES = (
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\u3400-\u4dbf"  # extension A
    "\U00020000-\U0003134f"  # extensions B to G
    "\uf900-\ufaff"  # compatibility ideographs
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"
    "\uac00-\ud7af"  # hangul syllables
)
# The text split into CJK and other stretches (only the others are folded), and folded text into runs: CJK
# characters, ASCII digits, other letters and digits (str.isalnum, which is what \w is, without "_").
_SEGMENTS = re.compile(f"([{_CJK_RANGES}]+)")
_RUNS = re.compile(f"([{_CJK_RANGES}]+)|([0-9]+)|([^\\W_0-9{_CJK_RANGES}]+)")
_CJK = re.compile(f"[{_CJK_RANGES}]")
_TO_NIBBLES = str.maketrans("0123456789abcdef", _NIBBLES)


def is_cjk(char: str) -> bool:
    return _CJK.fullmatch(char) is not None


def _fold(text: str) -> str:
    """Case-folded, compatibility-normalised, accents removed (é → e, Ｌ → l); CJK left as it is."""
    parts = _SEGMENTS.split(unicodedata.normalize("NFKC", text))
    for i in range(0, len(parts), 2):  # the stretches between CJK runs (split puts the runs at odd places)
        part = unicodedata.normalize("NFKD", parts[i].casefold())
        parts[i] = part if part.isascii() else "".join(c for c in part if not unicodedata.combining(c))
    return "".join(parts)


def _runs(text: str):
    """(kind, run) for each maximal run of CJK characters ("cjk"), of ASCII digits ("digit"), of other letters
    and digits ("word")."""
    for cjk, digits, word in _RUNS.findall(_fold(text or "")):
        yield ("cjk", cjk) if cjk else ("digit", digits) if digits else ("word", word)


def _spell(word: str) -> str:
    """ASCII letters and digits as they are; anything else as "0" + its UTF-8 bytes in letters (prefix-preserving)."""
    if word.isascii():
        return word[:MAX_TOKEN]
    return ("0" + word.encode().hex().translate(_TO_NIBBLES))[:MAX_TOKEN]


@functools.lru_cache(maxsize=65536)
def _spelled_bytes(char: str) -> str:
    return char.encode().hex().translate(_TO_NIBBLES)


def document_tokens(text: str) -> list[str]:
    """The tokens a document's text is indexed under."""
    tokens: list[str] = []
    for kind, run in _runs(text):
        if kind == "cjk":
            # A CJK pair is at most 8 bytes: its spelling (17 characters) is never cut at MAX_TOKEN.
            letters = [_spelled_bytes(char) for char in run]
            tokens += ["0" + a + b for a, b in zip(letters, letters[1:], strict=False)]
            tokens += ["0" + a for a in letters]  # each character alone, for one-character queries
        else:
            tokens.append(_spell(run))
        if len(tokens) >= MAX_DOCUMENT_TOKENS:
            break
    return tokens[:MAX_DOCUMENT_TOKENS]


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


def index_write(rows: list[tuple[int, tuple[str, str, str]]]) -> None:
    """Put (or replace) entries in the index, (entry id, its columns) each, in the caller's transaction."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if _is_sqlite():
            # Also overwrites a row left behind under a reused id (a test database flush does not know this table).
            cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [[entry_id] for entry_id, _ in rows])
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, name, body, details) VALUES (%s, %s, %s, %s)",
                [[entry_id, *columns] for entry_id, columns in rows],
            )
        else:
            # `search` (every column) finds, through the GIN index; `search_head` (name and body, small enough to
            # stay in the row) ranks: ranking on `search` would decompress every match's whole details vector.
            cursor.executemany(
                "UPDATE storefront_catalogentry SET search_head = head, search = head || details FROM (SELECT "
                "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B') AS head, "
                "setweight(to_tsvector('simple', %s), 'C') AS details) v WHERE id = %s",
                [[*columns, entry_id] for entry_id, columns in rows],
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


# Relevance is a tier, best first, then newest within a tier: every word in the name; every word in the name or
# the body (summary, tags, software, provider); the rest (some word only in the details). A tier is a plain
# condition the index answers, so a page reads its tier's matches in the listing order and stops after a page,
# instead of scoring every match (bm25 over the 40,000 matches of 建站 took about a second at 100,000 entries).
TIERS = (2, 1, 0)


@dataclass(frozen=True)
class Tier:
    """The matches of one tier: `condition` (with `params`) keeps them, read along the listing order's index,
    what a tier with many matches wants. On SQLite `ids` (SQL with `ids_params` and then a LIMIT parameter) lists
    the tier's entry ids straight from the index, so a tier with few matches is read by them instead of walking
    the listing index past every entry (SQLite's planner cannot tell the two apart: FTS5 gives it no counts)."""

    condition: str
    params: list
    ids: str | None = None
    ids_params: list = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    """SQL over `storefront_catalogentry e`: `where` keeps the query's matches; `scan_from` + `scan_where` are
    the same as a join read in the index's own order (for counting the first matches, without collecting them
    all first); `tiers[t]` keeps the matches of tier t only (TIERS), for the relevance order."""

    where: str
    where_params: list
    scan_from: str
    scan_where: str
    tiers: dict[int, Tier]


def match(terms: list[Term]) -> Match:
    if _is_sqlite():
        words = " AND ".join(f'"{t.token}"' + ("*" if t.prefix else "") for t in terms)
        in_name, in_head = f"(name : ({words}))", f"({{name body}} : ({words}))"
        found = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"

        def tier(expression: str) -> Tier:
            # "+e.id": not the primary key's lookup of every match, then a sort; the listing index, in order.
            return Tier(f"+e.id IN ({found})", [expression], f"{found} LIMIT %s", [expression])

        return Match(
            where=f"e.id IN ({found})",
            where_params=[words],
            scan_from=f"{FTS_TABLE} CROSS JOIN storefront_catalogentry e ON e.id = {FTS_TABLE}.rowid",  # the index first
            scan_where=f"{FTS_TABLE} MATCH %s",
            tiers={2: tier(in_name), 1: tier(f"{in_head} NOT {in_name}"), 0: tier(f"({words}) NOT {in_head}")},
        )
    # `search` finds through the GIN index; the tier is read from `search_head` (name A, body B; small, in the
    # row), not from `search`, whose whole details vector would be decompressed for every match.
    words = " & ".join(t.token + (":*" if t.prefix else "") for t in terms)
    in_name = " & ".join(t.token + (":*A" if t.prefix else ":A") for t in terms)
    where = "e.search @@ to_tsquery('simple', %s)"
    head = name = "e.search_head @@ to_tsquery('simple', %s)"
    return Match(
        where=where,
        where_params=[words],
        scan_from="storefront_catalogentry e",
        scan_where=where,
        tiers={
            2: Tier(f"{where} AND {name}", [words, in_name]),
            1: Tier(f"{where} AND {head} AND NOT {name}", [words, words, in_name]),
            0: Tier(f"{where} AND NOT {head}", [words, words]),
        },
    )


@contextlib.contextmanager
def planned_for_index(terms: list[Term]):
    """Run a search's queries so PostgreSQL reads matches through the GIN index.

    Its cost model does not count decompressing each row's tsvector, so for words in a tenth of the rows it
    picks a sequential scan that is 50 times slower (1.7 s instead of 30 ms at 100,000 rows). With words, the
    queries run in a transaction that turns sequential scans off for itself only (inside a caller's
    transaction the previous setting is put back afterwards: a SET LOCAL outlives savepoints).
    """
    if not terms or _is_sqlite():
        yield
        return
    outer = connection.in_atomic_block
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
        previous = cursor.fetchone()[0]
        try:
            yield
        finally:
            if outer:
                cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])
