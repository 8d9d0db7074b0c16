"""The isolation matrix: every URL that takes an id, every role, the exact answer each role gets.

A row names a route exactly as Django's resolver spells it (ninja's routes under api/v1/ included), one method,
which shared object each URL argument names (a key of `World.ids` in conftest.py, or a literal), and the answer of
each role. Outcomes: an HTTP status, or LOGIN (a 302 to the sign-in page).

Safe methods are asked by every role. An unsafe method is asked by every role not in `owners` (what it does for
an owner is the business of that feature's own tests): each must be refused, and the database must not change.
The objects belong to alice's organisation, to bruce ("buyer") or to the operators. "member" is alan, a member of
alice's organisation who created none of them: access comes from the organisation, not from who made the object.
bob's organisation ("other_member") and carol ("other_buyer") own look-alikes and must see none of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("anonymous", "buyer", "other_buyer", "member", "other_member", "operator")
LOGIN = "login"
SAFE = {"GET", "HEAD"}


@dataclass(frozen=True)
class Row:
    route: str
    method: str
    args: dict[str, str]
    expect: dict[str, int | str]
    owners: tuple[str, ...] = ()
    body: dict | None = None
    variant: str = ""  # a second row for the same route and method, with another object
    query: dict[str, str] = field(default_factory=dict)  # query arguments, valued like `args`
    absent: tuple[str, ...] = ()  # keys a 200 answer must not contain
    unseen: tuple[str, ...] = ()  # values (keys of `World.ids`) a 200 answer must not contain anywhere

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}{' [' + self.variant + ']' if self.variant else ''}"


def outcome(default: int | str, *, anonymous: int | str | None = None, **roles: int | str) -> dict[str, int | str]:
    """Every role gets `default` except those named; anonymous gets 401 on the API and LOGIN on pages unless given."""
    result = dict.fromkeys(ROLES, default)
    if anonymous is not None:
        result["anonymous"] = anonymous
    result.update(roles)
    return result


def api(default, **roles):
    return outcome(default, **{"anonymous": 401, **roles})


def page(default, **roles):
    return outcome(default, **{"anonymous": LOGIN, **roles})


# Whoever may not see an object is not told that it exists: 404, for operators' pages too. The provider console
# and the provider API's drafts are the organisation's own; operators read images, scans and reviews elsewhere.
PROVIDER_API = api(404, member=200, operator=200)
PROVIDER_ONLY_API = api(404, member=200)
OPERATOR_API = api(404, operator=200)
REFUSED_API = api(404)

PROVIDER_ONLY_PAGE = page(404, member=200)
OPERATOR_PAGE = page(404, operator=200)
REFUSED_PAGE = page(404)

A = "api/v1/"
IMG = {"image_id": "image"}
UPLOAD = {"image_id": "upload"}
PROD = {"product_id": "product"}
PIC = {"product_id": "product", "picture_id": "picture"}
SCAN = {"scan_id": "scan"}
HOOK = {"webhook_id": "webhook"}
REVIEW = {"review_id": "revision"}
REV = {"revision_id": "revision"}
ORDER = {"order_id": "order"}
INST = {"instance_id": "instance"}
SERVER = {"instance_id": "build_server"}
M = ("member",)
OP = ("operator",)
MO = ("member", "operator")
B = ("buyer",)
BO = ("buyer", "operator")  # operators stop, start and end any instance

ROWS: list[Row] = []


def row(route, method, args, expect, owners=(), **kw) -> None:
    ROWS.append(Row(route, method, args, expect, owners, **kw))


# --- the HTTP API ---------------------------------------------------------------------------------------------------
# A token is its user's own: not even a colleague in the same organisation may revoke it.
row(A + "tokens/<token_id>", "DELETE", {"token_id": "token"}, REFUSED_API)
row(A + "agreements/<agreement_id>", "GET", {"agreement_id": "agreement"}, PROVIDER_API)
row(A + "images/<uuidstr:image_id>", "GET", IMG, PROVIDER_API)
row(A + "images/<uuidstr:image_id>", "DELETE", IMG, REFUSED_API, M)
row(A + "images/<uuidstr:image_id>/upload", "GET", UPLOAD, PROVIDER_ONLY_API)
row(A + "images/<uuidstr:image_id>/upload", "PUT", UPLOAD, REFUSED_API, M)
row(A + "images/<uuidstr:image_id>/upload", "DELETE", UPLOAD, REFUSED_API, M)
row(A + "images/<uuidstr:image_id>/upload/complete", "POST", UPLOAD, REFUSED_API, M, body={})
row(A + "images/<uuidstr:image_id>/copy", "POST", IMG, REFUSED_API, M, body={"region": "ap-shanghai"})
row(A + "base-images/<uuidstr:image_id>/publish", "POST", {"image_id": "base_candidate"}, OPERATOR_API, OP)
row(A + "base-images/<uuidstr:image_id>/unpublish", "POST", {"image_id": "base_image"}, OPERATOR_API, OP)
row(A + "products/<uuidstr:product_id>", "GET", PROD, PROVIDER_ONLY_API)
row(A + "products/<uuidstr:product_id>", "PATCH", PROD, REFUSED_API, M, body={"name": "Taken over"})
row(A + "products/<uuidstr:product_id>/pictures", "POST", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/pictures/<int:picture_id>", "GET", PIC, PROVIDER_API)
row(A + "products/<uuidstr:product_id>/pictures/<int:picture_id>", "DELETE", PIC, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/document", "GET", PROD, PROVIDER_API)
row(A + "products/<uuidstr:product_id>/document", "POST", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/document", "DELETE", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/validate", "POST", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/submit", "POST", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/withdraw", "POST", {"product_id": "review_product"}, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/audit", "GET", PROD, PROVIDER_ONLY_API)
row(A + "products/<uuidstr:product_id>/revisions", "GET", PROD, PROVIDER_ONLY_API)
row(A + "products/<uuidstr:product_id>/revisions", "POST", PROD, REFUSED_API, M)
row(A + "products/<uuidstr:product_id>/delist", "POST", PROD, REFUSED_API, MO, body={"reason": "Taken over"})
row(A + "products/<uuidstr:product_id>/prereview", "GET", PROD, PROVIDER_ONLY_API)
row(A + "images/<uuidstr:image_id>/scans", "POST", IMG, REFUSED_API, MO)
row(A + "images/<uuidstr:image_id>/scans/latest", "GET", IMG, PROVIDER_API)
row(A + "scans/<uuidstr:scan_id>", "GET", SCAN, PROVIDER_API)
row(A + "scans/<uuidstr:scan_id>/sbom", "GET", SCAN, PROVIDER_API)
row(A + "webhooks/<uuidstr:webhook_id>", "GET", HOOK, PROVIDER_ONLY_API)
row(A + "webhooks/<uuidstr:webhook_id>", "DELETE", HOOK, REFUSED_API, M)
row(A + "webhooks/<uuidstr:webhook_id>/rotate-secret", "POST", HOOK, REFUSED_API, M)
row(A + "webhooks/<uuidstr:webhook_id>/deliveries", "GET", HOOK, PROVIDER_ONLY_API)
row(A + "reviews/<int:review_id>", "GET", REVIEW, OPERATOR_API)
for action, body in (("claim", None), ("release", None), ("approve", {"checklist": {}}), ("reject", {"reasons": {}})):
    row(A + f"reviews/<int:review_id>/{action}", "POST", REVIEW, OPERATOR_API, OP, body=body)
row(A + "catalog/<uuidstr:product_id>", "GET", PROD, api(200, anonymous=200))
row(
    A + "catalog/<uuidstr:product_id>",
    "GET",
    {"product_id": "review_product"},
    api(404, anonymous=404),
    variant="unlisted",
)
row(A + "catalog/<uuidstr:product_id>/pictures/<int:picture_id>", "GET", PIC, api(200, anonymous=200))
row(
    A + "catalog/<uuidstr:product_id>/pictures/<int:picture_id>",
    "GET",
    {"product_id": "review_product", "picture_id": "review_picture"},
    api(404, anonymous=404),
    variant="unlisted",
)
row(A + "catalog/<uuidstr:product_id>/document", "GET", PROD, api(200, anonymous=200))
row(
    A + "catalog/<uuidstr:product_id>/document",
    "GET",
    {"product_id": "review_product"},
    api(404, anonymous=404),
    variant="unlisted",
)
# Featuring a product on the home page is the operators' alone (what it does for them: tests/storefront).
row(A + "featured/<uuidstr:product_id>", "PUT", PROD, REFUSED_API, OP)
row(A + "featured/<uuidstr:product_id>", "DELETE", PROD, REFUSED_API, OP)
row(A + "orders/<order_id>", "GET", ORDER, api(404, buyer=200, operator=200))
row(
    A + "provider/orders/<order_id>",
    "GET",
    ORDER,
    api(404, member=200),
    absent=("ssh_public_key", "ssh_key_fingerprint", "hostname", "instance", "buyer", "name"),
    unseen=("buyer_key",),
)
row(A + "instances/<uuidstr:instance_id>", "GET", INST, api(404, buyer=200, operator=200))
for action in ("start", "stop", "reboot", "terminate"):
    row(A + f"instances/<uuidstr:instance_id>/{action}", "POST", INST, REFUSED_API, BO)
row(A + "instances/<uuidstr:instance_id>/console", "GET", INST, api(404, buyer=200, operator=200))
row(A + "images/<uuidstr:image_id>/boot-check", "GET", IMG, PROVIDER_API)
row(A + "images/<uuidstr:image_id>/boot-check/rerun", "POST", IMG, REFUSED_API, MO)
row(A + "build-servers/<uuidstr:instance_id>", "GET", SERVER, PROVIDER_API)
row(A + "build-servers/<uuidstr:instance_id>/capture", "POST", SERVER, REFUSED_API, M, body={"name": "Captured"})
row(A + "billing/terms/<uuidstr:order_id>", "GET", ORDER, api(404, buyer=200))
row(
    A + "billing/terms/<uuidstr:order_id>/renew",
    "POST",
    ORDER,
    REFUSED_API,
    B,
    body={"term_unit": "month", "term_count": 1},
)
row(A + "billing/terms/<uuidstr:order_id>/auto-renew", "PUT", ORDER, REFUSED_API, B, body={"auto_renew": True})
# A statement is of the caller's own organisation (bob's is his own, 200); alice's by name only to her members.
for route in ("provider/statements/<period>", "provider/statements/<period>/csv"):
    row(A + route, "GET", {"period": "period"}, api(404, member=200, other_member=200))
    row(
        A + route,
        "GET",
        {"period": "period"},
        api(404, member=200),
        query={"organization": "org_slug"},
        variant="named organisation",
    )
row(A + "operator/commission-rates/<rate_id>", "PUT", {"rate_id": "rate"}, OPERATOR_API, OP, body={"rate_percent": "1"})
row(A + "operator/commission-rates/<rate_id>", "DELETE", {"rate_id": "rate"}, OPERATOR_API, OP)

# --- the web console ------------------------------------------------------------------------------------------------
row("accounts/tokens/<int:token_id>/revoke/", "POST", {"token_id": "token"}, page(404))
row("provider/images/<uuid:image_id>/", "GET", IMG, PROVIDER_ONLY_PAGE)
row("provider/images/<uuid:image_id>/copy/", "POST", IMG, page(404), M, body={"region": "ap-shanghai"})
row("provider/images/<uuid:image_id>/delete/", "POST", IMG, page(404), M)
row("provider/products/<uuid:product_id>/", "GET", PROD, page(404, member=302))  # on to the step to edit
row("provider/products/<uuid:product_id>/edit/<slug:step>/", "GET", {**PROD, "step": "=basic"}, PROVIDER_ONLY_PAGE)
row(
    "provider/products/<uuid:product_id>/edit/<slug:step>/",
    "POST",
    {**PROD, "step": "=basic"},
    page(404),
    M,
    body={"name": "Taken over"},
)
row("provider/products/<uuid:product_id>/pictures/", "POST", PROD, page(404), M)
row("provider/products/<uuid:product_id>/pictures/<int:picture_id>/delete/", "POST", PIC, page(404), M)
row("provider/products/<uuid:product_id>/document/", "POST", PROD, page(404), M)
row("provider/products/<uuid:product_id>/submit/", "POST", PROD, page(404), M)
row("provider/products/<uuid:product_id>/withdraw/", "POST", {"product_id": "review_product"}, page(404), M)
row("provider/products/<uuid:product_id>/preview/", "GET", PROD, PROVIDER_ONLY_PAGE)
row("provider/products/<uuid:product_id>/revise/", "POST", PROD, page(404), M)
row("provider/products/<uuid:product_id>/delist/", "POST", PROD, page(404), M, body={"reason": "Taken over"})
row("provider/webhooks/<uuid:webhook_id>/", "GET", HOOK, PROVIDER_ONLY_PAGE)
row("provider/webhooks/<uuid:webhook_id>/rotate-secret/", "POST", HOOK, page(404), M)
row("provider/webhooks/<uuid:webhook_id>/delete/", "POST", HOOK, page(404), M)
row(
    "operator/prereview-words/<int:word_id>/active/",
    "POST",
    {"word_id": "word"},
    OPERATOR_PAGE,
    OP,
    body={"active": "0"},
)
row(
    "operator/base-images/<uuid:image_id>/<str:action>/",
    "POST",
    {"image_id": "base_candidate", "action": "=publish"},
    OPERATOR_PAGE,
    OP,
)
row(
    "buyer/billing/terms/<uuid:order_id>/renew",
    "POST",
    ORDER,
    page(404),
    B,
    body={"term_unit": "month", "term_count": 1},
)
row("buyer/billing/terms/<uuid:order_id>/auto-renew", "POST", ORDER, page(404), B, body={"auto_renew": "on"})
row("buy/<uuid:product_id>/", "GET", PROD, page(404, buyer=200, other_buyer=200))  # buyers buy
row("buyer/orders/<uuid:order_id>/", "GET", ORDER, page(404, buyer=200))
row("operator/instance-types/<int:type_id>/", "GET", {"type_id": "instance_type"}, OPERATOR_PAGE)
row("operator/offers/<int:offer_id>/", "GET", {"offer_id": "offer"}, OPERATOR_PAGE)
for route, args in (
    ("provider/sales/<str:table>.csv", {"table": "=products"}),
    (r"^provider/statements/(?P<period>\d{4}-\d{2})/$", {"period": "period"}),
    (r"^provider/statements/(?P<period>\d{4}-\d{2})\.csv$", {"period": "period"}),
):
    row(route, "GET", args, page(404, member=200, other_member=200))
    row(route, "GET", args, page(404, member=200), query={"organization": "org_slug"}, variant="named organisation")
row("operator/reviews/<int:revision_id>/", "GET", REV, OPERATOR_PAGE)
for action in ("delist", "claim", "release", "reassign", "approve", "reject"):
    row(f"operator/reviews/<int:revision_id>/{action}/", "POST", REV, OPERATOR_PAGE, OP)
row(
    "operator/reviews/<int:revision_id>/images/<uuid:image_id>/boot-check/rerun/",
    "POST",
    {**REV, "image_id": "image"},
    OPERATOR_PAGE,
    OP,
)
row("products/<uuid:product_id>/", "GET", PROD, page(200, anonymous=200))
row(
    "products/<uuid:product_id>/", "GET", {"product_id": "review_product"}, page(404, anonymous=404), variant="unlisted"
)
row("products/<uuid:product_id>/pictures/<int:picture_id>/", "GET", PIC, page(200, anonymous=200))
row(
    "products/<uuid:product_id>/pictures/<int:picture_id>/",
    "GET",
    {"product_id": "review_product", "picture_id": "review_picture"},
    page(404, anonymous=404),
    variant="unlisted",
)
row("products/<uuid:product_id>/document/", "GET", PROD, page(200, anonymous=200))
row(
    "products/<uuid:product_id>/sbom/<slug:region>/", "GET", {**PROD, "region": "region_code"}, page(200, anonymous=200)
)
row("scans/<uuid:scan_id>/", "GET", SCAN, page(404, anonymous=404, member=200, operator=200))
row("scans/<uuid:scan_id>/sbom/", "GET", SCAN, page(404, anonymous=404, member=200, operator=200))
row("scans/<uuid:scan_id>/exceptions/", "POST", SCAN, OPERATOR_PAGE, OP)
row("scan-exceptions/<int:exception_id>/revoke/", "POST", {"exception_id": "exception"}, OPERATOR_PAGE, OP)
row("images/<uuid:image_id>/rescan/", "POST", IMG, page(404, anonymous=404), MO)
row("operator/yara-rules/<int:rule_set_id>/", "GET", {"rule_set_id": "rule_set"}, OPERATOR_PAGE)
row("operator/yara-rules/<int:rule_set_id>/active/", "POST", {"rule_set_id": "rule_set"}, OPERATOR_PAGE, OP)
row("instances/<uuid:instance_id>/", "GET", INST, page(404, buyer=200, operator=200))
row("instances/<uuid:instance_id>/<str:action>/", "POST", {**INST, "action": "=stop"}, page(404), BO)
row("provider/images/<uuid:image_id>/boot-check/rerun/", "POST", IMG, page(404), M)
row("provider/build-servers/<uuid:instance_id>/", "GET", SERVER, PROVIDER_ONLY_PAGE)
row("provider/build-servers/<uuid:instance_id>/capture/", "POST", SERVER, page(404), M, body={"name": "Captured"})
row("provider/build-servers/<uuid:instance_id>/<str:action>/", "POST", {**SERVER, "action": "=stop"}, page(404), M)
row("provider/agreements/<int:agreement_id>/", "GET", {"agreement_id": "agreement"}, PROVIDER_ONLY_PAGE)
row("operator/regions/<int:region_id>/", "GET", {"region_id": "region"}, OPERATOR_PAGE)
row("operator/categories/<int:category_id>/", "GET", {"category_id": "category"}, OPERATOR_PAGE)
row("operator/agreements/<int:agreement_id>/", "GET", {"agreement_id": "public_agreement"}, OPERATOR_PAGE)

# --- one's own object with another's inside it: the inner id must belong to the outer object ------------------------
MIXED_PIC = {"product_id": "product", "picture_id": "other_picture"}
row(
    A + "products/<uuidstr:product_id>/pictures/<int:picture_id>",
    "GET",
    MIXED_PIC,
    api(404),
    variant="another's picture",
)
row(
    A + "products/<uuidstr:product_id>/pictures/<int:picture_id>",
    "DELETE",
    MIXED_PIC,
    api(404),
    variant="another's picture",
)
row(
    A + "catalog/<uuidstr:product_id>/pictures/<int:picture_id>",
    "GET",
    MIXED_PIC,
    api(404, anonymous=404),
    variant="another's picture",
)
row(
    "products/<uuid:product_id>/pictures/<int:picture_id>/",
    "GET",
    MIXED_PIC,
    page(404, anonymous=404),
    variant="another's picture",
)
row(
    "provider/products/<uuid:product_id>/pictures/<int:picture_id>/delete/",
    "POST",
    MIXED_PIC,
    page(404),
    variant="another's picture",
)
row(
    "operator/reviews/<int:revision_id>/images/<uuid:image_id>/boot-check/rerun/",
    "POST",
    {**REV, "image_id": "other_image"},
    page(404),
    variant="another's image",
)
row(
    "products/<uuid:product_id>/sbom/<slug:region>/",
    "GET",
    {"product_id": "review_product", "region": "region_code"},
    page(404, anonymous=404),
    variant="unlisted",
)

# --- an object where a route for another kind expects one ----------------------------------------------------------
# Its launcher (and the operators) also read a build server as an instance; nobody else does.
row(A + "instances/<uuidstr:instance_id>", "GET", SERVER, api(404, member=200, operator=200), variant="a build server")
row(A + "build-servers/<uuidstr:instance_id>", "GET", INST, api(404), variant="a buyer's instance")
row("instances/<uuid:instance_id>/", "GET", SERVER, page(404, operator=200), variant="a build server")
row("provider/build-servers/<uuid:instance_id>/", "GET", INST, page(404), variant="a buyer's instance")
row(A + "images/<uuidstr:image_id>", "GET", {"image_id": "base_image"}, api(404, operator=200), variant="a base image")
row("buy/<uuid:product_id>/", "GET", {"product_id": "review_product"}, page(404), variant="unlisted")
row(
    "products/<uuid:product_id>/document/",
    "GET",
    {"product_id": "review_product"},
    page(404, anonymous=404),
    variant="unlisted",
)
