"""Text helpers the check families share: numbered lines, and masking what must never reach the evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) for each line of `text`, as evidence counts them."""
    return enumerate(text.splitlines(), start=1)


def mask(secret: str) -> str:
    """First four characters and stars for long, random-looking secrets; stars only for short ones."""
    secret = secret.strip()
    return f"{secret[:4]}****" if len(secret) >= 12 else "****"


def mask_setting(text: str, keyword: str) -> str:
    """A configuration line with the value after `keyword` replaced: passwords never reach the evidence."""
    m = re.match(rf"^(\s*\S*{keyword}\S*[\s=:]+)(.*)$", text, re.IGNORECASE)
    return f"{m.group(1)}****" if m else f"{keyword} ****"
