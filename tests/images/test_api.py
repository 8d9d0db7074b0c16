"""Custom images through the HTTP API: resumable import, validation, quota, copy, delete, isolation, console."""

import hashlib
import random
import subprocess
import threading
from pathlib import Path

import pytest

from shelf.images import inspection
from shelf.images.models import Image
from tests.images.builders import MiB, sha256_of, stored_files, tools_missing

if tools_missing():
    pytest.skip(f"missing {', '.join(tools_missing())}", allow_module_level=True)

pytestmark = pytest.mark.django_db
VIRTUAL_SIZE = 4 * MiB


# --------------------------------------------------------------------------- helpers


def create(client, **fields):
    body = {"name": "Ubuntu 24.04 with nginx", "region": "ap-guangzhou", "format": "raw", **fields}
    return client.post("images", json={k: v for k, v in body.items() if v is not None})


def put(client, image_id, data: bytes, start: int, total: int | str = "*", content_range: str | None = None):
    header = content_range if content_range is not None else f"bytes {start}-{start + len(data) - 1}/{total}"
    return client.client.put(
        f"/api/v1/images/{image_id}/upload",
        data=data,
        content_type="application/octet-stream",
        headers={**client.headers, "Content-Range": header},
    )


def complete(client, image_id, sha256: str, capture):
    with capture(execute=True):
        return client.post(f"images/{image_id}/upload/complete", json={"sha256": sha256})


def upload(client, path: Path, capture, *, fmt: str, chunk: int = MiB, region: str = "ap-guangzhou", name="disk"):
    """The whole protocol as a client runs it; returns the image as the API shows it after validation."""
    data = path.read_bytes()
    created = create(client, name=name, region=region, format=fmt, size=len(data))
    assert created.status_code == 201, created.json()
    image_id = created.json()["id"]
    for start in range(0, len(data), chunk):
        response = put(client, image_id, data[start : start + chunk], start, len(data))
        assert response.status_code == 200, response.json()
        assert response.json()["received"] == min(start + chunk, len(data))
    done = complete(client, image_id, hashlib.sha256(data).hexdigest(), capture)
    assert done.status_code == 200, done.json()
    return client.get(f"images/{image_id}").json()


def errors(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"errors"}, body
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"} and error["message"], error
    return body["errors"]


def codes(response) -> set[tuple[str | None, str]]:
    return {(e["field"], e["code"]) for e in errors(response)}


@pytest.fixture
def alice_api(api, alice):
    return api(alice)


@pytest.fixture
def importing(alice_api):
    """An importing raw image announced as 3 MiB of known bytes."""
    data = bytes(range(256)) * (3 * MiB // 256)
    response = create(alice_api, size=len(data))
    assert response.status_code == 201, response.json()
    return response.json()["id"], data


# --------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_import_ends_available_with_virtual_size_and_checksum(
    alice_api, disk_files, fmt, django_capture_on_commit_callbacks
):
    path = disk_files[fmt]
    image = upload(alice_api, path, django_capture_on_commit_callbacks, fmt=fmt, chunk=MiB + 512 * 1024)
    assert image["status"] == "available", image["failure_reason"]
    assert image["format"] == fmt and image["region"] == "ap-guangzhou"
    assert image["virtual_size"] == VIRTUAL_SIZE
    assert image["sha256"] == sha256_of(path)
    assert image["stored_size"] == path.stat().st_size
    assert image["upload"] is None and image["failure_reason"] == ""
    stored = Image.objects.get(pk=image["id"])
    assert stored.available_at is not None
    # The object holds exactly the uploaded bytes, under a server-chosen name.
    objects = stored_files(image["id"])
    assert [p.name for p in objects] == [image["id"]]
    assert sha256_of(objects[0]) == image["sha256"]
    assert alice_api.get("images").json()[0]["id"] == image["id"]


def test_create_returns_an_upload_session(alice_api):
    response = create(alice_api, size=10 * MiB)
    assert response.status_code == 201
    image = response.json()
    assert image["status"] == "importing"
    assert image["upload"]["url"] == f"/api/v1/images/{image['id']}/upload"
    assert image["upload"]["received"] == 0 and image["upload"]["size"] == 10 * MiB
    assert image["upload"]["chunk_max"] > 0


# --------------------------------------------------------------------------- chunks


def test_chunk_sent_twice_is_harmless(alice_api, importing, django_capture_on_commit_callbacks):
    image_id, data = importing
    first = data[:MiB]
    assert put(alice_api, image_id, first, 0, len(data)).json()["received"] == MiB
    again = put(alice_api, image_id, first, 0, len(data))
    assert again.status_code == 200 and again.json()["received"] == MiB
    assert put(alice_api, image_id, data[MiB:], MiB, len(data)).json()["received"] == len(data)
    assert put(alice_api, image_id, data[MiB:], MiB, len(data)).json()["received"] == len(data)
    done = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert done.status_code == 200, done.json()
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    # Completing twice, or sending data after completion, is refused without harm.
    twice = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert twice.status_code == 409 and codes(twice) == {(None, "not_importing")}
    late = put(alice_api, image_id, data[:MiB], 0, len(data))
    assert late.status_code == 409 and codes(late) == {(None, "not_importing")}
    assert alice_api.get(f"images/{image_id}/upload").status_code == 404


def test_overlapping_chunk_writes_only_its_new_tail(alice_api, importing, django_capture_on_commit_callbacks):
    image_id, data = importing
    assert put(alice_api, image_id, data[: 2 * MiB], 0, len(data)).json()["received"] == 2 * MiB
    # The client lost the acknowledgement and resends from 1 MiB: bytes 1..2 MiB are skipped, the rest appended.
    response = put(alice_api, image_id, data[MiB:], MiB, len(data))
    assert response.status_code == 200 and response.json()["received"] == len(data)
    done = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert done.status_code == 200, done.json()
    assert done.json()["stored_size"] == len(data)


def test_gap_is_refused_with_the_offset_to_resume_from(alice_api, importing):
    image_id, data = importing
    put(alice_api, image_id, data[:MiB], 0, len(data))
    response = put(alice_api, image_id, data[2 * MiB :], 2 * MiB, len(data))
    assert response.status_code == 409
    assert codes(response) == {("content_range", "offset_mismatch")}
    assert str(MiB) in errors(response)[0]["message"]
    assert alice_api.get(f"images/{image_id}/upload").json()["received"] == MiB


def test_get_upload_reports_received_bytes(alice_api, importing):
    image_id, data = importing
    status = alice_api.get(f"images/{image_id}/upload")
    assert status.status_code == 200
    assert status.json() == {
        "url": f"/api/v1/images/{image_id}/upload",
        "received": 0,
        "size": len(data),
        "chunk_max": status.json()["chunk_max"],
    }
    put(alice_api, image_id, data[:MiB], 0, len(data))
    put(alice_api, image_id, data[MiB : MiB + 1000], MiB, "*")
    assert alice_api.get(f"images/{image_id}/upload").json()["received"] == MiB + 1000
    assert alice_api.get(f"images/{image_id}").json()["upload"]["received"] == MiB + 1000


@pytest.mark.parametrize(
    ("content_range", "code"),
    [
        ("", "invalid"),
        ("bytes 0-9", "invalid"),
        ("bytes 9-0/10", "invalid"),
        ("bytes 0-99/10", "invalid"),
        ("bytes 0-19/3145728", "length_mismatch"),
    ],
)
def test_malformed_content_range_is_refused(alice_api, importing, content_range, code):
    image_id, _data = importing
    response = put(alice_api, image_id, b"x" * 10, 0, content_range=content_range)
    assert response.status_code == 422
    assert codes(response) == {("content_range", code)}


def test_chunk_over_the_server_maximum_is_413(alice_api, importing, settings):
    image_id, data = importing
    settings.SHELF_UPLOAD_CHUNK_MAX = MiB
    response = put(alice_api, image_id, data[: MiB + 1], 0, len(data))
    assert response.status_code == 413 and codes(response) == {("content_range", "chunk_too_large")}
    assert alice_api.get(f"images/{image_id}/upload").json()["chunk_max"] == MiB


def test_total_other_than_the_announced_size_is_refused(alice_api, importing):
    image_id, data = importing
    response = put(alice_api, image_id, data[:MiB], 0, len(data) + 1)
    assert response.status_code == 422 and codes(response) == {("content_range", "total_mismatch")}


def test_chunk_beyond_the_announced_size_is_refused(alice_api, importing):
    image_id, data = importing
    response = put(alice_api, image_id, data + b"extra", 0, "*")
    assert response.status_code == 413 and codes(response) == {("content_range", "beyond_size")}
    assert alice_api.get(f"images/{image_id}/upload").json()["received"] == 0


def test_chunk_beyond_the_announced_size_drops_only_itself(alice_api, importing, django_capture_on_commit_callbacks):
    """docs/images.md: what was acknowledged before stays; the upload resumes from there and completes."""
    image_id, data = importing
    assert put(alice_api, image_id, data[:MiB], 0, len(data)).json()["received"] == MiB
    response = put(alice_api, image_id, data[MiB:] + b"extra", MiB, "*")
    assert response.status_code == 413 and codes(response) == {("content_range", "beyond_size")}
    assert errors(response)[0]["message"] == f"This chunk goes past the announced size of {len(data)} bytes."
    assert alice_api.get(f"images/{image_id}/upload").json()["received"] == MiB
    assert alice_api.get(f"images/{image_id}").json()["status"] == "importing"
    assert put(alice_api, image_id, data[MiB:], MiB, len(data)).json()["received"] == len(data)
    done = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert done.status_code == 200, done.json()


# --------------------------------------------------------------------------- completion


def test_wrong_checksum_fails_the_image_and_removes_its_bytes(alice_api, importing, django_capture_on_commit_callbacks):
    image_id, data = importing
    put(alice_api, image_id, data, 0, len(data))
    assert stored_files(image_id)  # staged while importing
    response = complete(alice_api, image_id, "0" * 64, django_capture_on_commit_callbacks)
    assert response.status_code == 422
    assert codes(response) == {("sha256", "mismatch")}
    image = alice_api.get(f"images/{image_id}").json()
    assert image["status"] == "failed" and image["failure_code"] == "checksum_mismatch"
    assert "SHA-256" in image["failure_reason"] and image["stored_size"] == 0
    assert stored_files(image_id) == []
    # A failed upload accepts nothing more.
    again = put(alice_api, image_id, data[:10], 0, len(data))
    assert again.status_code == 409 and codes(again) == {(None, "not_importing")}
    assert stored_files(image_id) == []


def test_complete_before_all_bytes_is_refused(alice_api, importing, django_capture_on_commit_callbacks):
    image_id, data = importing
    put(alice_api, image_id, data[:MiB], 0, len(data))
    response = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert response.status_code == 422
    assert codes(response) == {("size", "incomplete")}
    image = alice_api.get(f"images/{image_id}").json()
    assert image["status"] == "importing" and image["upload"]["received"] == MiB  # nothing lost: keep sending


def test_complete_without_checksum_lists_it(alice_api, importing, django_capture_on_commit_callbacks):
    image_id, data = importing
    response = complete(alice_api, image_id, "", django_capture_on_commit_callbacks)
    assert response.status_code == 422
    assert codes(response) == {("sha256", "required"), ("size", "incomplete")}


def test_checksum_announced_at_creation_is_used_at_completion(
    alice_api, disk_files, django_capture_on_commit_callbacks
):
    data = disk_files["raw"].read_bytes()
    image_id = create(alice_api, size=len(data), sha256=hashlib.sha256(data).hexdigest()).json()["id"]
    put(alice_api, image_id, data, 0, len(data))
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"images/{image_id}/upload/complete", json={})
    assert response.status_code == 200, response.json()
    assert alice_api.get(f"images/{image_id}").json()["status"] == "available"


def test_cancel_fails_the_import_and_removes_its_bytes(alice_api, importing):
    image_id, data = importing
    put(alice_api, image_id, data[:MiB], 0, len(data))
    assert stored_files(image_id)
    response = alice_api.delete(f"images/{image_id}/upload")
    assert response.status_code == 200
    assert response.json()["status"] == "failed" and response.json()["failure_code"] == "cancelled"
    assert stored_files(image_id) == []
    assert alice_api.get(f"images/{image_id}/upload").status_code == 404
    assert alice_api.delete(f"images/{image_id}/upload").status_code == 409


# --------------------------------------------------------------------------- hostile images


@pytest.mark.parametrize(
    ("file", "fmt", "code", "words"),
    [
        ("backing", "qcow2", "backing_file", "backing file"),
        ("not_qcow2", "qcow2", "format_mismatch", "declared as QCOW2"),
        ("empty", "qcow2", "empty", "empty"),
        ("qcow2", "raw", "format_mismatch", "it is a QCOW2 image"),
    ],
)
def test_hostile_or_wrong_image_fails_with_reason_and_leaves_nothing(
    alice_api, disk_files, file, fmt, code, words, django_capture_on_commit_callbacks
):
    path = disk_files[file]
    data = path.read_bytes()
    image_id = create(alice_api, format=fmt, size=len(data)).json()["id"]
    if data:
        assert put(alice_api, image_id, data, 0, len(data)).status_code == 200
    done = complete(alice_api, image_id, hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    assert done.status_code == 200  # the upload itself was fine; validation runs as a job
    image = alice_api.get(f"images/{image_id}").json()
    assert image["status"] == "failed"
    assert image["failure_code"] == code
    assert words in image["failure_reason"]
    assert str(path.parent) not in image["failure_reason"]  # no path of the uploader's or the server's
    assert image["stored_size"] == 0
    assert stored_files(image_id) == []


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
@pytest.mark.parametrize(("content", "seen"), [("zeros", "are all zeros"), ("random", "hold neither")])
def test_disk_without_partition_table_or_filesystem_is_not_made_available(
    alice_api, tmp_path, fmt, content, seen, django_capture_on_commit_callbacks
):
    """Whole sectors and a sound container are not enough: the guest disk must hold a partition table or a
    filesystem, or it is not the disk of an operating system."""
    data = bytes(2 * MiB) if content == "zeros" else random.Random(7).randbytes(2 * MiB)
    assert inspection.disk_layout(data) is None
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    if fmt == "qcow2":
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", path, tmp_path / "disk.qcow2"], check=True)
        path = tmp_path / "disk.qcow2"
    image = upload(alice_api, path, django_capture_on_commit_callbacks, fmt=fmt)
    assert image["status"] == "failed" and image["failure_code"] == "no_disk_layout"
    assert image["failure_reason"] == (
        f"The image holds no partition table and no filesystem: its first sectors {seen}. The disk of an "
        "operating system starts with one; upload the disk of the installed system, as exported from the VM."
    )
    assert image["stored_size"] == 0 and stored_files(image["id"]) == []


# --------------------------------------------------------------------------- rules and quota


def test_every_violation_is_listed_at_once(alice_api):
    response = create(alice_api, name="x" * 101, format="iso", region="mars-1", size=-1, sha256="ABC")
    assert response.status_code == 422
    assert codes(response) >= {
        ("name", "max_length"),
        ("format", "invalid"),
        ("region", "unknown"),
        ("size", "invalid"),
        ("sha256", "invalid"),
    }
    assert Image.objects.count() == 0


def test_missing_fields_are_listed_at_once(alice_api):
    response = alice_api.post("images", json={})
    assert response.status_code == 422
    assert {field for field, _code in codes(response)} >= {"name", "format", "region"}


def test_creation_over_quota_is_413(alice_api, alice):
    org = alice.memberships.get().organization
    org.image_quota_bytes = 5 * MiB
    org.save()
    response = create(alice_api, size=6 * MiB)
    assert response.status_code == 413
    assert codes(response) == {("size", "quota_exceeded")}
    assert "5.0 MiB" in errors(response)[0]["message"]
    assert Image.objects.count() == 0
    # Announced sizes count against the quota until their bytes arrive.
    assert create(alice_api, size=3 * MiB).status_code == 201
    assert create(alice_api, size=3 * MiB).status_code == 413


def test_streaming_over_quota_without_size_is_413_and_removes_the_partial_data(alice_api, alice):
    org = alice.memberships.get().organization
    org.image_quota_bytes = 2 * MiB
    org.save()
    image_id = create(alice_api).json()["id"]  # size omitted: enforced while the bytes stream
    assert put(alice_api, image_id, b"a" * MiB, 0).json()["received"] == MiB
    response = put(alice_api, image_id, b"b" * (2 * MiB), MiB)
    assert response.status_code == 413
    assert codes(response) == {("size", "quota_exceeded")}
    image = alice_api.get(f"images/{image_id}").json()
    assert image["status"] == "failed" and image["failure_code"] == "quota_exceeded"
    assert image["stored_size"] == 0
    assert stored_files(image_id) == []
    # Failed images hold nothing: the whole quota is free again.
    assert create(alice_api, size=2 * MiB).status_code == 201


# --------------------------------------------------------------------------- copy and delete


@pytest.fixture
def available(alice_api, disk_files, django_capture_on_commit_callbacks):
    image = upload(
        alice_api, disk_files["qcow2"], django_capture_on_commit_callbacks, fmt="qcow2", name="Debian 12 LAMP"
    )
    assert image["status"] == "available", image["failure_reason"]
    return image


def test_copy_to_another_region_is_verified_and_available(alice_api, available, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"images/{available['id']}/copy", json={"region": "ap-shanghai"})
    assert response.status_code == 202, response.json()
    copy = alice_api.get(f"images/{response.json()['id']}").json()
    assert copy["id"] != available["id"]
    assert copy["status"] == "available", copy["failure_reason"]
    assert copy["region"] == "ap-shanghai" and copy["source_image"] == available["id"]
    assert copy["sha256"] == available["sha256"] and copy["virtual_size"] == available["virtual_size"]
    assert copy["name"] == available["name"] and copy["format"] == "qcow2"
    assert [sha256_of(p) for p in stored_files(copy["id"])] == [available["sha256"]]
    assert {i["region"] for i in alice_api.get("images").json()} == {"ap-guangzhou", "ap-shanghai"}
    assert [i["id"] for i in alice_api.get("images", data={"region": "ap-shanghai"}).json()] == [copy["id"]]


def test_copy_to_the_same_or_an_unknown_region_is_422(alice_api, available):
    same = alice_api.post(f"images/{available['id']}/copy", json={"region": "ap-guangzhou"})
    assert same.status_code == 422 and codes(same) == {("region", "same_region")}
    unknown = alice_api.post(f"images/{available['id']}/copy", json={"region": "mars-1"})
    assert unknown.status_code == 422 and codes(unknown) == {("region", "unknown")}
    assert Image.objects.count() == 1


def test_copy_of_an_image_not_available_is_409(alice_api, importing):
    image_id, _data = importing
    response = alice_api.post(f"images/{image_id}/copy", json={"region": "ap-shanghai"})
    assert response.status_code == 409 and codes(response) == {(None, "not_available")}


def test_copy_over_quota_is_413(alice_api, alice, available):
    org = alice.memberships.get().organization
    org.image_quota_bytes = available["stored_size"] + 1
    org.save()
    response = alice_api.post(f"images/{available['id']}/copy", json={"region": "ap-shanghai"})
    assert response.status_code == 413 and codes(response) == {("size", "quota_exceeded")}


def test_delete_removes_the_object(alice_api, available):
    assert stored_files(available["id"])
    response = alice_api.delete(f"images/{available['id']}")
    assert response.status_code == 204
    assert stored_files(available["id"]) == []
    assert alice_api.get(f"images/{available['id']}").status_code == 404
    assert alice_api.get("images").json() == []


def test_delete_while_importing_removes_the_staged_bytes(alice_api, importing):
    image_id, data = importing
    put(alice_api, image_id, data[:MiB], 0, len(data))
    assert alice_api.delete(f"images/{image_id}").status_code == 204
    assert stored_files(image_id) == []


def test_delete_of_an_image_a_product_sells_is_409_naming_the_product(alice, alice_api, available):
    from shelf.products.services import product_create

    org = alice.memberships.get().organization
    product_create(
        actor=alice,
        organization=org,
        changes={"name": "WordPress on Ubuntu", "deliveries": {"ap-guangzhou": available["id"]}},
    )
    response = alice_api.delete(f"images/{available['id']}")
    assert response.status_code == 409
    assert codes(response) == {(None, "in_use")}
    assert "“WordPress on Ubuntu”" in errors(response)[0]["message"]
    assert alice_api.get(f"images/{available['id']}").json()["status"] == "available"
    assert stored_files(available["id"])  # nothing was removed


# --------------------------------------------------------------------------- isolation


def test_another_provider_gets_404_everywhere(api, alice_api, bob, available, importing):
    bob_api = api(bob)
    image_id = importing[0]
    for target in (available["id"], image_id):
        assert bob_api.get(f"images/{target}").status_code == 404
        assert bob_api.get(f"images/{target}/upload").status_code == 404
        assert put(bob_api, target, b"x" * 10, 0).status_code == 404
        assert bob_api.post(f"images/{target}/upload/complete", json={"sha256": "0" * 64}).status_code == 404
        assert bob_api.delete(f"images/{target}/upload").status_code == 404
        response = bob_api.post(f"images/{target}/copy", json={"region": "ap-shanghai"})
        assert response.status_code == 404 and codes(response) == {(None, "not_found")}
        assert bob_api.delete(f"images/{target}").status_code == 404
    assert bob_api.get("images").json() == []
    # Nothing of alice's changed.
    assert alice_api.get(f"images/{available['id']}").json()["status"] == "available"
    assert alice_api.get(f"images/{image_id}/upload").json()["received"] == 0
    assert Image.objects.count() == 2


@pytest.mark.parametrize("who", ["olivia", "bruce"])
def test_buyers_and_operators_cannot_create_images(api, who, request):
    client = api(request.getfixturevalue(who))
    response = create(client, size=MiB)
    assert response.status_code == 404 and codes(response) == {(None, "not_found")}
    assert Image.objects.count() == 0


def test_buyer_sees_no_images(api, bruce, available):
    client = api(bruce)
    assert client.get("images").json() == []
    assert client.get(f"images/{available['id']}").status_code == 404


def test_anonymous_is_401(api, available):
    assert api(None).get("images").status_code == 401


# --------------------------------------------------------------------------- console


def test_console_lists_images_per_region_with_status_and_reason(
    web, alice, bob, alice_api, available, disk_files, django_capture_on_commit_callbacks
):
    data = disk_files["backing"].read_bytes()
    refused = create(alice_api, name="Broken overlay", format="qcow2", region="ap-shanghai", size=len(data)).json()
    put(alice_api, refused["id"], data, 0, len(data))
    complete(alice_api, refused["id"], hashlib.sha256(data).hexdigest(), django_capture_on_commit_callbacks)
    reason = Image.objects.get(pk=refused["id"]).failure_reason

    page = web(alice).get("/provider/images/")
    assert page.status_code == 200
    html = page.content.decode()
    guangzhou = html[html.index('id="region-ap-guangzhou"') : html.index('id="region-ap-shanghai"')]
    shanghai = html[html.index('id="region-ap-shanghai"') :].split("</section>")[0]
    assert available["name"] in guangzhou and "available" in guangzhou and "Broken overlay" not in guangzhou
    assert "Broken overlay" in shanghai and "failed" in shanghai
    from django.utils.html import escape

    assert escape(reason) in shanghai

    detail = web(alice).get(f"/provider/images/{available['id']}/")
    assert detail.status_code == 200 and available["sha256"] in detail.content.decode()
    bob_web = web(bob)
    assert bob_web.get(f"/provider/images/{available['id']}/").status_code == 404
    assert available["name"] not in bob_web.get("/provider/images/").content.decode()
    assert bob_web.post(f"/provider/images/{available['id']}/delete/").status_code == 404
    assert Image.objects.filter(pk=available["id"]).exists()


def test_console_copy_and_delete(web, alice, available, django_capture_on_commit_callbacks):
    client = web(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/provider/images/{available['id']}/copy/", {"region": "ap-beijing"})
    copy = Image.objects.get(region__code="ap-beijing")
    assert response.status_code == 302 and response["Location"] == f"/provider/images/{copy.pk}/"
    assert copy.status == "available" and copy.sha256 == available["sha256"]
    same = client.post(f"/provider/images/{available['id']}/copy/", {"region": "ap-guangzhou"}, follow=True)
    assert "already in ap-guangzhou" in same.content.decode()
    assert Image.objects.count() == 2

    response = client.post(f"/provider/images/{copy.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/provider/images/"
    assert not Image.objects.filter(pk=copy.pk).exists() and stored_files(copy.pk) == []
    assert client.get(f"/provider/images/{copy.pk}/delete/").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_two_uploads_of_unannounced_size_cannot_spend_the_same_quota(api, alice, monkeypatch):
    """Each chunk is reserved under the organisation's lock before it streams, so of two uploads sent at the same
    moment the second sees the first one's bytes. Both requests run at once, and each waits (briefly) after reading
    the usage for the other to read it too: without the lock both would read an empty quota and both be accepted."""
    from django.db import connection

    from shelf.images import services

    organization = alice.organizations.get()
    organization.image_quota_bytes = 1024 * 1024
    organization.save()
    client = api(alice)
    first = client.post("images", json={"name": "a", "region": "ap-guangzhou", "format": "raw"}).json()
    second = client.post("images", json={"name": "b", "region": "ap-guangzhou", "format": "raw"}).json()
    chunk = b"\0" * (600 * 1024)
    start, read_together = threading.Barrier(2), threading.Barrier(2, timeout=2)
    measured = services.organization_storage_used

    def used_then_wait(organization, **kwargs):
        used = measured(organization, **kwargs)
        try:
            read_together.wait()  # with the lock held the other request cannot get here: the wait times out
        except threading.BrokenBarrierError:
            pass
        return used

    monkeypatch.setattr(services, "organization_storage_used", used_then_wait)
    answers = {}

    def put(image):
        try:
            start.wait()
            answers[image["id"]] = client.client.put(
                image["upload"]["url"],
                data=chunk,
                content_type="application/octet-stream",
                headers={**client.headers, "Content-Range": f"bytes 0-{len(chunk) - 1}/*"},
            )
        finally:
            connection.close()  # this thread's own connection: left open it keeps the test database in use

    threads = [threading.Thread(target=put, args=(image,)) for image in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers.values()) == [200, 413]
    accepted, refused = sorted((first, second), key=lambda image: answers[image["id"]].status_code)
    assert codes(answers[refused["id"]]) == {("size", "quota_exceeded")}
    assert client.get(f"images/{refused['id']}").json()["status"] == "failed"
    assert client.get(f"images/{accepted['id']}").json()["stored_size"] == len(chunk)
