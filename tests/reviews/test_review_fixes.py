"""Regression tests for problems found in review: each one failed before its fix."""

from shelf.products.models import Revision


def test_api_approval_needs_the_whole_checklist_as_the_console_does(api, olivia, submission):
    _client, _pid, rid = submission
    operator = api(olivia)
    partial = operator.post(f"reviews/{rid}/approve", json={"checklist": {"content": True}})
    assert partial.status_code == 422
    assert {e["field"] for e in partial.json()["errors"]} == {"checklist"}
    assert operator.post(f"reviews/{rid}/approve", json={}).status_code == 422
    assert Revision.objects.get(pk=rid).status == "in_review"
    from shelf.reviews.services import CHECKLIST

    full = operator.post(f"reviews/{rid}/approve", json={"checklist": {key: True for key, _label in CHECKLIST}})
    assert full.status_code == 200 and full.json()["status"] == "listed"
