"""Automatic pre-review of a product revision against the product review standard (STANDARDS.md).

`prereview(revision)` returns `Hit`s: warnings shown to the provider before submitting and to the
operator while reviewing. They never block submitting; the wizard's rules (`shelf.products.rules`) do.

What is looked at, one module of this package per kind of check:
- `words`: absolute advertising claims, other cloud vendors and invitations to deal outside the
  marketplace in the name, summary, details (Markdown source) and the document's text, from the
  operators' word list (`ClaimWord`). Chinese words match as substrings; Latin words as whole words,
  case-insensitively. A hit inside a longer hit (最 in 最佳) or inside an allowed phrase (最 in 最近) is not
  reported. One hit per word per field, quoting the words around the first occurrence;
- `links`: links in the details to shops and marketplaces, or whose address or text says buy / 购买 / 下单.
  Other links (documentation, the provider's site) are fine;
- `pictures`: pictures that are not PNG, or whose border is almost all near-white (a plain white background);
- `sections`: details without the sections the standard lists, or without a contact;
- `document`: a PDF / Word / PowerPoint document with (almost) no text, e.g. only scanned pages.
`hits` holds `Hit`, its codes and field labels; this module runs the checks in wizard order.

Hit codes: absolute_claim, cloud_vendor, offsite_purchase, offsite_link, picture_not_png,
picture_white_background, missing_features, missing_use_cases, missing_usage_guide,
missing_service_process, missing_after_sales, missing_contact, document_no_text.
"""

from __future__ import annotations

from collections.abc import Iterable

from shelf.prereview.checks.document import document_check
from shelf.prereview.checks.hits import CODES, Hit, field_label
from shelf.prereview.checks.links import SHOP_DOMAINS, link_check, offsite_host
from shelf.prereview.checks.pictures import picture_check, white_border_share
from shelf.prereview.checks.sections import SECTIONS, has_contact, headings, section_check
from shelf.prereview.checks.words import Lexicon, Normalized, is_chinese, normalize, quote, word_pattern
from shelf.prereview.models import ClaimWord

__all__ = [
    "CODES",
    "SECTIONS",
    "SHOP_DOMAINS",
    "Hit",
    "Lexicon",
    "Normalized",
    "document_check",
    "field_label",
    "has_contact",
    "headings",
    "is_chinese",
    "link_check",
    "normalize",
    "offsite_host",
    "picture_check",
    "prereview",
    "quote",
    "section_check",
    "white_border_share",
    "word_pattern",
]


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
