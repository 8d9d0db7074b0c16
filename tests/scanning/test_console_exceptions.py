"""The operator's exception form on the scan report: malformed values are messages, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shelf.scanning.models import FindingException, Scan
from tests.products.conftest import make_image


@pytest.fixture
def alice_org(alice):
    return alice.organizations.get()


def _scan(organization) -> Scan:
    return Scan.objects.get(image=make_image(organization, scan_verdict="failed"))


def test_an_exception_is_granted_from_the_report(web, olivia, alice_org):
    scan = _scan(alice_org)
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = web(olivia).post(
        f"/scans/{scan.pk}/exceptions/",
        {
            "check_id": "hygiene.history",
            "key": "/root/.bash_history",
            "justification": "Tutorial.",
            "expires_at": expires,
        },
        follow=True,
    )
    assert response.status_code == 200 and "Exception granted" in response.content.decode()
    assert FindingException.objects.get(image=scan.image).expires_at.isoformat() == expires


def test_a_malformed_expiry_date_is_named_and_nothing_is_granted(web, olivia, alice_org):
    scan = _scan(alice_org)
    for bad in ("31/12/2030", "2030-13-45", "\x00", "tomorrow"):
        response = web(olivia).post(
            f"/scans/{scan.pk}/exceptions/",
            {"check_id": "hygiene.history", "justification": "Tutorial.", "expires_at": bad},
            follow=True,
        )
        assert response.status_code == 200 and "Give the expiry date as YYYY-MM-DD." in response.content.decode()
    assert not FindingException.objects.exists()


def test_only_operators_revoke_and_reach_the_rule_sets(web, alice, olivia, alice_org):
    scan = _scan(alice_org)
    exception = FindingException.objects.create(
        image=scan.image,
        check_id="hygiene.history",
        justification="x",
        expires_at=timezone.localdate() + timedelta(days=3),
        granted_by=olivia,
    )
    assert web(alice).post(f"/scan-exceptions/{exception.pk}/revoke/").status_code == 404
    assert web(alice).get("/operator/yara-rules/").status_code == 404
    exception.refresh_from_db()
    assert exception.revoked_at is None
    assert web(olivia).post("/scan-exceptions/999999/revoke/").status_code == 404
    assert web(olivia).post(f"/scan-exceptions/{exception.pk}/revoke/").status_code == 302
    exception.refresh_from_db()
    assert exception.revoked_at is not None
