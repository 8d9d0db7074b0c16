"""Rules for image import requests, written once for the API, the CLI and the console."""

import re

from django.utils.translation import gettext as _

from shelf.catalog.rules import text_violations
from shelf.errors import Violation
from shelf.images.models import Image
from shelf.text import name_violations

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def import_violations(
    *, name, disk_format, region_code, region_exists: bool, size, sha256, description, os_hint
) -> list[Violation]:
    violations = name_violations("name", name) or text_violations("name", name, label=_("Name"), max_length=100)
    violations += text_violations("description", description, label=_("Description"), max_length=2000, required=False)
    violations += text_violations("os_hint", os_hint, label=_("Operating system"), max_length=100, required=False)
    if disk_format not in Image.Format.values:
        violations.append(
            Violation(
                "format",
                "invalid",
                _("Format must be one of %(formats)s.") % {"formats": ", ".join(Image.Format.values)},
            )
        )
    if not region_code:
        violations.append(Violation("region", "required", _("Region is required.")))
    elif not region_exists:
        violations.append(
            Violation("region", "unknown", _("There is no active region “%(code)s”.") % {"code": region_code})
        )
    if size is not None and size < 0:
        violations.append(Violation("size", "invalid", _("Size is a number of bytes, zero or more.")))
    if sha256 and not SHA256_RE.match(sha256):
        violations.append(Violation("sha256", "invalid", _("SHA-256 is 64 lowercase hexadecimal characters.")))
    return violations
