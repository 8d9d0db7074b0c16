"""Every rule of the product wizard, in one place (SPEC "Provider: product wizard", the seed's rules).

The console, the API and the CLI all report these violations, per field, with the same codes and messages.
Drafts store anything within `STORAGE_LIMITS`; `revision_violations` decides whether a revision may be submitted.
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelf.errors import Violation
from shelf.products.details import external_images
from shelf.products.media import DOCUMENT_MAX_BYTES, PICTURE_DPI, PICTURE_MAX_BYTES, PICTURE_SIZE, MiB
from shelf.text import name_violations as hostile_name_violations

NAME_MAX = 80
SUMMARY_MAX = 140
TAGS_MIN, TAGS_MAX, TAG_MAX_LENGTH = 1, 5, 20
SOFTWARE_MAX_LENGTH = 40
PICTURES_MIN, PICTURES_MAX = 1, 5
# What each picture and the document must be is checked in shelf.products.media; named here for the messages.
PICTURE_WIDTH, PICTURE_HEIGHT = PICTURE_SIZE
PICTURE_MAX_MB = PICTURE_MAX_BYTES // MiB  # the spec's "2 MB" is 2 MiB
DOCUMENT_MAX_MB = DOCUMENT_MAX_BYTES // MiB
DETAILS_MAX = 20_000
PRICE_MAX = Decimal("9999999.99")
CURRENCIES = ("CNY", "USD", "HKD")
VERSION_RE = re.compile(r"^v\d+(\.\d+){0,3}$")

# Beyond these a draft is not stored at all (422); below them anything is kept so no typing is lost.
STORAGE_LIMITS = {"name": 1000, "version": 100, "summary": 5000, "details": 200_000, "tag": 200, "tags": 50}

STEPS = [
    ("access", gettext_lazy("Access type"), ["access_type"]),
    ("category", gettext_lazy("Category"), ["category"]),
    ("basic", gettext_lazy("Basic info"), ["name", "tags", "software", "version", "agreement"]),
    ("delivery", gettext_lazy("Delivery info"), ["deliveries", "ports"]),
    ("security", gettext_lazy("Host security report"), ["security"]),
    ("billing", gettext_lazy("Billing"), ["billing_mode", "price_yearly", "price_monthly", "price_hourly", "currency"]),
    ("content", gettext_lazy("Graphics and text"), ["pictures", "summary", "document", "details"]),
    ("review", gettext_lazy("Review and submit"), []),
]
STEP_KEYS = [key for key, _label, _fields in STEPS]


def step_of(field: str) -> str:
    root = field.split(".")[0].split("[")[0]
    for key, _label, fields in STEPS:
        if root in fields:
            return key
    return "review"


def step_complete(key: str, step_violations: list[Violation], revision) -> bool:
    """A step is complete when none of its rules fail; the security step also needs something to have been scanned."""
    if key == "review" or step_violations:
        return False
    return key != "security" or revision.deliveries.exists()


def _text(field: str, value: str, *, label: str, max_length: int) -> list[Violation]:
    value = (value or "").strip()
    if not value:
        return [Violation(field, "required", _("%(label)s is required.") % {"label": label})]
    if len(value) > max_length:
        return [
            Violation(
                field,
                "max_length",
                _("%(label)s is at most %(max)d characters; it has %(n)d.")
                % {"label": label, "max": max_length, "n": len(value)},
            )
        ]
    return []


def name_violations(name: str) -> list[Violation]:
    # len() counts characters, not bytes: a Chinese name of 80 characters is allowed.
    return hostile_name_violations("name", name) or _text("name", name, label=_("Product name"), max_length=NAME_MAX)


def summary_violations(summary: str) -> list[Violation]:
    return _text("summary", summary, label=_("Summary"), max_length=SUMMARY_MAX)


def tag_list_violations(field: str, values: list, *, label: str, max_length: int) -> list[Violation]:
    values = [v if isinstance(v, str) else "" for v in (values or [])]
    violations = []
    if len(values) < TAGS_MIN:
        violations.append(
            Violation(
                field, "too_few", _("Add at least one of the %(label)s (type it and press Enter).") % {"label": label}
            )
        )
    if len(values) > TAGS_MAX:
        violations.append(
            Violation(
                field,
                "too_many",
                _("At most %(max)d %(label)s; there are %(n)d.") % {"max": TAGS_MAX, "label": label, "n": len(values)},
            )
        )
    seen = set()
    for index, value in enumerate(values):
        value = value.strip()
        if not value:
            violations.append(
                Violation(f"{field}[{index}]", "blank", _("%(label)s cannot be empty.") % {"label": label})
            )
        elif len(value) > max_length:
            violations.append(
                Violation(
                    f"{field}[{index}]",
                    "max_length",
                    _("“%(value)s” is longer than %(max)d characters.") % {"value": value[:30], "max": max_length},
                )
            )
        elif value.casefold() in seen:
            violations.append(
                Violation(f"{field}[{index}]", "duplicate", _("“%(value)s” is listed twice.") % {"value": value})
            )
        seen.add(value.casefold())
    return violations


def version_violations(version: str) -> list[Violation]:
    version = (version or "").strip()
    if not version:
        return [Violation("version", "required", _("Image version is required, like v1.0."))]
    if not VERSION_RE.match(version):
        return [
            Violation(
                "version",
                "format",
                _("Image version is “v” followed by 1 to 4 dot-separated numbers, like v1.0 or v2.3.1."),
            )
        ]
    return []


PORTS_MAX = 10  # besides SSH (22), which every server has forwarded


def ports_violations(ports) -> list[Violation]:
    """The TCP ports the product needs open (a web shop: 80, 443): whole numbers 1-65535, at most PORTS_MAX,
    none twice. Port 22 is implied: listing it is allowed and changes nothing."""
    if ports in (None, ""):
        return []
    if not isinstance(ports, list | tuple):
        return [Violation("ports", "type", _("Send a list of TCP port numbers, like [80, 443]."))]
    violations, seen = [], set()
    for index, port in enumerate(ports):
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            violations.append(
                Violation(
                    f"ports[{index}]",
                    "invalid",
                    _("“%(value)s” is not a TCP port: use a whole number from 1 to 65535.") % {"value": str(port)[:20]},
                )
            )
            continue  # not a number: neither counted nor compared (a list or an object is not even hashable)
        if port in seen:
            violations.append(
                Violation(f"ports[{index}]", "duplicate", _("Port %(port)d is listed twice.") % {"port": port})
            )
        seen.add(port)
    if len({p for p in seen if p != 22}) > PORTS_MAX:
        violations.append(
            Violation("ports", "too_many", _("At most %(max)d ports besides SSH (22).") % {"max": PORTS_MAX})
        )
    return violations


def ports_normalized(ports) -> list[int]:
    """Valid ports as stored: sorted, without 22 (always forwarded)."""
    return sorted({int(p) for p in ports or ()} - {22})


def parse_price(value) -> tuple[Decimal | None, Violation | None]:
    """A price as typed (string) → a 2-place Decimal. Floats are refused so no binary rounding creeps in."""
    if value in (None, ""):
        return None, None
    if isinstance(value, float):
        return None, Violation(
            "price", "not_decimal", _('Send prices as decimal strings like "12.50", not as floating-point numbers.')
        )
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, Violation(
            "price", "invalid", _("“%(value)s” is not a price; write it like 12.50.") % {"value": str(value)[:20]}
        )
    if not price.is_finite():
        return None, Violation(
            "price", "invalid", _("“%(value)s” is not a price; write it like 12.50.") % {"value": str(value)[:20]}
        )
    if price.as_tuple().exponent < -2:
        return None, Violation("price", "decimal_places", _("A price has at most 2 decimal places (yuan and fen)."))
    if price <= 0:
        return None, Violation("price", "not_positive", _("A price must be greater than zero."))
    if price > PRICE_MAX:
        return None, Violation("price", "too_high", _("A price is at most %(max)s.") % {"max": PRICE_MAX})
    return price.quantize(Decimal("0.01")), None


def billing_violations(revision) -> list[Violation]:
    violations = []
    for field in ("price_yearly", "price_monthly", "price_hourly"):
        typed = (revision.price_input or {}).get(field)
        if typed not in (None, "") and getattr(revision, field) is None:
            _price, problem = parse_price(typed)
            if problem is not None:
                violations.append(Violation(field, problem.code, problem.message))
    if revision.currency not in CURRENCIES:
        violations.append(
            Violation("currency", "invalid", _("Currency is one of %(list)s.") % {"list": ", ".join(CURRENCIES)})
        )
    mode = revision.billing_mode
    has = {
        f: getattr(revision, f) is not None or (revision.price_input or {}).get(f) not in (None, "")
        for f in ("price_yearly", "price_monthly", "price_hourly")
    }
    if mode == "prepaid":
        if not (has["price_yearly"] or has["price_monthly"]):
            violations.append(
                Violation(
                    "price_monthly", "required", _("Prepaid billing needs a yearly or a monthly price (or both).")
                )
            )
        if has["price_hourly"]:
            violations.append(
                Violation(
                    "price_hourly",
                    "wrong_mode",
                    _("An hourly price belongs to postpaid billing; choose one mode only."),
                )
            )
    elif mode == "postpaid":
        if not has["price_hourly"]:
            violations.append(Violation("price_hourly", "required", _("Postpaid billing needs an hourly price.")))
        for field in ("price_yearly", "price_monthly"):
            if has[field]:
                violations.append(
                    Violation(
                        field,
                        "wrong_mode",
                        _("Yearly and monthly prices belong to prepaid billing; choose one mode only."),
                    )
                )
    else:
        violations.append(
            Violation(
                "billing_mode", "required", _("Choose one billing mode: prepaid (yearly/monthly) or postpaid (hourly).")
            )
        )
    return violations


def delivery_violations(revision) -> list[Violation]:
    deliveries = list(revision.deliveries.select_related("image", "region"))
    if not deliveries:
        return [Violation("deliveries", "required", _("Choose the custom image to sell in at least one region."))]
    violations = []
    for delivery in deliveries:
        image = delivery.image
        field = f"deliveries.{delivery.region.code}"
        if image.organization_id != revision.product.organization_id or image.region_id != delivery.region_id:
            violations.append(
                Violation(
                    field,
                    "invalid",
                    _("Choose one of your own images in %(region)s.") % {"region": delivery.region.code},
                )
            )
        elif image.status != "available":
            violations.append(
                Violation(
                    field,
                    "not_available",
                    _("Image “%(name)s” is %(status)s; only an available image can be sold.")
                    % {"name": image.name, "status": image.get_status_display()},
                )
            )
    return violations


def security_violations(revision) -> list[Violation]:
    """The seed's gate: every delivered image's latest scan has passed."""
    from shelf.scanning.selectors import latest_scan

    violations = []
    for delivery in revision.deliveries.select_related("image", "region"):
        image, scan = delivery.image, latest_scan(delivery.image)
        field = f"security.{delivery.region.code}"
        names = {"name": image.name, "region": delivery.region.code}
        if scan is None:
            violations.append(
                Violation(field, "scan_missing", _("Image “%(name)s” (%(region)s) has not been scanned yet.") % names)
            )
        elif scan.status in ("queued", "running"):
            violations.append(
                Violation(
                    field, "scan_running", _("The scan of image “%(name)s” (%(region)s) has not finished yet.") % names
                )
            )
        elif scan.status == "error":
            violations.append(
                Violation(
                    field,
                    "scan_error",
                    _("The scan of image “%(name)s” (%(region)s) could not complete; rescan it.") % names,
                )
            )
        elif scan.verdict != "passed":
            violations.append(
                Violation(
                    field,
                    f"scan_{scan.verdict or 'failed'}",
                    _(
                        "The latest scan of image “%(name)s” (%(region)s) did not pass (%(verdict)s): fix the findings in the report and rescan."
                    )
                    % {**names, "verdict": scan.get_verdict_display() or scan.verdict},
                )
            )
    return violations


def revision_violations(revision) -> list[Violation]:
    """Every rule, in wizard order. Empty means the revision may be submitted."""
    violations = []
    if revision.access_type != "image":
        violations.append(Violation("access_type", "invalid", _("Choose the access type “image”.")))
    if revision.category_id is None:
        violations.append(Violation("category", "required", _("Choose a category.")))
    elif revision.category.parent_id is None or not revision.category.is_active:
        violations.append(
            Violation("category", "not_leaf", _("Choose a category of the second level (a leaf of the tree)."))
        )
    violations += name_violations(revision.name)
    violations += tag_list_violations("tags", revision.tags, label=_("tags"), max_length=TAG_MAX_LENGTH)
    violations += tag_list_violations(
        "software", revision.software, label=_("integrated software"), max_length=SOFTWARE_MAX_LENGTH
    )
    violations += version_violations(revision.version)
    if revision.agreement_id is None:
        violations.append(Violation("agreement", "required", _("Pick a service agreement or write a new one.")))
    violations += delivery_violations(revision)
    violations += ports_violations(revision.ports)
    violations += security_violations(revision)
    violations += billing_violations(revision)
    pictures = revision.pictures.count()
    if pictures < PICTURES_MIN:
        violations.append(
            Violation(
                "pictures",
                "required",
                _(
                    "Upload at least one product picture (%(width)d x %(height)d px, %(dpi)d dpi, PNG or JPEG, "
                    "at most %(mb)d MB)."
                )
                % {"width": PICTURE_WIDTH, "height": PICTURE_HEIGHT, "dpi": PICTURE_DPI, "mb": PICTURE_MAX_MB},
            )
        )
    elif pictures > PICTURES_MAX:
        violations.append(Violation("pictures", "too_many", _("At most %(max)d pictures.") % {"max": PICTURES_MAX}))
    violations += summary_violations(revision.summary)
    if revision.document_or_none is None:
        violations.append(
            Violation(
                "document",
                "required",
                _(
                    "Image products need a document buyers can download (PDF, Word, PowerPoint, ZIP or RAR, "
                    "at most %(mb)d MB)."
                )
                % {"mb": DOCUMENT_MAX_MB},
            )
        )
    violations += details_violations(revision.details)
    return violations


def details_violations(details: str) -> list[Violation]:
    violations = _text("details", details, label=_("Details"), max_length=DETAILS_MAX)
    # A picture from another site would tell that site who reads the product page, and when.
    violations += [
        Violation(
            "details",
            "external_image",
            _(
                "Details cannot show images from other sites (%(url)s): readers' browsers would load it from there. "
                "Remove the image or link to it instead."
            )
            % {"url": url[:100]},
        )
        for url in external_images(details or "")
    ]
    return violations
