"""`shelf buy`, `shelf order`, `shelf balance`, `shelf topup` against a live server."""

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from shelf.accounts.services import token_create
from shelf.orders import api as orders_api
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import topup
from tests.orders.conftest import _launches_kept, _sizes, listed_product, openssh_public  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def token(bruce):
    return token_create(user=bruce, name="cli tests")[1]


@pytest.fixture
def funded(bruce, olivia):
    topup(actor=olivia, user=bruce, amount="500.00", reason="demo credit")
    return bruce


@pytest.fixture
def product(alice):
    return listed_product(alice.organizations.get())


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "id_ed25519.pub"
    path.write_text(openssh_public(ed25519.Ed25519PrivateKey.generate()) + " bruce@laptop\n")
    return path


def buy_args(product, key_file, *extra):
    return (
        "buy",
        str(product.pk),
        "--region",
        "ap-guangzhou",
        "--type",
        "S5.SMALL1",
        "--ssh-key",
        str(key_file),
        *extra,
    )


def test_buy_shows_the_quote_asks_and_charges(shelf_cli, token, funded, product, key_file):
    refused = shelf_cli(*buy_args(product, key_file, "--months", "2"), token=token, input="n\n")
    assert refused.returncode == 1, refused.stderr
    text = flat(refused.stdout)
    assert "server S5.SMALL1 45.00 90.00" in text and "image 99.00 198.00" in text and "total 144.00 288.00" in text
    assert "Charge 288.00 CNY to your balance?" in text and "Nothing was ordered." in text
    assert not Order.objects.exists()
    done = shelf_cli(*buy_args(product, key_file, "--months", "2", "--name", "web-1"), token=token, input="y\n")
    assert done.returncode == 0, done.stderr
    order = Order.objects.get()
    assert f"Order {order.pk} placed: charged 288.00 CNY" in flat(done.stdout)
    assert (order.name, order.charged) == ("web-1", Decimal("288.00"))
    assert balance_of(funded) == Decimal("212.00")
    shown = shelf_cli("order", "show", str(order.pk), token=token)
    assert shown.returncode == 0 and "288.00 CNY" in shown.stdout and order.ssh_key_fingerprint in shown.stdout
    listed = shelf_cli("order", "list", token=token)
    assert str(order.pk)[:8] in listed.stdout and "web-1" in listed.stdout
    balance = shelf_cli("balance", token=token)
    assert "Balance: 212.00 CNY" in balance.stdout and "demo credit" in balance.stdout and "-288.00" in balance.stdout


def test_a_retry_after_a_lost_answer_sends_the_same_key_and_charges_once(
    shelf_cli, token, funded, product, key_file, monkeypatch
):
    """The first answer is lost after the order committed (the server errs): the CLI retries with its key."""
    real, calls = orders_api.order_place, []

    def placed_then_lost(**kwargs):
        calls.append(kwargs["idempotency_key"])
        result = real(**kwargs)
        if len(calls) == 1:
            raise RuntimeError("the answer is lost on the way back")
        return result

    monkeypatch.setattr(orders_api, "order_place", placed_then_lost)
    done = shelf_cli(*buy_args(product, key_file, "--months", "1", "--yes"), token=token)
    assert done.returncode == 0, done.stderr
    assert len(calls) == 2 and calls[0] == calls[1]
    assert Order.objects.count() == 1 and LedgerEntry.objects.filter(kind="charge").count() == 1
    assert balance_of(funded) == Decimal("356.00")


def test_not_enough_balance_says_how_much_is_missing(shelf_cli, token, bruce, product, key_file):
    result = shelf_cli(*buy_args(product, key_file, "--years", "1", "--yes"), token=token)
    assert result.returncode == 1
    assert "1539.00 CNY missing" in flat(result.stderr) and "insufficient_balance" in result.stderr
    assert not Order.objects.exists()


def test_the_term_is_one_of_months_years_hourly(shelf_cli, token, funded, product, key_file):
    result = shelf_cli(*buy_args(product, key_file, "--months", "1", "--hourly"), token=token)
    assert result.returncode == 2 and "Choose one term" in result.stderr
    result = shelf_cli(*buy_args(product, key_file, "--months", "13", "--yes"), token=token)
    assert result.returncode == 1 and "term" in result.stderr and "out_of_range" in result.stderr


def test_operators_top_up_from_the_cli(shelf_cli, olivia, bruce, token):
    operator = token_create(user=olivia, name="cli")[1]
    result = shelf_cli("topup", "bruce", "88.80", "--reason", "wire 2026-12-01", token=operator)
    assert result.returncode == 0, result.stderr
    assert "Added 88.80 CNY to bruce: balance now 88.80 CNY." in result.stdout
    assert LedgerEntry.objects.get().reason == "wire 2026-12-01"
    refused = shelf_cli("topup", "bruce", "1", "--reason", "myself", token=token)
    assert refused.returncode == 1 and "404" in refused.stderr
