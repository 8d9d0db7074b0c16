"""Running a failed boot check again: the image's provider (image page, API) or an operator (review page, API);
audited, 409 while one is under way or when the latest passed, 404 for anyone else's image."""

from __future__ import annotations

import pytest

from shelf.audit.models import AuditEvent
from shelf.compute.models import BootCheck
from shelf.compute.selectors import latest_boot_check
from tests.products.conftest import make_image
from tests.reviews.conftest import submitted_product

pytestmark = pytest.mark.django_db
B = BootCheck.Status


@pytest.fixture
def failed_image(alice):
    image = make_image(alice.organizations.get(), boot_check=B.FAILED)
    BootCheck.objects.filter(image=image).update(reason="The guest printed nothing on its serial console.")
    return image


def test_the_provider_reruns_a_failed_check_through_the_api(
    api, alice, failed_image, django_capture_on_commit_callbacks
):
    first = latest_boot_check(failed_image)
    with django_capture_on_commit_callbacks() as enqueued:
        answer = api(alice).post(f"images/{failed_image.pk}/boot-check/rerun")
    assert answer.status_code == 202, answer.json()
    body = answer.json()
    again = BootCheck.objects.get(pk=body["id"])
    assert (body["status"], again.status, again.attempt, again.scan_id) == ("pending", B.PENDING, 2, first.scan_id)
    assert again.hostname != first.hostname and again.hostname.startswith("shelf-check-")
    assert len(enqueued) == 1  # the job is enqueued once the request commits
    assert latest_boot_check(failed_image) == again
    event = AuditEvent.objects.get(action="boot_check.rerun")
    assert (event.actor, event.from_status, event.to_status) == (alice, "failed", "pending")
    assert event.data["previous"] == str(first.pk) and event.data["attempt"] == 2

    # While that one waits (or runs): 409, and no third check.
    answer = api(alice).post(f"images/{failed_image.pk}/boot-check/rerun")
    assert answer.status_code == 409 and answer.json()["errors"][0]["code"] == "boot_check"
    BootCheck.objects.filter(pk=again.pk).update(status=B.RUNNING)
    assert api(alice).post(f"images/{failed_image.pk}/boot-check/rerun").status_code == 409
    assert BootCheck.objects.filter(image=failed_image).count() == 2


def test_nothing_to_rerun_when_it_passed_or_never_ran(api, alice):
    passed = make_image(alice.organizations.get())
    answer = api(alice).post(f"images/{passed.pk}/boot-check/rerun")
    assert answer.status_code == 409 and "passed" in answer.json()["errors"][0]["message"]
    unchecked = make_image(alice.organizations.get(), boot_check=None)
    assert api(alice).post(f"images/{unchecked.pk}/boot-check/rerun").status_code == 409
    assert not AuditEvent.objects.filter(action="boot_check.rerun").exists()


def test_only_the_images_provider_or_an_operator(api, failed_image, bob, bruce, olivia):
    for outsider in (bob, bruce):
        assert api(outsider).post(f"images/{failed_image.pk}/boot-check/rerun").status_code == 404
    assert api(None).post(f"images/{failed_image.pk}/boot-check/rerun").status_code == 401
    assert BootCheck.objects.filter(image=failed_image).count() == 1
    answer = api(olivia).post(f"images/{failed_image.pk}/boot-check/rerun")
    assert answer.status_code == 202
    assert AuditEvent.objects.get(action="boot_check.rerun").actor == olivia


def test_the_button_on_the_providers_image_page(web, alice, bob, failed_image):
    page = web(alice).get(f"/provider/images/{failed_image.pk}/").content.decode()
    rerun = f"/provider/images/{failed_image.pk}/boot-check/rerun/"
    assert f'action="{rerun}"' in page
    assert web(bob).post(rerun).status_code == 404
    answer = web(alice).post(rerun, follow=True)
    assert answer.redirect_chain[-1][0] == f"/provider/images/{failed_image.pk}/"
    assert "Boot check queued." in answer.content.decode()
    assert latest_boot_check(failed_image).status == B.PENDING
    assert f'action="{rerun}"' not in answer.content.decode()  # pending: no button
    answer = web(alice).post(rerun, follow=True)  # a second click: the conflict is shown, nothing created
    assert "already under way" in answer.content.decode()
    assert BootCheck.objects.filter(image=failed_image).count() == 2


def test_the_button_on_the_operators_review_page(api, web, alice, olivia, failed_image):
    product_id = submitted_product(api(alice), make_image(alice.organizations.get()))
    from shelf.products.models import Delivery, Revision

    revision = Revision.objects.get(product_id=product_id, status="in_review")
    Delivery.objects.filter(revision=revision).update(image=failed_image)
    rerun = f"/operator/reviews/{revision.pk}/images/{failed_image.pk}/boot-check/rerun/"
    page = web(olivia).get(f"/operator/reviews/{revision.pk}/").content.decode()
    assert f'action="{rerun}"' in page
    other = make_image(alice.organizations.get(), boot_check=B.FAILED, name="Not delivered")
    assert web(olivia).post(f"/operator/reviews/{revision.pk}/images/{other.pk}/boot-check/rerun/").status_code == 404
    assert web(alice).post(rerun).status_code in (302, 403, 404)
    assert BootCheck.objects.filter(image=failed_image).count() == 1
    answer = web(olivia).post(rerun, follow=True)
    assert answer.redirect_chain[-1][0] == f"/operator/reviews/{revision.pk}/"
    assert latest_boot_check(failed_image).attempt == 2
    assert AuditEvent.objects.get(action="boot_check.rerun").actor == olivia
