"""Every write on orders: server sizes and offers, top-ups, placing an order, and failing it with a refund.

Money moves only here, always as a ledger row written in the same transaction as what it pays for, under the
buyer's account row lock, so concurrent orders of one buyer are serialised and the balance (the ledger's sum)
can never be spent twice. An order's status changes only in these functions.
"""

import hashlib
import json
import re
import unicodedata
import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shelf.accounts.access import require_operator
from shelf.accounts.models import User
from shelf.audit.services import audit_record
from shelf.catalog.models import Region
from shelf.errors import Conflict, RuleViolations, Violation, raise_if
from shelf.orders import launch
from shelf.orders.keys import parse_public_key
from shelf.orders.models import BuyerAccount, InstanceOffer, InstanceType, LedgerEntry, Order
from shelf.orders.pricing import Quote, Term, money, quote, term_violations
from shelf.orders.selectors import balance_of, deliveries_for_sale, needed_gib, order_by_key, product_for_sale
from shelf.orders.signals import ledger_posted
from shelf.text import name_violations

NAME_MAX = 60
REASON_MAX = 200
TOPUP_MAX = Decimal("1000000.00")
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_FIELD = "Idempotency-Key"
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,39}$")


# Accounts and the ledger


def account_lock(user: User) -> BuyerAccount:
    """The buyer's account row, created on first use and locked until the caller's transaction ends.

    PostgreSQL blocks a second locker on the row; SQLite (transaction_mode IMMEDIATE) already serialises
    writing transactions, so select_for_update there is a no-op and the lock is the database's.
    """
    BuyerAccount.objects.get_or_create(user=user)
    return BuyerAccount.objects.select_for_update().get(user=user)


def ledger_post(
    *,
    user: User,
    kind: str,
    server_part: Decimal,
    image_part: Decimal,
    reason: str,
    ref: str,
    actor: User | None = None,
    order: Order | None = None,
    instance=None,
    currency: str = "CNY",
) -> tuple[LedgerEntry, bool]:
    """Write one charge or refund, once per `ref`: returns (entry, created); the same ref again returns the first row.

    Parts are signed like the row (negative for a charge) and add up to its amount. The caller holds
    `account_lock(user)` in its transaction, which serialises this buyer's money; the unique ref backs that up.
    A charge may take the balance below zero (postpaid usage is billed whatever is left; arrears handle the rest).
    """
    existing = LedgerEntry.objects.filter(ref=ref).first()
    if existing is not None:
        return existing, False
    server_part, image_part = money(server_part), money(image_part)
    entry = LedgerEntry.objects.create(
        user=user,
        amount=server_part + image_part,
        currency=currency,
        kind=kind,
        reason=reason[:REASON_MAX],
        actor=actor,
        order=order,
        instance=instance,
        server_part=server_part,
        image_part=image_part,
        ref=ref,
    )
    ledger_posted.send(sender=LedgerEntry, entry=entry)
    return entry, True


def _amount(raw, field: str = "amount") -> tuple[Decimal | None, list[Violation]]:
    if isinstance(raw, float):
        return None, [Violation(field, "not_decimal", _('Send amounts as decimal strings like "100.00".'))]
    try:
        value = Decimal(str(raw).strip()) if raw not in (None, "") else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return None, [Violation(field, "invalid", _("Write an amount in yuan, like 100.00."))]
    if value.as_tuple().exponent < -2:
        return None, [Violation(field, "decimal_places", _("An amount has at most 2 decimal places (yuan and fen)."))]
    if value <= 0:
        return None, [Violation(field, "not_positive", _("A top-up is greater than zero."))]
    if value > TOPUP_MAX:
        return None, [Violation(field, "too_high", _("A top-up is at most %(max)s.") % {"max": TOPUP_MAX})]
    return money(value), []


def _reason_violations(reason, field: str = "reason") -> list[Violation]:
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text:
        return [Violation(field, "required", _("Say why: it is kept in the ledger with your name."))]
    if len(text) > REASON_MAX:
        return [Violation(field, "too_long", _("A reason is at most %(max)d characters.") % {"max": REASON_MAX})]
    return name_violations(field, text)


@transaction.atomic
def topup(*, actor: User, user: User | str | None, amount, reason: str) -> LedgerEntry:
    """An operator adds money to a buyer's balance, saying why (404 for anyone but an operator)."""
    require_operator(actor)
    violations = []
    if isinstance(user, str):
        user = User.objects.filter(username=user).first()
    if user is None:
        violations.append(Violation("user", "unknown", _("There is no such user.")))
    elif not user.is_buyer:
        violations.append(Violation("user", "not_a_buyer", _("Only buyers have a balance.")))
    value, problems = _amount(amount)
    violations += problems + _reason_violations(reason)
    raise_if(violations)
    account_lock(user)
    entry = LedgerEntry.objects.create(
        user=user, amount=value, kind=LedgerEntry.Kind.TOPUP, reason=reason.strip(), actor=actor
    )
    ledger_posted.send(sender=LedgerEntry, entry=entry)
    audit_record(
        actor=actor,
        target=entry,
        action="ledger.topup",
        reason=entry.reason,
        data={"user": user.username, "amount": str(value), "balance": str(balance_of(user))},
    )
    return entry


# Server sizes and offers (operators)


@transaction.atomic
def instance_type_save(
    *,
    actor: User,
    instance_type: InstanceType | None,
    code: str,
    family: str,
    vcpus: int,
    memory_mib: int,
    position: int = 0,
) -> InstanceType:
    require_operator(actor)
    code = (code or "").strip().upper()
    family = (family or "").strip()
    violations = []
    if not CODE_RE.match(code):
        violations.append(
            Violation(
                "code", "invalid", _("A code is 1 to 40 capital letters, digits, dots and hyphens, like S5.SMALL1.")
            )
        )
    elif InstanceType.objects.filter(code=code).exclude(pk=getattr(instance_type, "pk", None)).exists():
        violations.append(Violation("code", "taken", _("An instance type with this code already exists.")))
    if not family:
        violations.append(Violation("family", "required", _("Name the family, for example Standard S5.")))
    violations += name_violations("family", family)
    if not isinstance(vcpus, int) or not 1 <= vcpus <= 256:
        violations.append(Violation("vcpus", "out_of_range", _("vCPUs are 1 to 256.")))
    if not isinstance(memory_mib, int) or not 128 <= memory_mib <= 4 * 1024 * 1024:
        violations.append(Violation("memory_mib", "out_of_range", _("Memory is 128 MiB to 4 TiB.")))
    raise_if(violations)
    created = instance_type is None
    instance_type = instance_type or InstanceType()
    instance_type.code, instance_type.family = code, family[:40]
    instance_type.vcpus, instance_type.memory_mib, instance_type.position = vcpus, memory_mib, position
    instance_type.save()
    audit_record(
        actor=actor, target=instance_type, action="instance_type.create" if created else "instance_type.update"
    )
    return instance_type


@transaction.atomic
def offer_save(
    *,
    actor: User,
    offer: InstanceOffer | None,
    region: Region,
    instance_type: InstanceType,
    price_monthly,
    price_hourly,
    disk_min_gib: int,
    disk_max_gib: int,
    on_sale: bool = True,
) -> InstanceOffer:
    """Create or change what one instance type costs in one region, and whether it is sold there."""
    require_operator(actor)
    violations = []
    monthly, problems = _amount(price_monthly, "price_monthly")
    violations += problems
    hourly, problems = _amount(price_hourly, "price_hourly")
    violations += problems
    if not isinstance(disk_min_gib, int) or disk_min_gib < 1:
        violations.append(Violation("disk_min_gib", "out_of_range", _("The smallest system disk is at least 1 GiB.")))
    elif not isinstance(disk_max_gib, int) or disk_max_gib < disk_min_gib or disk_max_gib > 65536:
        violations.append(
            Violation(
                "disk_max_gib",
                "out_of_range",
                _("The largest system disk is at least the smallest, at most 65536 GiB."),
            )
        )
    taken = InstanceOffer.objects.filter(region=region, instance_type=instance_type).exclude(
        pk=getattr(offer, "pk", None)
    )
    if taken.exists():
        violations.append(
            Violation("instance_type", "taken", _("This instance type already has an offer in this region."))
        )
    raise_if(violations)
    created = offer is None
    offer = offer or InstanceOffer()
    before = {
        f: str(getattr(offer, f, ""))
        for f in ("price_monthly", "price_hourly", "disk_min_gib", "disk_max_gib", "on_sale")
    }
    offer.region, offer.instance_type = region, instance_type
    offer.price_monthly, offer.price_hourly = monthly, hourly
    offer.disk_min_gib, offer.disk_max_gib, offer.on_sale = disk_min_gib, disk_max_gib, on_sale
    offer.save()
    after = {f: str(getattr(offer, f)) for f in before}
    audit_record(
        actor=actor,
        target=offer,
        action="offer.create" if created else "offer.update",
        data={"fields": sorted(f for f in after if after[f] != before[f]), **after},
    )
    return offer


# Orders


def name_rule_violations(name: str, field: str = "name") -> list[Violation]:
    """An order's (and its server's) name: 1 to 60 printable characters."""
    if len(name) > NAME_MAX:
        return [Violation(field, "too_long", _("A name is at most %(max)d characters.") % {"max": NAME_MAX})]
    special = name_violations(field, name)  # NUL and bidirectional controls, with their own codes
    if not special and any(unicodedata.category(c) == "Cc" for c in name):
        return [Violation(field, "invalid_character", _("A name cannot contain control characters."))]
    return special


def hostname_for(name: str, order_id: uuid.UUID) -> str:
    """An RFC 1123 host name from the order's name (ASCII letters, digits, hyphens), else vm-<order id>."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:63].strip("-")
    return label if re.search(r"[a-z]", label) else f"vm-{order_id.hex[:8]}"


def _idempotency_violations(key) -> list[Violation]:
    if not isinstance(key, str) or not key.strip():
        return [
            Violation(
                IDEMPOTENCY_FIELD,
                "required",
                _("Send an Idempotency-Key header (a random string, the same on every retry of this order)."),
            )
        ]
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        return [
            Violation(
                IDEMPOTENCY_FIELD,
                "invalid",
                _("An idempotency key is 1 to %(max)d printable ASCII characters.") % {"max": IDEMPOTENCY_KEY_MAX},
            )
        ]
    return []


def _request_hash(**choices) -> str:
    canonical = json.dumps({k: str(v) if v is not None else None for k, v in choices.items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _resolve(*, product, region, instance_type) -> tuple[dict, list[Violation]]:
    """The product on sale, the delivery in the region and the offer there, or the violations per field."""
    found, violations = {}, []
    sale = None
    if product is not None:
        try:
            sale = product_for_sale(getattr(product, "pk", product))
        except (ValueError, TypeError, ValidationError):  # not a UUID
            sale = None
    if sale is None:
        violations.append(Violation("product", "not_for_sale", _("This product is not on sale.")))
        return found, violations
    found["product"], found["revision"] = sale
    code = getattr(region, "code", region)
    delivery = next((d for d in deliveries_for_sale(found["revision"]) if d.region.code == code), None)
    if delivery is None:
        violations.append(
            Violation("region", "not_delivered", _("This product is not sold in region “%(code)s”.") % {"code": code})
        )
    else:
        found["delivery"] = delivery
    type_code = getattr(instance_type, "code", instance_type)
    offer = (
        InstanceOffer.objects.select_related("instance_type", "region")
        .filter(instance_type__code=type_code, region__code=code, region__is_active=True)
        .first()
    )
    if offer is None or not offer.on_sale:
        violations.append(
            Violation(
                "instance_type",
                "not_on_sale",
                _("Instance type “%(type)s” is not on sale in region “%(code)s”.") % {"type": type_code, "code": code},
            )
        )
    elif delivery is not None and offer.disk_max_gib < needed_gib(delivery.image):
        violations.append(
            Violation(
                "instance_type",
                "disk_too_small",
                _("The image needs a %(need)d GiB system disk; %(type)s holds at most %(max)d GiB.")
                % {"need": needed_gib(delivery.image), "type": type_code, "max": offer.disk_max_gib},
            )
        )
    else:
        found["offer"] = offer
    return found, violations


def _disk(disk_gib, offer: InstanceOffer, image) -> tuple[int | None, list[Violation]]:
    need = needed_gib(image)
    if disk_gib is None:
        return max(offer.disk_min_gib, need), []
    if not isinstance(disk_gib, int) or isinstance(disk_gib, bool):
        return None, [Violation("disk_gib", "invalid", _("The system disk size is a whole number of GiB."))]
    if not offer.disk_min_gib <= disk_gib <= offer.disk_max_gib:
        return None, [
            Violation(
                "disk_gib",
                "out_of_range",
                _("The system disk is %(min)d to %(max)d GiB for this instance type.")
                % {"min": offer.disk_min_gib, "max": offer.disk_max_gib},
            )
        ]
    if disk_gib < need:
        return None, [
            Violation(
                "disk_gib",
                "smaller_than_image",
                _("The image needs a system disk of at least %(need)d GiB.") % {"need": need},
            )
        ]
    return disk_gib, []


def order_quote(*, product, region, instance_type, disk_gib: int | None, term: Term | None) -> tuple[Quote, dict]:
    """Validate the choices of a purchase and price them; the dict holds what was resolved. Raises RuleViolations."""
    found, violations = _resolve(product=product, region=region, instance_type=instance_type)
    disk = None
    if "offer" in found and "delivery" in found:
        disk, problems = _disk(disk_gib, found["offer"], found["delivery"].image)
        violations += problems
    if "revision" in found:
        violations += term_violations(found["revision"], term)
    raise_if(violations)
    return quote(revision=found["revision"], offer=found["offer"], disk_gib=disk, term=term), found


def _missing_money(have: Decimal, need: Decimal, currency: str) -> Violation:
    return Violation(
        "balance",
        "insufficient_balance",
        _("Your balance is %(have)s %(cur)s and this order needs %(need)s %(cur)s: %(missing)s %(cur)s missing.")
        % {"have": have, "need": need, "missing": money(need - have), "cur": currency},
    )


def order_place(
    *,
    buyer: User,
    product,
    region,
    instance_type,
    disk_gib: int | None,
    term: Term | None,
    ssh_public_key: str,
    name: str | None,
    idempotency_key: str,
) -> tuple[Order, bool]:
    """Place an order in one transaction: validate, quote, charge (prepaid) or check one hour (postpaid), create the
    order and its instance. Returns (order, created); the same key again returns the first order, unchanged.

    Nothing is written when a rule fails (RuleViolations, 422) or the key was used for other choices (Conflict, 409).
    """
    try:
        return _order_place(
            buyer=buyer,
            product=product,
            region=region,
            instance_type=instance_type,
            disk_gib=disk_gib,
            term=term,
            ssh_public_key=ssh_public_key,
            name=name,
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        # The account lock serialises one buyer's orders, so this is a backstop: the unique (buyer, key) constraint
        # refused a second insert that slipped past it. The first order is committed; answer it.
        existing = order_by_key(buyer=buyer, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def _order_place(
    *, buyer, product, region, instance_type, disk_gib, term, ssh_public_key, name, idempotency_key
) -> tuple[Order, bool]:
    if not (buyer.is_authenticated and buyer.is_buyer):
        raise RuleViolations([Violation("buyer", "not_a_buyer", _("Only buyers place orders."))])
    raise_if(_idempotency_violations(idempotency_key))
    request_hash = _request_hash(
        product=getattr(product, "pk", product),
        region=getattr(region, "code", region),
        instance_type=getattr(instance_type, "code", instance_type),
        disk_gib=disk_gib,
        term=f"{term.unit}:{term.count}" if term else None,
        ssh_public_key=" ".join((ssh_public_key or "").split()),
        name=(name or "").strip(),
    )
    account_lock(buyer)  # from here on this buyer's other orders and charges wait for this transaction
    existing = order_by_key(buyer=buyer, idempotency_key=idempotency_key)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise Conflict(
                _(
                    "This Idempotency-Key was already used for an order with other choices (order %(id)s). "
                    "Use a new key for a new order."
                )
                % {"id": existing.pk},
                code="idempotency_key_reused",
                field=IDEMPOTENCY_FIELD,
            )
        return existing, False

    violations = []
    try:
        priced, found = order_quote(
            product=product, region=region, instance_type=instance_type, disk_gib=disk_gib, term=term
        )
    except RuleViolations as exc:
        priced, found = None, None
        violations += exc.violations
    key, problems = parse_public_key(ssh_public_key)
    violations += problems
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name and found:
        name = found["revision"].name.strip()[:NAME_MAX]
    violations += name_rule_violations(name)
    raise_if(violations)

    have = balance_of(buyer)
    if have < priced.required_balance:
        raise RuleViolations([_missing_money(have, priced.required_balance, priced.currency)])

    offer, revision, delivery = found["offer"], found["revision"], found["delivery"]
    order_id = uuid.uuid4()
    order = Order.objects.create(
        id=order_id,
        buyer=buyer,
        product=found["product"],
        revision=revision,
        region=delivery.region,
        offer=offer,
        instance_type=offer.instance_type,
        disk_gib=priced.disk_gib,
        billing_mode=priced.billing_mode,
        term_unit=priced.term_unit,
        term_count=priced.term_count,
        currency=priced.currency,
        server_price=priced.server_price,
        image_price=priced.image_price,
        unit_price=priced.unit_price,
        server_total=priced.server_total,
        image_total=priced.image_total,
        total=priced.total,
        charged=priced.due_now,
        ssh_public_key=key.text,
        ssh_key_fingerprint=key.fingerprint,
        name=name,
        hostname=hostname_for(name, order_id),
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    if priced.due_now > 0:
        ledger_post(
            user=buyer,
            kind=LedgerEntry.Kind.CHARGE,
            server_part=-priced.server_total,
            image_part=-priced.image_total,
            currency=priced.currency,
            reason=_("Order %(id)s: %(type)s in %(region)s, %(count)d %(unit)s")
            % {
                "id": str(order.pk)[:8],
                "type": offer.instance_type.code,
                "region": delivery.region.code,
                "count": priced.term_count,
                "unit": priced.term_unit,
            },
            ref=f"order:{order.pk}:charge",
            actor=buyer,
            order=order,
        )
    audit_record(
        actor=buyer,
        target=order,
        action="order.place",
        to_status=order.status,
        data={
            "product": str(order.product_id),
            "revision": revision.number,
            "region": delivery.region.code,
            "instance_type": offer.instance_type.code,
            "disk_gib": order.disk_gib,
            "term": f"{priced.term_count} {priced.term_unit}",
            "total": str(priced.total),
            "charged": str(priced.due_now),
        },
    )
    launch.launch_for(order=order, image=delivery.image)
    return order, True


def order_fail(*, order: Order, reason: str, actor=None) -> Order:
    """The order's instance failed or was lost: the order becomes failed and what it charged is refunded, once.

    Called inside the caller's transaction (compute's instance_failed signal); a second call finds the order
    failed already and does nothing, and the ledger's unique ref backs that up.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PLACED:
            return order
        account_lock(order.buyer)
        previous = order.status
        order.status = Order.Status.FAILED
        order.save(update_fields=["status", "updated_at"])
        refunded = Decimal("0.00")
        # The placement charge comes back (a launch that never ran); billing settles usage it metered itself.
        charge = LedgerEntry.objects.filter(ref=f"order:{order.pk}:charge").first()
        if charge is not None:
            entry, _created = ledger_post(
                user=order.buyer,
                kind=LedgerEntry.Kind.REFUND,
                server_part=-charge.server_part,
                image_part=-charge.image_part,
                currency=order.currency,
                reason=_("Order %(id)s refunded: %(reason)s") % {"id": str(order.pk)[:8], "reason": reason},
                ref=f"order:{order.pk}:refund",
                actor=actor,
                order=order,
            )
            refunded = entry.amount
        audit_record(
            actor=actor,
            target=order,
            action="order.fail",
            from_status=previous,
            to_status=order.status,
            reason=reason,
            data={"refunded": str(refunded)},
        )
    return order
