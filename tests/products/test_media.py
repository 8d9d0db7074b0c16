"""Media rules for product pictures and documents; every input is generated here."""

import io
import stat
import struct
import time
import zipfile
import zlib

import pytest
from PIL import Image

from shelf.errors import RuleViolations, TooLarge
from shelf.products import media
from shelf.products.media import (
    DOCUMENT_MAX_BYTES,
    PICTURE_MAX_BYTES,
    check_document,
    check_picture,
    iter_chunks,
    read_limited,
)
from tests.products.conftest import PDF_BYTES, pdf_bytes

MiB = 1024 * 1024

# ------------------------------------------------------------------ builders


def png_bytes(size=(390, 260), dpi=(72, 72), mode="RGB", **options) -> bytes:
    out = io.BytesIO()
    if dpi is not None:
        options["dpi"] = dpi
    Image.new(mode, size, "teal").save(out, "PNG", **options)
    return out.getvalue()


def jpeg_bytes(size=(390, 260), dpi=(72, 72), mode="RGB", **options) -> bytes:
    out = io.BytesIO()
    if dpi is not None:
        options["dpi"] = dpi
    Image.new(mode, size, "teal" if mode == "RGB" else 0).save(out, "JPEG", **options)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def insert_after_ihdr(png: bytes, chunk: bytes) -> bytes:
    at = 8 + 25  # signature + IHDR chunk
    return png[:at] + chunk + png[at:]


def with_phys(png: bytes, x: int, y: int, unit: int = 1) -> bytes:
    """A PNG without pHYs given one with exactly the values we want (Pillow rounds dpi to px/m itself)."""
    return insert_after_ihdr(png, png_chunk(b"pHYs", struct.pack(">IIB", x, y, unit)))


def padded_png(total: int) -> bytes:
    """A valid 390 x 260, 72 dpi PNG padded to exactly `total` bytes with a private ancillary chunk."""
    base = png_bytes()
    filler = total - len(base) - 12  # length + type + CRC around the data
    data = insert_after_ihdr(base, png_chunk(b"shLf", b"\0" * filler))
    assert len(data) == total
    return data


def patch_ihdr(png: bytes, width: int, height: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def jfif_units(jpeg: bytes, unit: int, density: int) -> bytes:
    # APP0 JFIF: FFD8 FFE0 len(2) "JFIF\0" version(2) unit(1) xdensity(2) ydensity(2)
    assert jpeg[6:11] == b"JFIF\0"
    return jpeg[:13] + bytes([unit]) + struct.pack(">HH", density, density) + jpeg[18:]


def codes(excinfo) -> list[str]:
    return [violation.code for violation in excinfo.value.violations]


def zip_bytes(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_with_info(info: zipfile.ZipInfo, data: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(info, data)
    return out.getvalue()


PDF = PDF_BYTES


def ole(*stream_names: str) -> bytes:
    """A minimal OLE2 header followed by directory-style UTF-16LE names."""
    body = b"".join(name.encode("utf-16-le").ljust(64, b"\0") for name in stream_names)
    return media.OLE_SIGNATURE + b"\0" * 504 + body + b"\0" * 256


# ------------------------------------------------------------------ read_limited


def test_read_limited_stops_one_chunk_past_the_limit():
    consumed = 0

    def fifty_megabytes():
        nonlocal consumed
        for _ in range(50 * 16):  # 800 chunks of 64 KiB
            consumed += 1
            yield b"\0" * (64 * 1024)

    with pytest.raises(TooLarge) as excinfo:
        read_limited(fifty_megabytes(), 2 * MiB, field="document")
    assert consumed == 33  # 32 chunks fill 2 MiB exactly, the 33rd crosses it
    assert excinfo.value.code == "too_large"
    assert excinfo.value.field == "document"
    assert "2 MB" in excinfo.value.message and "smaller" in excinfo.value.message


def test_read_limited_accepts_exactly_the_limit_and_rewinds():
    data = bytes(range(256)) * 4096  # 1 MiB
    spool = read_limited([data[: 300 * 1024], data[300 * 1024 :]], len(data), field="pictures")
    with spool:
        assert spool.tell() == 0
        assert spool.read() == data


def test_read_limited_reads_a_file_object_at_most_limit_plus_one_bytes():
    class Counting(io.BytesIO):
        read_total = 0

        def read(self, size=-1):
            chunk = super().read(size)
            self.read_total += len(chunk)
            return chunk

    upload = Counting(b"\0" * (50 * MiB))
    with pytest.raises(TooLarge):
        read_limited(upload, 100_000, field="pictures")
    assert upload.read_total == 100_001


def test_iter_chunks_feeds_read_limited():
    source = io.BytesIO(b"abc" * 100_000)
    assert [len(c) for c in iter_chunks(io.BytesIO(b"x" * 10), size=4)] == [4, 4, 2]
    with read_limited(iter_chunks(source), 300_000, field="document") as spool:
        assert spool.read() == b"abc" * 100_000
    with pytest.raises(TooLarge):
        read_limited(iter_chunks(io.BytesIO(b"abc" * 100_000)), 299_999, field="document")


# ------------------------------------------------------------------ pictures


def test_png_at_72_dpi_passes():
    info = check_picture(io.BytesIO(png_bytes()))
    assert (info.format, info.width, info.height) == ("png", 390, 260)
    assert info.content_type == "image/png" and info.extension == ".png"
    assert round(info.dpi[0]) == 72 and info.size > 0


def test_jpeg_at_72_dpi_passes():
    info = check_picture(io.BytesIO(jpeg_bytes()))
    assert (info.format, info.content_type, info.extension) == ("jpeg", "image/jpeg", ".jpg")
    assert info.dpi == (72.0, 72.0)


def test_png_2835_pixels_per_metre_is_72_dpi():
    info = check_picture(io.BytesIO(with_phys(png_bytes(dpi=None), 2835, 2835)))
    assert info.dpi[0] == pytest.approx(72.009)


def test_jpeg_resolution_in_pixels_per_cm_and_exif():
    assert check_picture(io.BytesIO(jfif_units(jpeg_bytes(), 2, 28))).format == "jpeg"  # 28 px/cm is 72 dpi in JFIF
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(jfif_units(jpeg_bytes(), 2, 29)))
    assert codes(excinfo) == ["dpi"]
    assert "29 px/cm" in excinfo.value.violations[0].message

    exif = Image.Exif()
    exif[0x011A], exif[0x011B], exif[0x0128] = 72.0, 72.0, 2
    assert check_picture(io.BytesIO(jpeg_bytes(dpi=None, exif=exif.tobytes()))).dpi == (72.0, 72.0)
    exif[0x011A] = exif[0x011B] = 300.0
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(jpeg_bytes(dpi=None, exif=exif.tobytes())))
    assert codes(excinfo) == ["dpi"]


@pytest.mark.parametrize("size", [(389, 260), (391, 260), (390, 259), (390, 261), (260, 390)])
def test_picture_must_be_exactly_390_by_260(size):
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(png_bytes(size=size)))
    assert codes(excinfo) == ["size"]
    violation = excinfo.value.violations[0]
    assert violation.field == "pictures"
    assert f"{size[0]} x {size[1]}" in violation.message and "390 x 260" in violation.message


@pytest.mark.parametrize("dpi", [71, 73, 300])
def test_picture_must_be_72_dpi(dpi):
    for data in (png_bytes(dpi=(dpi, dpi)), jpeg_bytes(dpi=(dpi, dpi))):
        with pytest.raises(RuleViolations) as excinfo:
            check_picture(io.BytesIO(data))
        assert codes(excinfo) == ["dpi"]
        assert f"{dpi}" in excinfo.value.violations[0].message
        assert "-density 72" in excinfo.value.violations[0].message


def test_picture_without_resolution_metadata():
    aspect_only = with_phys(png_bytes(dpi=None), 1, 1, unit=0)  # pHYs unit 0 is an aspect ratio
    for data in (png_bytes(dpi=None), jpeg_bytes(dpi=None), aspect_only):
        with pytest.raises(RuleViolations) as excinfo:
            check_picture(io.BytesIO(data))
        assert codes(excinfo) == ["dpi_missing"]
        assert "-units PixelsPerInch -density 72" in excinfo.value.violations[0].message


def test_every_picture_violation_is_reported_at_once():
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(png_bytes(size=(400, 300), dpi=(300, 300))))
    assert codes(excinfo) == ["size", "dpi"]
    assert set(excinfo.value.by_field()) == {"pictures"}


def test_picture_name_is_irrelevant(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(png_bytes())
    with path.open("rb") as handle:
        assert check_picture(handle).format == "png"


@pytest.mark.parametrize(("fmt", "named"), [("GIF", "GIF"), ("WEBP", "WebP"), ("BMP", "BMP")])
def test_other_image_formats_are_refused(fmt, named):
    out = io.BytesIO()
    Image.new("RGB", (390, 260)).save(out, fmt)
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(out.getvalue()))
    assert codes(excinfo) == ["type"]
    assert named in excinfo.value.violations[0].message and "PNG or JPEG" in excinfo.value.violations[0].message


def test_empty_picture_is_refused():
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(b""))
    assert codes(excinfo) == ["empty"]


def test_picture_of_exactly_2_mb_passes_and_one_byte_more_is_refused():
    assert check_picture(io.BytesIO(padded_png(PICTURE_MAX_BYTES))).size == 2_097_152
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(padded_png(PICTURE_MAX_BYTES + 1)))
    assert codes(excinfo) == ["too_large"]
    assert "2,097,153 bytes" in excinfo.value.violations[0].message


def test_decompression_bomb_is_refused_quickly():
    bomb = patch_ihdr(png_bytes(dpi=None), 100_000, 100_000)
    started = time.monotonic()
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(bomb))
    assert time.monotonic() - started < 1
    assert "bomb" in codes(excinfo)
    assert "100000 x 100000" in excinfo.value.violations[-1].message


def test_jpeg_bomb_is_refused_from_its_frame_header():
    data = bytearray(jpeg_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)  # height, width
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(bytes(data)))
    assert "bomb" in codes(excinfo)


@pytest.mark.parametrize("builder", [png_bytes, jpeg_bytes])
def test_truncated_picture_is_refused(builder):
    data = builder()
    for cut in (len(data) // 2, len(data) - 20):
        with pytest.raises(RuleViolations) as excinfo:
            check_picture(io.BytesIO(data[:cut]))
        assert codes(excinfo) == ["corrupt"], cut


def test_png_with_a_bad_crc_is_refused():
    data = bytearray(png_bytes())
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(bytes(data)))
    assert codes(excinfo) == ["corrupt"]


def test_animated_png_is_refused():
    out = io.BytesIO()
    frames = [Image.new("RGB", (390, 260), colour) for colour in ("red", "blue")]
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], dpi=(72, 72))
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(out.getvalue()))
    assert codes(excinfo) == ["animated"]


def test_cmyk_jpeg_is_refused_and_grayscale_accepted():
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(jpeg_bytes(mode="CMYK")))
    assert codes(excinfo) == ["cmyk"]
    assert check_picture(io.BytesIO(jpeg_bytes(mode="L"))).format == "jpeg"
    assert check_picture(io.BytesIO(png_bytes(mode="RGBA"))).format == "png"


def test_check_picture_rewinds_the_file():
    handle = io.BytesIO(png_bytes())
    check_picture(handle)
    assert handle.tell() == 0 and not handle.closed


def test_picture_field_name_is_configurable():
    with pytest.raises(RuleViolations) as excinfo:
        check_picture(io.BytesIO(b"GIF89a" + b"\0" * 100), field="pictures.2")
    assert excinfo.value.violations[0].field == "pictures.2"


# ------------------------------------------------------------------ documents


def test_pdf_passes():
    info = check_document(io.BytesIO(PDF))
    assert (info.kind, info.content_type, info.extension, info.size) == ("pdf", "application/pdf", ".pdf", len(PDF))
    assert check_document(io.BytesIO(b"\0" * 500 + PDF)).kind == "pdf"  # a little junk before the header


def test_png_named_pdf_is_refused(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(png_bytes())
    with path.open("rb") as handle, pytest.raises(RuleViolations) as excinfo:
        check_document(handle)
    assert codes(excinfo) == ["type"]
    violation = excinfo.value.violations[0]
    assert violation.field == "document"
    assert "PDF, Word" in violation.message and "RAR" in violation.message


def test_docx_pptx_and_zip_by_content():
    content_types = b'<?xml version="1.0"?><Types/>'
    docx = zip_bytes({"[Content_Types].xml": content_types, "word/document.xml": b"<w:document/>"})
    pptx = zip_bytes({"[Content_Types].xml": content_types, "ppt/presentation.xml": b"<p:presentation/>"})
    plain = zip_bytes({"readme.txt": b"hello", "docs/guide.md": b"# Guide\n" * 1000})
    assert check_document(io.BytesIO(docx)).kind == "docx"
    assert check_document(io.BytesIO(pptx)).kind == "pptx"
    info = check_document(io.BytesIO(plain))
    assert (info.kind, info.content_type, info.extension) == ("zip", "application/zip", ".zip")
    empty = zip_bytes({})
    assert empty.startswith(b"PK\x05\x06") and check_document(io.BytesIO(empty)).kind == "zip"


def test_small_highly_compressible_entries_are_fine():
    assert check_document(io.BytesIO(zip_bytes({"blank.xml": b" " * 500_000}))).kind == "zip"


def test_zip_bomb_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.bin", "w") as member:
        for _ in range(50):
            member.write(b"\0" * MiB)
    assert len(out.getvalue()) < 200_000
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(out.getvalue()))
    assert codes(excinfo) == ["zip_bomb"]
    assert "zeros.bin" in excinfo.value.violations[0].message


def test_zip_declaring_too_much_in_total_is_refused():
    data = bytearray(zip_bytes({"a.bin": b"\0" * 10}, compression=zipfile.ZIP_STORED))
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 200 * MiB)  # declared uncompressed size
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(bytes(data)))
    assert "zip_bomb" in codes(excinfo)


def test_zip_lying_about_its_sizes_fails_the_crc_check():
    data = bytearray(zip_bytes({"a.txt": b"hello world " * 1000}))
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 100)  # claims 100 bytes, holds 12,000
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(bytes(data)))
    assert codes(excinfo) == ["corrupt"]


def test_zip_with_too_many_entries_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for number in range(media.ZIP_MAX_ENTRIES + 1):
            archive.writestr(f"{number}", b"")
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(out.getvalue()))
    assert codes(excinfo) == ["zip_bomb"]
    assert "10,001" in excinfo.value.violations[0].message


@pytest.mark.parametrize(
    "name", ["../evil", "docs/../../evil", "/etc/passwd", "..\\evil.txt", "\\\\server\\share", "C:/Windows/evil"]
)
def test_zip_with_unsafe_paths_is_refused(name):
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(zip_bytes({"ok.txt": b"fine", name: b"evil"})))
    assert codes(excinfo) == ["zip_path"]
    assert repr(name) in excinfo.value.violations[0].message


def test_zip_with_a_symlink_is_refused():
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(zip_with_info(info, b"/etc/passwd")))
    assert codes(excinfo) == ["zip_path"]


def test_encrypted_zip_entries_are_refused():
    data = bytearray(zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}))
    # Set the "encrypted" flag on every central-directory entry, as a password-protected archive would.
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + 8] |= 0x1
        at = data.find(b"PK\x01\x02", at + 4)
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(bytes(data)))
    assert codes(excinfo) == ["encrypted"]


def test_corrupt_zip_is_refused():
    data = zip_bytes({"a.txt": b"hello" * 1000})
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(data[: len(data) // 2]))
    assert codes(excinfo) == ["corrupt"]


@pytest.mark.parametrize("signature", [b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00"])
def test_rar_v4_and_v5_pass(signature):
    info = check_document(io.BytesIO(signature + b"\0" * 64))
    assert (info.kind, info.content_type, info.extension) == ("rar", "application/vnd.rar", ".rar")


def test_legacy_word_and_powerpoint():
    assert check_document(io.BytesIO(ole("Root Entry", "WordDocument", "1Table"))).kind == "doc"
    info = check_document(io.BytesIO(ole("Root Entry", "Current User", "PowerPoint Document")))
    assert (info.kind, info.content_type) == ("ppt", "application/vnd.ms-powerpoint")
    loose = media.OLE_SIGNATURE + b"junk" + "WordDocument".encode("utf-16-le")
    assert check_document(io.BytesIO(loose)).kind == "doc"


def test_ole_needs_the_signature_and_a_known_stream():
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(b"\0" * 512 + "WordDocument".encode("utf-16-le")))
    assert codes(excinfo) == ["type"]
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(ole("Root Entry", "Workbook")))  # Excel
    assert codes(excinfo) == ["type"]
    assert "Excel" in excinfo.value.violations[0].message
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(ole("Root Entry", "EncryptionInfo", "EncryptedPackage")))
    assert codes(excinfo) == ["encrypted"]


def test_document_of_exactly_2_mb_passes_and_one_byte_more_is_refused():
    exact = pdf_bytes(DOCUMENT_MAX_BYTES)
    assert check_document(io.BytesIO(exact)).size == 2_097_152
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(exact + b"x"))
    assert codes(excinfo) == ["too_large"]
    assert "2,097,153 bytes" in excinfo.value.violations[0].message


def test_oversized_unknown_file_reports_size_and_type():
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(b"MZ" + b"\0" * (3 * MiB)))
    assert codes(excinfo) == ["too_large", "type"]


def test_empty_document_is_refused():
    with pytest.raises(RuleViolations) as excinfo:
        check_document(io.BytesIO(b""))
    assert codes(excinfo) == ["empty"]


def test_check_document_rewinds_and_reads_a_spooled_upload():
    spool = read_limited(iter_chunks(io.BytesIO(PDF)), DOCUMENT_MAX_BYTES, field="document")
    with spool:
        assert check_document(spool).kind == "pdf"
        assert spool.tell() == 0
