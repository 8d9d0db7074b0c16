"""Navigation per role. A page is listed here only once it works."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shelf.notifications.selectors import unread_count

NAVIGATION = {
    "provider": [
        (_("Overview"), "console:provider_home"),
        (_("Products"), "products:list"),
        (_("Images"), "images:list"),
        (_("Build servers"), "compute:build_servers"),
        (_("Agreements"), "console:provider_agreements"),
        (_("Webhooks"), "webhooks:list"),
        (_("Orders"), "orders:provider_list"),
        (_("Sales"), "revenue:sales"),
    ],
    "operator": [
        (_("Overview"), "console:operator_home"),
        (_("Review queue"), "reviews:queue"),
        (_("Listed products"), "reviews:listed"),
        (_("Review metrics"), "reviews:metrics"),
        (_("Regions"), "console:operator_regions"),
        (_("Categories"), "console:operator_categories"),
        (_("Agreement templates"), "console:operator_agreements"),
        (_("Scan policy"), "scanning:policy"),
        (_("Malware rules"), "scanning:yara_rules"),
        (_("Pre-review words"), "prereview:words"),
        (_("Server sizes"), "orders:operator_sizes"),
        (_("Orders"), "orders:operator_orders"),
        (_("Top-ups"), "orders:operator_topup"),
        (_("Revenue"), "revenue:operator"),
        (_("Instances"), "compute:operator"),
    ],
    "buyer": [
        (_("Overview"), "console:buyer_home"),
        (_("My orders"), "orders:list"),
        (_("My instances"), "compute:list"),
        (_("Balance"), "orders:balance"),
        (_("Billing"), "billing:home"),
    ],
}


# Where the storefront's header sends a signed-in provider or operator back to (buyers shop on the storefront itself,
# whose header links their orders and instances).
CONSOLE_LINKS = {
    "provider": (_("Provider console"), "console:provider_home"),
    "operator": (_("Operator console"), "console:operator_home"),
}


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "console_link": None}
    current = request.path
    items = []
    for label, name in NAVIGATION.get(user.kind, []):
        url = reverse(name)
        items.append(
            {"label": label, "url": url, "active": current == url or (current.startswith(url) and url.count("/") > 2)}
        )
    link = CONSOLE_LINKS.get(user.kind)
    return {
        "nav_items": items,
        "console_link": {"label": link[0], "url": reverse(link[1])} if link else None,
        "unread_notifications": unread_count(user=user),
    }
