"""Automatic pre-review of a product revision against the product review standard (STANDARDS.md).

`prereview(revision)` returns `Hit`s: warnings shown to the provider before submitting and to the
operator while reviewing. They never block submitting; the wizard's rules (`shelf.products.rules`) do.

What is looked at:
- absolute advertising claims, other cloud vendors and invitations to deal outside the marketplace in
  the name, summary, details (Markdown source) and the document's text, from the operators' word list
  (`ClaimWord`). Chinese words match as substrings; Latin words as whole words, case-insensitively. A hit
  inside a longer hit (最 in 最佳) or inside an allowed phrase (最 in 最近) is not reported. One hit per
  word per field, quoting the words around the first occurrence;
- links in the details to shops and marketplaces, or whose address or text says buy / 购买 / 下单.
  Other links (documentation, the provider's site) are fine;
- pictures that are not PNG, or whose border is almost all near-white (a plain white background);
- details without the sections the standard lists, or without a contact;
- a PDF / Word / PowerPoint document with (almost) no text, e.g. only scanned pages.

Hit codes: absolute_claim, cloud_vendor, offsite_purchase, offsite_link, picture_not_png,
picture_white_background, missing_features, missing_use_cases, missing_usage_guide,
missing_service_process, missing_after_sales, missing_contact, document_no_text.
"""

from __future__ import annotations

import bisect
import io
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageChops

from shelf.prereview import documents
from shelf.prereview.models import ClaimWord
from shelf.storage import get_storage

logger = logging.getLogger(__name__)

CONTEXT_CHARS = 20  # quoted on each side of a hit
MAX_MATCHES_PER_WORD = 1000  # per field; enough to get past many allowed occurrences to a real one
QUOTE_URL_MAX = 120

PICTURE_READ_MAX_BYTES = 4 * 1024 * 1024
PICTURE_MAX_PIXELS = 4_000_000
BORDER_FRACTION = 0.05
NEAR_WHITE = 245  # every channel at least this
WHITE_BORDER_SHARE = 0.98

CODES = (
    "absolute_claim",
    "cloud_vendor",
    "offsite_purchase",
    "offsite_link",
    "picture_not_png",
    "picture_white_background",
    "missing_features",
    "missing_use_cases",
    "missing_usage_guide",
    "missing_service_process",
    "missing_after_sales",
    "missing_contact",
    "document_no_text",
)


@dataclass(frozen=True)
class Hit:
    field: str  # "name", "summary", "details", "document", "pictures[0]", …
    code: str
    message: str
    quote: str  # the provider's words around the hit (or the URL, the format, the file name); "" when none

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def field_label(self) -> str:
        return field_label(self.field)


def field_label(field: str) -> str:
    if field.startswith("pictures["):
        return _("Picture %(n)d") % {"n": int(field[9:-1]) + 1}
    return str(_FIELD_LABELS.get(field, field))


_FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "summary": gettext_lazy("Summary"),
    "details": gettext_lazy("Details"),
    "document": gettext_lazy("Document"),
}


def prereview(revision, *, words: Iterable[tuple[str, str]] | None = None) -> list[Hit]:
    """Every pre-review hit of a revision, in wizard order (name, summary, details, pictures, document).

    `words` are (word, kind) pairs; by default the active `ClaimWord` rows.
    """
    lexicon = Lexicon(
        words if words is not None else ClaimWord.objects.filter(is_active=True).values_list("word", "kind")
    )
    hits: list[Hit] = []
    hits += lexicon.hits("name", Normalized(revision.name))
    hits += lexicon.hits("summary", Normalized(revision.summary))
    details = Normalized(revision.details)
    link_hits, link_spans = link_check(details.text, lexicon)
    hits += lexicon.hits("details", details, masked=link_spans)
    hits += link_hits
    hits += section_check(details.text)
    hits += picture_check(revision)
    hits += document_check(revision.document_or_none, lexicon)
    return hits


# ------------------------------------------------------------------ text and words

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


# ----------------------------------------------------------------------- links

_MD_LINK = re.compile(
    r"(?<!!)\[([^\[\]\n]{0,500})\]\(\s{0,20}<?([^()\s<>\[\]]{1,2000}+)>?(?:\s+[\"'(][^)\n]{0,500})?\s{0,20}\)"
)
_MD_REFERENCE = re.compile(r"^[ ]{0,3}\[([^\]\n]{1,500})\]:[ \t]*<?([^\s>]{1,2000})>?", re.MULTILINE)
_HTML_LINK = re.compile(r"<a\s([^<>]{0,2000})>([^<]{0,500}(?:<(?!/a\s*>)[^<]{0,500}){0,20})</a\s*>", re.I)
_HREF = re.compile(r"href\s*=\s*[\"']?([^\"'\s>]{1,2000})", re.I)
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`，。、；：！？（）【】「」《》]{1,2000}", re.I)
_TAGS = re.compile(r"<[^>]{0,500}>")

# Shops and marketplaces (a host or any subdomain of it).
SHOP_DOMAINS = (
    "taobao.com",
    "tmall.com",
    "tmall.hk",
    "tb.cn",
    "jd.com",
    "jd.hk",
    "3.cn",
    "weidian.com",
    "vdian.com",
    "pinduoduo.com",
    "yangkeduo.com",
    "1688.com",
    "youzan.com",
    "youzan.net",
    "suning.com",
    "dangdang.com",
    "goofish.com",
    "aliexpress.com",
    "etsy.com",
    "myshopify.com",
    "gumroad.com",
    "lemonsqueezy.com",
    "paypal.me",
    "amzn.to",
    "amzn.asia",
    "ebay.com",
)
_AMAZON_HOST = re.compile(r"(?:^|\.)amazon\.(?:com|cn|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$")
_AMAZON_PRODUCT = re.compile(r"/(?:dp|gp/product|gp/aw/d)/", re.I)
_EBAY_HOST = re.compile(r"(?:^|\.)ebay\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$")
_BUY_WORDS = re.compile(
    r"(?<![a-z0-9])(?:buy|buy-now|purchase|order|order-now|checkout|add-to-cart)(?![a-z0-9])|购买|下单|订购|购物车|立即抢购",
    re.I,
)


MAX_LINKS = 2000  # per details page; far more than any real page has


def link_check(details: str, lexicon: Lexicon) -> tuple[list[Hit], list[tuple[int, int]]]:
    """Links in the details that lead buyers to purchase elsewhere; also their spans, so the words inside a
    flagged link (淘宝 in [淘宝店](https://…taobao.com)) are not reported a second time."""
    hits: list[Hit] = []
    flagged: list[tuple[int, int]] = []
    seen: set[str] = set()
    for start, end, url, text in _links(details):
        host = offsite_host(url, text, lexicon)
        if host is None:
            continue
        flagged.append((start, end))
        if url in seen:
            continue
        seen.add(url)
        shown = url if len(url) <= QUOTE_URL_MAX else url[: QUOTE_URL_MAX - 1] + "…"
        hits.append(
            Hit(
                "details",
                "offsite_link",
                _(
                    "Details: the link to %(host)s leads buyers to purchase outside the marketplace, which the standard "
                    "forbids. Remove the link."
                )
                % {"host": host},
                shown,
            )
        )
    return hits, flagged


def _links(text: str):
    """(start, end, url, link text) of Markdown, reference and HTML links, then of the bare URLs outside them."""
    explicit: list[tuple[int, int, str, str]] = []
    for m in _MD_LINK.finditer(text):
        explicit.append((m.start(), m.end(), m.group(2), m.group(1)))
    for m in _MD_REFERENCE.finditer(text):
        explicit.append((m.start(), m.end(), m.group(2), m.group(1)))
    for m in _HTML_LINK.finditer(text):
        if href := _HREF.search(m.group(1)):
            explicit.append((m.start(), m.end(), href.group(1), _TAGS.sub("", m.group(2))))
    explicit.sort()
    yield from explicit[:MAX_LINKS]
    starts = [start for start, _end, _url, _text in explicit]
    max_end, furthest = [], -1
    for _start, end, _url, _text in explicit:
        furthest = max(furthest, end)
        max_end.append(furthest)
    count = len(explicit)
    for m in _BARE_URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?*_~")
        start, end = m.start(), m.start() + len(url)
        before = bisect.bisect_left(starts, end)  # explicit links starting before this URL ends
        if before and max_end[before - 1] > start:
            continue  # inside a Markdown or HTML link already looked at
        count += 1
        if count > MAX_LINKS:
            return
        yield start, end, url, ""


def offsite_host(url: str, text: str, lexicon: Lexicon) -> str | None:
    """The host a purchase link points to, or None when the link is fine."""
    raw = url if "://" in url else "http://" + url if url.lower().startswith("www.") else url
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None  # mailto:, relative links, anchors
    if any(host == domain or host.endswith("." + domain) for domain in SHOP_DOMAINS):
        return host
    path = unquote(parts.path + "?" + parts.query)
    if _AMAZON_HOST.search(host) and _AMAZON_PRODUCT.search(path):
        return host
    if _EBAY_HOST.search(host):
        return host
    if _BUY_WORDS.search(path) or _BUY_WORDS.search(normalize(text)):
        return host
    # The operators' purchase hints (taobao, 淘宝, …) in the address or the link text.
    if lexicon.find(f"{host} {normalize(text)}", kinds=[ClaimWord.Kind.PURCHASE_LINK_HINT]):
        return host
    return None


# -------------------------------------------------------------------- sections

SECTIONS = (
    (
        "features",
        gettext_lazy("features"),
        "功能 / Features",
        r"功能|特性|特点|亮点|优势|介绍|简介|概述|\bfeatures?\b|\bhighlights?\b|\boverview\b|\bintroduction\b",
    ),
    (
        "use_cases",
        gettext_lazy("use cases"),
        "使用场景 / Use cases",
        r"场景|适用|用途|适合|案例|\buse[ -]?cases?\b|\bscenarios?\b|\bwho\b.{0,10}\bfor\b",
    ),
    (
        "usage_guide",
        gettext_lazy("usage guide"),
        "使用指南 / Usage guide",
        r"使用(?!场景)|用法|指南|教程|入门|快速开始|操作|部署|安装|\busage\b|how to use|\bguide\b|getting started|quick ?start"
        r"|\btutorial\b|\binstall(?:ation)?\b",
    ),
    (
        "service_process",
        gettext_lazy("service process"),
        "服务流程 / Service process",
        r"服务流程|服务内容|服务说明|服务方式|服务范围|交付|购买流程|开通流程|\bprocess\b|\bworkflow\b|\bdelivery\b"
        r"|how it works",
    ),
    (
        "after_sales",
        gettext_lazy("after-sales support"),
        "售后支持 / Support",
        r"售后|技术支持|服务支持|支持服务|支持与服务|服务保障|客服|\bsupport\b|after[- ]sales|customer service|\bhelp ?desk\b",
    ),
)
_SECTION_PATTERNS = {key: re.compile(pattern, re.IGNORECASE) for key, _label, _example, pattern in SECTIONS}

# Lines that look like headings: Markdown ATX or setext headings, a line of bold text, 【标题】 or 一、标题.
# A short label before a colon ("售后支持：7x8", "Support: …") also names a section, but alone it does not
# make the details structured (two labels like 邮箱： and 电话： are no outline).
_HEADING_LINES = re.compile(
    r"^[ ]{0,3}#{1,6}[ \t]+(?P<atx>[^\n]+)$"
    r"|^(?P<setext>[^\n]{1,80})\n[ ]{0,3}(?:=+|-{2,})[ \t]*$"
    r"|^[ ]{0,3}(?:\*\*|__)(?P<bold>[^\n]{1,80}?)(?:\*\*|__)[ \t]*[:：]?[ \t]*$"
    r"|^[ ]{0,3}[【\[](?P<bracket>[^】\]\n]{1,40})[】\]](?!\()"
    r"|^[ ]{0,3}[一二三四五六七八九十]{1,3}[、.．][ \t]*(?P<numbered>[^\n]{1,40})$"
    r"|^[ ]{0,3}(?:[-*+][ \t]+)?(?:\*\*|__)?(?P<label>[^\n:：*_#|/]{1,30}?)(?:\*\*|__)?[ \t]*[:：]",
    re.MULTILINE,
)
HEADINGS_MODE_MIN = 2  # with fewer real heading lines, keywords anywhere in the text count

_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_CONTACT = re.compile(
    r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"  # mobile
    r"|(?<!\d)[48]00[- ]?\d{3}[- ]?\d{4}(?!\d)"  # 400 / 800 hotline
    r"|(?<!\d)0\d{2,3}[- ]\d{7,8}(?!\d)"  # landline with area code
    r"|(?<![A-Za-z])QQ(?:号|群)?\s{0,3}[:：]?\s{0,3}\d{5,12}"
    r"|工单|(?<![A-Za-z])tickets?(?![A-Za-z])",
    re.IGNORECASE,
)


def has_contact(details: str) -> bool:
    if _CONTACT.search(details):
        return True
    # An e-mail address, anchored at each "@", so a long run of letters or of "@" costs no backtracking.
    position = details.find("@")
    while position >= 0:
        if position > 0 and details[position - 1] in _EMAIL_LOCAL and _EMAIL_DOMAIN.match(details, position + 1):
            return True
        position = details.find("@", position + 1)
    return False


def headings(details: str) -> list[tuple[str, str]]:
    """(kind, text) of every heading-like line; kind is the group name (atx, setext, bold, …, label)."""
    found = ((m.lastgroup or "", m.group(m.lastgroup or 0)) for m in _HEADING_LINES.finditer(details))
    return [(kind, text.strip()) for kind, text in found if text.strip()]


def section_check(details: str) -> list[Hit]:
    """One hit per expected section the details lack, and one when there is no contact.

    Sections are looked for in the heading-like lines when the details have an outline (at least two real
    headings); otherwise anywhere in the text. Empty details get no hit: the wizard requires them anyway.
    """
    if not details.strip():
        return []
    titles = headings(details)
    outlined = sum(1 for kind, _text in titles if kind != "label") >= HEADINGS_MODE_MIN
    where = "\n".join(text for _kind, text in titles) if outlined else details
    hits = []
    for key, label, example, _pattern in SECTIONS:
        if not _SECTION_PATTERNS[key].search(where):
            hits.append(
                Hit(
                    "details",
                    f"missing_{key}",
                    _(
                        "Details: no “%(section)s” section found (a heading such as %(example)s). The standard asks for "
                        "features, use cases, usage guide, service process and after-sales support."
                    )
                    % {"section": label, "example": example},
                    "",
                )
            )
    if not has_contact(details):
        hits.append(
            Hit(
                "details",
                "missing_contact",
                _(
                    "Details: no contact found (e-mail, phone, QQ or ticket). The standard asks for a reachable contact "
                    "and support hours (at least 7 x 8) on the details page."
                ),
                "",
            )
        )
    return hits


# -------------------------------------------------------------------- pictures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def picture_check(revision) -> list[Hit]:
    hits = []
    storage = get_storage()
    for index, picture in enumerate(revision.pictures.all()):
        field, n = f"pictures[{index}]", index + 1
        try:
            with storage.open(picture.storage_key) as fh:
                data = fh.read(PICTURE_READ_MAX_BYTES + 1)
        except (OSError, ValueError):
            logger.warning("prereview: picture %s unreadable from storage", picture.storage_key)
            continue
        if len(data) > PICTURE_READ_MAX_BYTES:
            continue
        if not data.startswith(PNG_SIGNATURE):
            kind = "JPEG" if data.startswith(b"\xff\xd8\xff") else (picture.content_type or "?")
            hits.append(
                Hit(
                    field,
                    "picture_not_png",
                    _("Picture %(n)d is a %(format)s image; the standard asks for PNG pictures. Export it as PNG.")
                    % {"n": n, "format": kind},
                    kind,
                )
            )
        share = white_border_share(data)
        if share is not None and share >= WHITE_BORDER_SHARE:
            hits.append(
                Hit(
                    field,
                    "picture_white_background",
                    _(
                        "Picture %(n)d has a plain white background; the standard asks for a picture that is not on plain "
                        "white and shows the company or product name."
                    )
                    % {"n": n},
                    "",
                )
            )
    return hits


def white_border_share(data: bytes) -> float | None:
    """The share of near-white pixels (every channel ≥ 245) in the outer 5 % of the picture; None if unreadable.

    Transparent pixels count as white: that is how a transparent picture shows on a white page.
    """
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            width, height = image.size
            if width * height > PICTURE_MAX_PIXELS or width < 1 or height < 1:
                return None
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                rgb = Image.new("RGBA", image.size, (255, 255, 255, 255))
                rgb.alpha_composite(rgba)
                rgb = rgb.convert("RGB")
            else:
                rgb = image.convert("RGB")
    except Exception:  # untrusted bytes: unreadable means "cannot tell"
        return None
    red, green, blue = rgb.split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    white = darkest.point(lambda value: 255 if value >= NEAR_WHITE else 0)
    bw, bh = max(1, round(width * BORDER_FRACTION)), max(1, round(height * BORDER_FRACTION))
    if 2 * bw >= width or 2 * bh >= height:
        boxes = [(0, 0, width, height)]
    else:
        boxes = [
            (0, 0, width, bh),
            (0, height - bh, width, height),
            (0, bh, bw, height - bh),
            (width - bw, bh, width, height - bh),
        ]
    total = sum((right - left) * (bottom - top) for left, top, right, bottom in boxes)
    whites = sum(white.crop(box).histogram()[255] for box in boxes)
    return whites / total


# -------------------------------------------------------------------- document


def document_check(document, lexicon: Lexicon) -> list[Hit]:
    if document is None:
        return []
    text = documents.document_text(document)
    if text is None:
        return []  # not extractable (doc, ppt, zip, rar) or not decidable: no hit
    if not documents.has_text(text):
        return [
            Hit(
                "document",
                "document_no_text",
                _(
                    "Document: “%(name)s” has (almost) no text, e.g. only images or scanned pages. The standard asks for a "
                    "document that lets buyers use the product fully: a guide with key steps and screenshots."
                )
                % {"name": document.filename},
                document.filename,
            )
        ]
    return lexicon.hits("document", Normalized(text))
