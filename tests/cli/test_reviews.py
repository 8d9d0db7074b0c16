"""The provider's side of review from the CLI: reasons, revisions, delisting."""

import pytest

from shelf.accounts.services import token_create
from shelf.products.models import Revision
from shelf.reviews.services import CHECKLIST, review_approve, review_reject
from tests.conftest import ApiClient
from tests.products.conftest import make_image
from tests.reviews.conftest import submitted_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_rejection_reasons_revise_and_delist(shelf_cli, alice, olivia):
    token = token_create(user=alice, name="cli")[1]
    pid = submitted_product(ApiClient(alice), make_image(alice.organizations.get()))
    revision = Revision.objects.get(product_id=pid)
    review_reject(operator=olivia, revision=revision, reasons={"summary": "Say what the image contains."})
    shown = shelf_cli("product", "revisions", pid, token=token)
    assert shown.returncode == 0 and "rejected" in shown.stdout and "Say what the image contains." in shown.stdout
    assert "Say what the image contains." in shelf_cli("product", "show", pid, token=token).stdout

    Revision.objects.filter(pk=revision.pk).update(status="in_review")
    review_approve(
        operator=olivia,
        revision=Revision.objects.get(pk=revision.pk),
        checklist={key: True for key, _label in CHECKLIST},
    )
    revised = shelf_cli("product", "revise", pid, token=token)
    assert revised.returncode == 0 and "r2" in revised.stdout and "r1 stays on sale" in revised.stdout
    delisted = shelf_cli("product", "delist", pid, "--reason", "Replaced by v2", token=token)
    assert delisted.returncode == 0, delisted.stderr
    assert Revision.objects.get(product_id=pid, number=1).status == "delisted"
    again = shelf_cli("product", "delist", pid, "--reason", "again", token=token)
    assert again.returncode == 1 and "not listed" in again.stderr
