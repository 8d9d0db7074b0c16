"""Links in the details that lead buyers to purchase outside the marketplace.

Links to shops and marketplaces, or whose address or text says buy / 购买 / 下单 or names one of the operators'
purchase hints, are flagged. Other links (documentation, the provider's site) are fine.
"""

from __future__ import annotations

import bisect
import re
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext as _

from shelf.prereview.checks.hits import Hit
from shelf.prereview.checks.words import Lexicon, normalize
from shelf.prereview.models import ClaimWord

QUOTE_URL_MAX = 120

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
