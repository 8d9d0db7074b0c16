"""The sections the standard asks the details for (features, use cases, usage guide, service process,
after-sales support) and a contact."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelf.prereview.checks.hits import Hit

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
