"""`shelf renew`, `shelf autorenew`, `shelf bill` against a live server (the CLI speaks only HTTP)."""

from decimal import Decimal

import pytest

from shelf.accounts.services import token_create
from shelf.billing.models import PrepaidTerm
from shelf.billing.services import add_months
from shelf.orders.models import LedgerEntry
from shelf.orders.selectors import balance_of
from tests.billing.conftest import buy
from tests.cli.conftest import shelf_cli  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_renew_autorenew_and_bill_from_the_cli(shelf_cli, api, money_bruce, product, ssh_key, carol_buyer):  # noqa: F811
    order = buy(api(money_bruce), product, ssh_key, "cli-1", months=1)
    token = token_create(user=money_bruce, name="cli")[1]
    first_expiry = PrepaidTerm.objects.get(order=order).expires_at

    done = shelf_cli("autorenew", str(order.pk), "on", token=token)
    assert done.returncode == 0, done.stderr
    assert "auto-renew on" in done.stdout and PrepaidTerm.objects.get(order=order).auto_renew

    done = shelf_cli("renew", str(order.pk), "--months", "2", token=token)
    assert done.returncode == 0, done.stderr
    term = PrepaidTerm.objects.get(order=order)
    assert term.expires_at == add_months(first_expiry, 2)
    assert LedgerEntry.objects.get(ref=f"renew:{order.pk}:1").amount == Decimal("-288.00")
    assert balance_of(money_bruce) == Decimal("568.00")

    done = shelf_cli("renew", str(order.pk), "--months", "13", token=token)
    assert done.returncode == 1 and "out_of_range" in done.stderr
    done = shelf_cli("renew", str(order.pk), "--months", "1", token=token_create(user=carol_buyer, name="c")[1])
    assert done.returncode == 1 and "404" in done.stderr  # not carol's

    done = shelf_cli("bill", token=token)
    assert done.returncode == 0, done.stderr
    assert "net 432.00 CNY" in flat(done.stdout) and "web-1" in done.stdout
    done = shelf_cli("bill", "--csv", "-", token=token)
    assert done.returncode == 0, done.stderr
    assert f"renew:{order.pk}:1" in done.stdout and f"order:{order.pk}:charge" in done.stdout
    assert "net,,,,,,432.00,CNY" in done.stdout.replace("\r", "")
