"""`shelf sales` and `shelf statement YYYY-MM [--csv]` against a live server: the API's figures, the console's CSV."""

import pytest
from django.utils import timezone

from tests.billing.test_dashboard import _sales_scenario

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_cli_shows_sales_and_statements(shelf_cli, api, rich_bruce, alice, bob, ssh_key):
    _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    token = api(alice).token
    month = timezone.localdate().strftime("%Y-%m")
    sales = shelf_cli("sales", token=token)
    assert sales.returncode == 0, sales.stderr
    assert "3 orders in 30 days" in sales.stdout and "511.33" in sales.stdout
    shown = shelf_cli("statement", month, token=token)
    assert shown.returncode == 0 and "264.34" in shown.stdout  # net: 237.60 + 26.74
    as_csv = shelf_cli("statement", month, "--csv", token=token)
    assert as_csv.returncode == 0
    assert as_csv.stdout == api(alice).get(f"provider/statements/{month}/csv").content.decode()
    bad = shelf_cli("statement", "2026-13", token=token)
    assert bad.returncode == 1 and "YYYY-MM" in bad.stderr
