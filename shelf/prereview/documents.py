"""Text of a product document (PDF, DOCX, PPTX), extracted within fixed bounds.

Documents come from providers, so every extraction is bounded: the bytes read from storage,
the PDF pages looked at, the XML read from an Office file, the characters kept and the time
spent. When a bound stops the extraction before the whole document was seen, and nothing was
found so far, the answer is "unknown" (None), never "no text": a warning must not be invented.

Legacy Office files (.doc, .ppt), ZIP and RAR archives are not read at all (None).
"""

from __future__ import annotations

import html
import io
import logging
import re
import time
import zipfile
from collections import OrderedDict

from shelf.products.media import DOCUMENT_MAX_BYTES
from shelf.storage import get_storage

logger = logging.getLogger(__name__)

EXTRACTABLE_KINDS = ("pdf", "docx", "pptx")
READ_MAX_BYTES = 2 * DOCUMENT_MAX_BYTES  # documents are refused above 2 MB on upload; never read more than this
PDF_MAX_PAGES = 50
OOXML_MAX_ENTRIES = 10_000
OOXML_MAX_PARTS = 300  # slides
OOXML_MAX_XML_BYTES = 16 * 1024 * 1024  # inflated XML read, all parts together
TEXT_MAX_CHARS = 200_000
TIME_BUDGET_SECONDS = 5.0
CACHE_SIZE = 64

# <w:t>…</w:t> in Word, <a:t>…</a:t> in PowerPoint; a paragraph ends with </w:p> or </a:p>.
# Read with regular expressions, never an XML parser: no entity expansion, no DTD, no external anything.
_XML_TEXT = re.compile(rb"<(?:[A-Za-z0-9]+:)?t(?:\s[^>]*)?>([^<]*)</(?:[A-Za-z0-9]+:)?t>|</(?:[A-Za-z0-9]+:)?p>")
_SLIDE = re.compile(r"^ppt/slides/slide(\d+)\.xml$")

_cache: OrderedDict[tuple[str, str], str] = OrderedDict()


class _OutOfBounds(Exception):
    """A bound stopped the extraction before the whole document was seen."""


def document_text(document) -> str | None:
    """The document's text, or None when it is not extractable (kind, damage, encryption, bounds).

    Successful extractions are cached by content (sha256), so showing the review page again is cheap.
    """
    if document is None or document.kind not in EXTRACTABLE_KINDS:
        return None
    cache_key = (document.sha256, document.kind)
    if document.sha256 and cache_key in _cache:
        _cache.move_to_end(cache_key)
        return _cache[cache_key]
    try:
        with get_storage().open(document.storage_key) as fh:
            data = fh.read(READ_MAX_BYTES + 1)
    except (OSError, ValueError):
        logger.warning("prereview: document %s unreadable from storage", document.storage_key)
        return None
    if len(data) > READ_MAX_BYTES:
        return None
    text = extract_text(data, document.kind)
    if text is not None and document.sha256:
        _cache[cache_key] = text
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return text


def extract_text(data: bytes, kind: str, *, time_budget: float = TIME_BUDGET_SECONDS) -> str | None:
    """Text of a PDF, DOCX or PPTX given as bytes; None when it cannot be told (see the module docstring)."""
    deadline = time.monotonic() + time_budget
    try:
        if kind == "pdf":
            return _pdf_text(data, deadline)
        if kind in ("docx", "pptx"):
            return _ooxml_text(data, kind, deadline)
    except _OutOfBounds:
        return None
    except Exception:  # untrusted bytes: any parser failure means "cannot tell", never a crash
        logger.info("prereview: could not extract text from a %s document", kind, exc_info=True)
        return None
    return None


def _pdf_text(data: bytes, deadline: float) -> str | None:
    from pypdf import PdfReader  # imported here: only needed when a PDF is looked at

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        return None  # needs a password: cannot tell
    pieces: list[str] = []
    total = 0
    pages = reader.pages
    count = len(pages)
    for index in range(count):
        if index >= PDF_MAX_PAGES or time.monotonic() > deadline:
            return _partial(pieces)
        page_text = pages[index].extract_text() or ""
        pieces.append(page_text)
        total += len(page_text)
        if total >= TEXT_MAX_CHARS:
            break
    return "\n".join(pieces)[:TEXT_MAX_CHARS]


def _ooxml_text(data: bytes, kind: str, deadline: float) -> str | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > OOXML_MAX_ENTRIES:
            return None
        if kind == "docx":
            parts = [entry for entry in entries if entry.filename == "word/document.xml"]
        else:
            slides = [(int(m.group(1)), entry) for entry in entries if (m := _SLIDE.match(entry.filename))]
            parts = [entry for _n, entry in sorted(slides, key=lambda pair: pair[0])]
        if not parts:
            return None
        pieces: list[str] = []
        budget = OOXML_MAX_XML_BYTES
        for count, entry in enumerate(parts):
            if count >= OOXML_MAX_PARTS or time.monotonic() > deadline:
                return _partial(pieces)
            with archive.open(entry) as member:
                xml = member.read(budget + 1)
            pieces.append(_xml_text(xml))
            if len(xml) > budget:
                return _partial(pieces)  # this part was cut short
            budget -= len(xml)
            if sum(len(piece) for piece in pieces) >= TEXT_MAX_CHARS:
                break
    return "\n".join(pieces)[:TEXT_MAX_CHARS]


def _xml_text(xml: bytes) -> str:
    out: list[str] = []
    for match in _XML_TEXT.finditer(xml):
        if match.group(1) is None:
            out.append("\n")
        else:
            out.append(html.unescape(match.group(1).decode("utf-8", errors="replace")))
    return "".join(out)


def _partial(pieces: list[str]) -> str:
    """Stopped by a bound: what was found counts, but "nothing so far" is not "no text"."""
    text = "\n".join(pieces)
    if not has_text(text):
        raise _OutOfBounds
    return text[:TEXT_MAX_CHARS]


MIN_TEXT_CHARS = 20


def has_text(text: str) -> bool:
    """At least a sentence of visible characters; a title page alone is 'almost no text'."""
    return sum(1 for char in text if not char.isspace()) >= MIN_TEXT_CHARS
