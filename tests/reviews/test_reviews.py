"""The review side end to end: queue, claims, decisions with per-field reasons, revisions, delisting, notifications."""

import threading

import pytest
from django.db import connection

from shelf.notifications.models import Notification
from shelf.products.models import Revision
from shelf.reviews.models import Claim, Decision
from shelf.reviews.services import CHECKLIST

FULL_CHECKLIST = {"checklist": {key: True for key, _label in CHECKLIST}}


def test_only_operators_reach_the_review_api(api, alice, bruce, submission):
    _client, _pid, rid = submission
    for user in (alice, bruce):
        client = api(user)
        assert client.get("reviews").status_code == 404
        assert client.post(f"reviews/{rid}/claim").status_code == 404
        assert client.post(f"reviews/{rid}/approve", json=FULL_CHECKLIST).status_code == 404
        assert client.post(f"reviews/{rid}/reject", json={"reasons": {"name": "x"}}).status_code == 404


def test_queue_lists_submission_with_due_wording(api, olivia, submission):
    _client, pid, rid = submission
    (row,) = api(olivia).get("reviews").json()
    assert (
        row["id"] == rid
        and row["product"] == pid
        and row["due"] == "due in 7 business days"
        and row["claimed_by"] is None
    )
    assert Notification.objects.filter(user=olivia, event="review.submitted").exists()


def test_queue_orders_by_due_date_overdue_first(api, alice, olivia, submission):
    client, _pid, rid = submission
    from datetime import timedelta

    from django.utils import timezone

    from tests.products.conftest import make_image
    from tests.reviews.conftest import submitted_product

    second = Revision.objects.get(
        product_id=submitted_product(client, make_image(alice.organizations.get(), name="second"))
    )
    Revision.objects.filter(pk=second.pk).update(due_at=timezone.now() - timedelta(days=10))
    rows = api(olivia).get("reviews").json()
    assert [r["id"] for r in rows] == [second.pk, rid]
    assert rows[0]["due"].startswith("overdue by")
    page = api(olivia).client
    page.force_login(olivia)
    html = page.get("/operator/reviews/").content.decode()
    assert html.index(f'data-revision="{second.pk}"') < html.index(f'data-revision="{rid}"')


def test_claim_release_and_one_holder(api, olivia, olivia2, submission):
    _client, _pid, rid = submission
    assert api(olivia).post(f"reviews/{rid}/claim").json()["claimed_by"] == "olivia"
    taken = api(olivia2).post(f"reviews/{rid}/claim")
    assert taken.status_code == 409 and "olivia" in taken.json()["errors"][0]["message"]
    assert api(olivia2).post(f"reviews/{rid}/approve", json=FULL_CHECKLIST).status_code == 409
    api(olivia).post(f"reviews/{rid}/release")
    assert api(olivia2).post(f"reviews/{rid}/claim").json()["claimed_by"] == "oscar"


@pytest.mark.django_db(transaction=True)
def test_two_operators_claim_at_once_one_wins(olivia, olivia2, alice):
    from shelf.errors import Conflict
    from shelf.reviews.services import review_claim
    from tests.conftest import ApiClient
    from tests.products.conftest import make_image
    from tests.reviews.conftest import submitted_product

    pid = submitted_product(ApiClient(alice), make_image(alice.organizations.get()))
    revision = Revision.objects.get(product_id=pid)
    barrier, outcomes = threading.Barrier(2), []

    def attempt(operator):
        try:
            barrier.wait()
            review_claim(operator=operator, revision=revision)
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")
        finally:
            connection.close()  # this thread's own connection: left open it keeps the test database in use

    threads = [threading.Thread(target=attempt, args=(op,)) for op in (olivia, olivia2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert Claim.objects.filter(revision=revision).count() == 1


def test_reject_with_reasons_shown_to_provider_then_fix_resubmit_approve(api, web, alice, olivia, submission):
    client, pid, rid = submission
    operator = api(olivia)
    operator.post(f"reviews/{rid}/claim")
    rejected = operator.post(
        f"reviews/{rid}/reject",
        json={"reasons": {"name": "Remove 'best' from the name.", "pictures": "The picture is plain white."}},
    )
    assert rejected.json()["status"] == "rejected"
    product = client.get(f"products/{pid}").json()
    assert product["status"] == "rejected" and product["rejection_reasons"]["name"] == "Remove 'best' from the name."
    page = web(alice).get(f"/provider/products/{pid}/edit/basic/").content.decode()
    assert "Remove &#x27;best&#x27; from the name." in page and "The picture is plain white." in page
    assert Notification.objects.filter(user=alice, event="product.rejected").exists()
    # Editing returns it to draft; resubmit; approve.
    edited = client.patch(f"products/{pid}", json={"lock_version": product["lock_version"], "name": "LAMP stack"})
    assert edited.json()["status"] == "draft"
    assert client.post(f"products/{pid}/submit").json()["status"] == "in_review"
    approved = operator.post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    assert approved.json()["status"] == "listed"
    assert [d.outcome for d in Decision.objects.order_by("decided_at")] == ["rejected", "approved"]
    assert Notification.objects.filter(user=alice, event="product.approved").exists()


def test_invalid_rejections_are_refused(api, olivia, submission):
    _client, _pid, rid = submission
    operator = api(olivia)
    empty = operator.post(f"reviews/{rid}/reject", json={"reasons": {"name": "  "}})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "reasons"
    unknown = operator.post(f"reviews/{rid}/reject", json={"reasons": {"colour": "ugly"}})
    assert unknown.status_code == 422
    assert Revision.objects.get(pk=rid).status == "in_review"


def test_withdraw_releases_the_claim(api, olivia, submission):
    client, pid, rid = submission
    api(olivia).post(f"reviews/{rid}/claim")
    client.post(f"products/{pid}/withdraw")
    assert not Claim.objects.filter(revision_id=rid).exists()
    assert api(olivia).post(f"reviews/{rid}/claim").status_code == 409


def test_listed_revision_stays_on_sale_until_the_new_one_is_approved(api, olivia, submission):
    client, pid, rid = submission
    operator = api(olivia)
    operator.post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    assert client.post(f"products/{pid}/revisions").status_code == 201
    assert client.post(f"products/{pid}/revisions").status_code == 409  # one open revision at a time
    draft = client.get(f"products/{pid}").json()
    assert draft["revision"] == 2 and draft["status"] == "draft" and draft["listed_revision"] == 1
    assert len(draft["pictures"]) == 1 and draft["document"] is not None
    client.patch(f"products/{pid}", json={"lock_version": draft["lock_version"], "name": "LAMP 2.0"})
    client.post(f"products/{pid}/submit")
    assert Revision.objects.get(product_id=pid, number=1).status == "listed"
    new_rid = Revision.objects.get(product_id=pid, number=2).pk
    queue = operator.get("reviews").json()
    assert [r["id"] for r in queue] == [new_rid]
    operator.post(f"reviews/{new_rid}/approve", json=FULL_CHECKLIST)
    statuses = dict(Revision.objects.filter(product_id=pid).values_list("number", "status"))
    assert statuses == {1: "superseded", 2: "listed"}


def test_shared_picture_survives_when_the_new_revision_drops_it(api, olivia, submission, settings):
    from shelf.products.models import Picture
    from shelf.storage import get_storage

    client, pid, rid = submission
    api(olivia).post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    client.post(f"products/{pid}/revisions")
    draft = client.get(f"products/{pid}").json()
    key = Picture.objects.get(revision__number=1, revision__product_id=pid).storage_key
    assert client.delete(f"products/{pid}/pictures/{draft['pictures'][0]['id']}").status_code == 204
    assert get_storage().exists(key)


def test_delist_by_provider_and_by_operator_and_relist_through_review(api, alice, olivia, submission):
    client, pid, rid = submission
    api(olivia).post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    refused = client.post(f"products/{pid}/delist", json={"reason": ""})
    assert refused.status_code == 422
    assert client.post(f"products/{pid}/delist", json={"reason": "End of life"}).json()["status"] == "delisted"
    assert Notification.objects.filter(user=alice, event="product.delisted").exists()
    assert client.post(f"products/{pid}/delist", json={"reason": "again"}).status_code == 409
    # Relisting goes through review.
    client.post(f"products/{pid}/revisions")
    client.post(f"products/{pid}/submit")
    new_rid = Revision.objects.get(product_id=pid, number=2).pk
    api(olivia).post(f"reviews/{new_rid}/approve", json=FULL_CHECKLIST)
    assert Revision.objects.get(pk=new_rid).status == "listed"
    assert (
        api(olivia).post(f"products/{pid}/delist", json={"reason": "Vulnerable image"}).json()["status"] == "delisted"
    )
    assert Revision.objects.get(pk=new_rid).status == "delisted"


def test_bob_cannot_delist_alices_product(api, bob, olivia, submission):
    _client, pid, rid = submission
    api(olivia).post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    assert api(bob).post(f"products/{pid}/delist", json={"reason": "x"}).status_code == 404


def test_review_page_shows_everything_and_web_decisions(web, olivia, submission):
    _client, pid, rid = submission
    client = web(olivia)
    page = client.get(f"/operator/reviews/{rid}/").content.decode()
    for text in (
        "Seed rules",
        "Pre-review",
        "Host security scans",
        "Integrated software cross-check",
        "As buyers will see it",
        "Checklist",
    ):
        assert text in page
    # Approving without the full checklist is refused.
    client.post(f"/operator/reviews/{rid}/approve/", {"check-content": "on"})
    assert Revision.objects.get(pk=rid).status == "in_review"
    from shelf.reviews.views import CHECKLIST

    client.post(f"/operator/reviews/{rid}/approve/", {f"check-{key}": "on" for key, _label in CHECKLIST})
    assert Revision.objects.get(pk=rid).status == "listed"


def test_metrics(web, api, olivia, submission):
    _client, _pid, rid = submission
    api(olivia).post(f"reviews/{rid}/approve", json=FULL_CHECKLIST)
    page = web(olivia).get("/operator/reviews/metrics/").content.decode()
    assert 'id="waiting">0<' in page and 'id="median">0<' in page
    from shelf.reviews.selectors import review_metrics

    metrics = review_metrics()
    assert metrics["decisions"] == 1 and metrics["weeks"][0][1]["approved"] == 1


def test_a_version_read_from_an_older_revision_is_stale(api, olivia, submission):
    client, pid, rid = submission
    from shelf.reviews.services import CHECKLIST

    old_lock = client.get(f"products/{pid}").json()["lock_version"]
    api(olivia).post(f"reviews/{rid}/approve", json={"checklist": {key: True for key, _label in CHECKLIST}})
    client.post(f"products/{pid}/revisions")
    assert client.patch(f"products/{pid}", json={"lock_version": 1, "name": "x"}).status_code == 409
    assert client.patch(f"products/{pid}", json={"lock_version": old_lock, "name": "x"}).status_code == 409


def test_the_console_shows_the_services_checklist_refusal(web, olivia, submission):
    _client, _pid, rid = submission
    response = web(olivia).post(f"/operator/reviews/{rid}/approve/", {"check-content": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/operator/reviews/{rid}/"
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "Confirm every checklist item before approving (missing: "
        + ", ".join(key for key, _label in CHECKLIST if key != "content")
        + "), or reject with reasons."
    ]
    assert Revision.objects.get(pk=rid).status == "in_review"
