"""Hostile pictures through the real HTTP API: only pixels are stored and served."""

import io
import zipfile

from PIL import Image as PILImage
from PIL import PngImagePlugin

from tests.products.conftest import png_bytes
from tests.products.test_api import upload
from tests.s3 import downloaded


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def _download(client, url: str) -> bytes:
    status, body, _headers = downloaded(client.client.get(url, headers=client.headers))
    assert status == 200
    return body


def test_appended_archive_html_and_metadata_do_not_survive_the_upload(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "LAMP"}).json()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<html><body>tracking pixel</body></html>")
    info.add_text("Author", "x" * 2000, zip=True)
    picture = io.BytesIO()
    PILImage.new("RGB", (390, 260), (30, 120, 200)).save(picture, "PNG", dpi=(72, 72), pnginfo=info)
    hostile = picture.getvalue() + b"<html><script>alert(1)</script></html>" + _zip()

    response = upload(client, product["id"], "pictures", "shot.png", hostile)
    assert response.status_code == 201, response.content
    served = _download(client, response.json()["url"])
    assert b"PK\x03\x04" not in served and b"<html" not in served and b"tracking" not in served
    assert b"tEXt" not in served and b"zTXt" not in served
    with PILImage.open(io.BytesIO(served)) as clean:
        assert clean.size == (390, 260) and clean.format == "PNG" and round(clean.info["dpi"][0]) == 72
        assert clean.getpixel((10, 10)) == (30, 120, 200)
    body = response.json()
    assert body["size"] == len(served) and body["upload_sha256"] != body["sha256"]


def test_jpeg_exif_is_dropped_and_pixels_kept(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "LAMP"}).json()
    exif = PILImage.Exif()
    exif[0x010E] = "GPS and camera details"  # ImageDescription
    picture = io.BytesIO()
    PILImage.new("RGB", (390, 260), (200, 30, 30)).save(picture, "JPEG", dpi=(72, 72), exif=exif, quality=95)

    response = upload(client, product["id"], "pictures", "shot.jpg", picture.getvalue() + _zip())
    assert response.status_code == 201, response.content
    served = _download(client, response.json()["url"])
    assert b"GPS and camera" not in served and b"PK\x03\x04" not in served
    with PILImage.open(io.BytesIO(served)) as clean:
        assert clean.format == "JPEG" and clean.size == (390, 260) and not clean.getexif()
        assert all(abs(a - b) < 8 for a, b in zip(clean.getpixel((50, 50)), (200, 30, 30), strict=True))


def test_a_text_chunk_that_inflates_past_the_cap_is_refused(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "LAMP"}).json()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "A" * (512 * 1024), zip=True)  # 512 KiB of text in a few kB of zTXt (Pillow allows 1 MiB)
    picture = io.BytesIO()
    PILImage.new("RGB", (390, 260)).save(picture, "PNG", dpi=(72, 72), pnginfo=info)
    assert len(picture.getvalue()) < 100_000

    response = upload(client, product["id"], "pictures", "shot.png", picture.getvalue())
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "pictures" and error["code"] == "corrupt" and "too large" in error["message"].lower()


def test_the_same_file_again_is_known_by_its_upload_digest(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "LAMP"}).json()
    data = png_bytes()
    first = upload(client, product["id"], "pictures", "a.png", data).json()
    import hashlib

    assert first["upload_sha256"] == hashlib.sha256(data).hexdigest()


def test_a_document_is_judged_by_its_structure_not_a_marker_inside(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "LAMP"}).json()
    html = b"<html><body><!-- %PDF-1.7 --><script>fetch('https://evil.example/')</script></body></html>"
    response = upload(client, product["id"], "document", "guide.pdf", html)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (
        error["field"] == "document" and error["code"] == "corrupt" and "PDF reader cannot open it" in error["message"]
    )
    # A real PDF is accepted.
    from tests.products.conftest import PDF_BYTES

    assert upload(client, product["id"], "document", "guide.pdf", PDF_BYTES).status_code == 201
