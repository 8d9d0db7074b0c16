"""Media rules for product pictures and documents (wizard step 7, "Graphics and text").

Django-free on purpose: the console, the API and the CLI hand us a seekable binary
file and get back a small info record or a `RuleViolations` listing every broken
rule at once. Formats are decided by content only; a file name is never consulted
(the functions do not even take one).

Untrusted bytes are handled defensively:
- `read_limited` stops reading one byte past the limit, so an oversized upload is
  never copied whole;
- pictures: the declared dimensions are read from the PNG/JPEG header before
  Pillow sees the file, and pixels are only decoded for a 390 x 260 picture;
- ZIP-based documents are inspected in place (never extracted) with caps on entry
  count, declared size and compression ratio before any byte is inflated.

Messages are plain English; every one names the rule and how to fix it. Callers
that translate can key on `Violation.code`.
"""

from __future__ import annotations

import math
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from PIL import Image, PngImagePlugin

from shelf.errors import RuleViolations, TooLarge, Violation, raise_if

MiB = 1024 * 1024

CHUNK_SIZE = 64 * 1024
SPOOL_MAX_MEMORY = 256 * 1024  # uploads stay in memory up to this, then roll over to a temp file

PICTURE_MAX_BYTES = 2 * MiB  # the spec's "2 MB" is 2 MiB: 2,097,152 bytes allowed, one more refused
PICTURE_SIZE = (390, 260)
PICTURE_DPI = 72
# Anything declaring more pixels than this is refused unopened. Only exact 390 x 260
# pictures are ever decoded, so this mainly keeps Pillow's own bomb guard out of play.
PICTURE_MAX_PIXELS = 25_000_000
# PNG text chunks (zTXt, iTXt) are inflated by Pillow while it parses headers; cap what one chunk and all of
# them may inflate to (Pillow's defaults are 1 MiB and 64 MiB), so a small file cannot make us inflate much.
PngImagePlugin.MAX_TEXT_CHUNK = 64 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 256 * 1024
RESIZE_HINT = "e.g. `convert in.png -resize 390x260! out.png`"
DPI_HINT = "e.g. `convert in.png -units PixelsPerInch -density 72 out.png`"

DOCUMENT_MAX_BYTES = 2 * MiB
DOCUMENT_SNIFF_BYTES = 1024  # "%PDF-" may follow a little junk; readers look this far
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_TOTAL_BYTES = 100 * MiB  # sum of declared uncompressed sizes
ZIP_MAX_RATIO = 100
ZIP_RATIO_MIN_BYTES = 1 * MiB  # small entries (XML parts) may compress far better than 100:1

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # first local header, or an empty archive
RAR_SIGNATURES = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")  # RAR 4, RAR 5
PDF_MARKER = b"%PDF-"

# JPEG start-of-frame markers (C4 = DHT, C8 = JPG extension, CC = DAC are not frames).
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# JPEG markers that stand alone, without a length field.
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})

_PICTURE_TYPES = {"png": ("image/png", ".png"), "jpeg": ("image/jpeg", ".jpg")}
_DOCUMENT_TYPES = {
    "pdf": ("application/pdf", ".pdf"),
    "doc": ("application/msword", ".doc"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "ppt": ("application/vnd.ms-powerpoint", ".ppt"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
    "zip": ("application/zip", ".zip"),
    "rar": ("application/vnd.rar", ".rar"),
}
DOCUMENT_KINDS = tuple(_DOCUMENT_TYPES)
ACCEPTED_DOCUMENTS = "PDF, Word (.doc, .docx), PowerPoint (.ppt, .pptx), ZIP or RAR"

# Other formats we can name, so a refusal says what the file actually is.
_KNOWN_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (PDF_MARKER, "PDF"),
    (OLE_SIGNATURE, "a Microsoft Office file"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"Rar!", "a RAR archive"),
    (b"8BPS", "PSD"),
)

_Add = Callable[[str, str], None]  # the `add(code, message)` closure handed to inspectors

_LABELS = {"pictures": "Each picture", "document": "The document"}


# --------------------------------------------------------------------- reading


def iter_chunks(fileobj: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a file's bytes in chunks of at most `size` until EOF."""
    while chunk := fileobj.read(size):
        yield chunk


def read_limited(
    chunks: Iterable[bytes] | IO[bytes], limit: int, *, field: str
) -> tempfile.SpooledTemporaryFile[bytes]:
    """Copy an upload into a spooled temp file, refusing it once it exceeds `limit` bytes.

    Stops at the chunk that crosses the limit, so a 50 MB upload is never read whole.
    A file object is read in pieces no larger than what is still allowed plus one byte,
    so at most `limit + 1` bytes are read from it. The result is rewound to 0.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # closed by the caller
    total = 0
    try:
        for chunk in _bounded(chunks, limit):
            total += len(chunk)
            if total > limit:
                raise TooLarge(
                    f"{_label(field)} must be at most {_human(limit)} ({limit:,} bytes); this upload is larger. "
                    "Upload a smaller file.",
                    code="too_large",
                    field=field,
                )
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _bounded(chunks: Iterable[bytes] | IO[bytes], limit: int) -> Iterator[bytes]:
    if not hasattr(chunks, "read"):
        yield from chunks  # type: ignore[misc]
        return
    fileobj: IO[bytes] = chunks  # type: ignore[assignment]
    left = limit + 1  # one byte past the limit is enough to know it is too large
    while left > 0 and (chunk := fileobj.read(min(CHUNK_SIZE, left))):
        left -= len(chunk)
        yield chunk


# -------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class PictureInfo:
    format: str  # "png" | "jpeg"
    width: int
    height: int
    dpi: tuple[float, float]  # as stored, e.g. (72.009, 72.009) for PNG's 2835 px/m
    size: int  # bytes
    content_type: str
    extension: str  # with the dot: ".png" | ".jpg"


def check_picture(fileobj: IO[bytes], *, field: str = "pictures") -> PictureInfo:
    """Check one product picture against every picture rule; raise `RuleViolations` listing all failures.

    Rules: PNG or JPEG by content; at most 2 MB; exactly 390 x 260 px; 72 dpi;
    a single still frame; RGB or grayscale (CMYK JPEGs are refused: browsers
    render them inconsistently, often with wrong colours); fully decodable.
    The file object is rewound to 0 afterwards.
    """
    try:
        return _check_picture(fileobj, field)
    finally:
        fileobj.seek(0)


def _check_picture(fileobj: IO[bytes], field: str) -> PictureInfo:
    size = _size_of(fileobj)
    violations: list[Violation] = []

    def add(code: str, message: str) -> None:
        violations.append(Violation(field, code, message))

    too_large = size > PICTURE_MAX_BYTES
    if too_large:
        add(
            "too_large",
            f"A picture may be at most {_human(PICTURE_MAX_BYTES)} ({PICTURE_MAX_BYTES:,} bytes); this one is "
            f"{_human(size)} ({size:,} bytes). Export it again at 390 x 260 px with more compression.",
        )
    fileobj.seek(0)
    head = fileobj.read(16)
    fmt = "png" if head.startswith(PNG_SIGNATURE) else "jpeg" if head.startswith(JPEG_SIGNATURE) else None
    if size == 0:
        add("empty", "The picture file is empty. Upload a PNG or JPEG picture of 390 x 260 px.")
        raise RuleViolations(violations)
    if fmt is None:
        add(
            "type",
            f"A picture must be a PNG or JPEG image; this file's content is {_describe(head)} "
            "(the file name does not count). Export it as PNG or JPEG.",
        )
        raise RuleViolations(violations)

    declared = _png_declared_size(fileobj) if fmt == "png" else _jpeg_declared_size(fileobj)
    if declared is not None and declared[0] * declared[1] > PICTURE_MAX_PIXELS:
        add("size", _size_message(*declared))
        add("bomb", _bomb_message(declared))
        raise RuleViolations(violations)

    # Header-level facts. Image.open is lazy: it parses headers, it does not decode pixels.
    try:
        fileobj.seek(0)
        with Image.open(fileobj, formats=["PNG"] if fmt == "png" else ["JPEG"]) as img:
            width, height = img.size
            mode = img.mode
            frames = getattr(img, "n_frames", 1)
            resolution = _png_resolution(img) if fmt == "png" else _jpeg_resolution(img)
            if not too_large:
                img.verify()  # PNG: every chunk's CRC up to IEND; must run right after open
    except Image.DecompressionBombError:
        add("bomb", _bomb_message(declared))
        raise RuleViolations(violations) from None
    except Exception as exc:  # any failure to parse untrusted bytes means "corrupt"
        add("corrupt", _corrupt_message(fmt, exc))
        raise RuleViolations(violations) from None
    if width * height > PICTURE_MAX_PIXELS:  # header parse disagreed with ours: trust the larger
        add("size", _size_message(width, height))
        add("bomb", _bomb_message((width, height)))
        raise RuleViolations(violations)

    if (width, height) != PICTURE_SIZE:
        add("size", _size_message(width, height))
    if resolution is None:
        add(
            "dpi_missing",
            f"A picture must be {PICTURE_DPI} dpi, but this one stores no resolution. "
            f"Set the resolution to {PICTURE_DPI} dpi when exporting, {DPI_HINT}.",
        )
    elif not resolution.ok:
        add(
            "dpi",
            f"A picture must be {PICTURE_DPI} dpi; this one is {resolution.shown}. "
            f"Set the resolution to {PICTURE_DPI} dpi when exporting, {DPI_HINT}.",
        )
    if frames > 1:
        add(
            "animated",
            f"A picture must be a single still image; this one has {frames} frames. Export one frame as PNG or JPEG.",
        )
    if mode == "CMYK":
        add(
            "cmyk",
            "A picture must use RGB or grayscale colours; this JPEG is CMYK, which browsers show with wrong colours. "
            "Convert it to sRGB, e.g. `convert in.jpg -colorspace sRGB out.jpg`.",
        )

    # Decode the pixels only when everything else allows it: a 390 x 260 picture is cheap to
    # decode, and a wrong-sized one is refused anyway. This catches truncated JPEG data.
    if not too_large and (width, height) == PICTURE_SIZE:
        try:
            fileobj.seek(0)
            with Image.open(fileobj, formats=["PNG"] if fmt == "png" else ["JPEG"]) as img:
                img.load()
        except Exception as exc:  # see above
            add("corrupt", _corrupt_message(fmt, exc))

    raise_if(violations)
    content_type, extension = _PICTURE_TYPES[fmt]
    assert resolution is not None
    return PictureInfo(
        format=fmt,
        width=width,
        height=height,
        dpi=resolution.dpi,
        size=size,
        content_type=content_type,
        extension=extension,
    )


def sha256_of(fileobj: IO[bytes]) -> str:
    """The SHA-256 of a whole seekable file, read in chunks; the file is rewound afterwards."""
    import hashlib

    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter_chunks(fileobj):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def reencode_picture(fileobj: IO[bytes], info: PictureInfo) -> tuple[IO[bytes], PictureInfo]:
    """The picture's pixels, and nothing else, encoded anew in its format at 72 dpi.

    What is stored and served is this re-encoding, never the upload: bytes after the image's end (an appended
    archive or HTML page), metadata (EXIF with GPS, comments, colour profiles) and odd chunks do not survive.
    Call it with a picture `check_picture` accepted.
    """
    import io

    fileobj.seek(0)
    with Image.open(fileobj, formats=["PNG"] if info.format == "png" else ["JPEG"]) as img:
        img.load()
        keep = ("RGB", "RGBA", "L", "LA") if info.format == "png" else ("RGB", "L")
        pixels = img if img.mode in keep else img.convert("RGBA" if info.format == "png" else "RGB")
        clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # a fresh image: no info carried
    out = io.BytesIO()
    if info.format == "png":
        clean.save(out, "PNG", dpi=(PICTURE_DPI, PICTURE_DPI), optimize=True)
    else:
        clean.save(out, "JPEG", dpi=(PICTURE_DPI, PICTURE_DPI), quality=95)
    out.seek(0)
    size = len(out.getbuffer())
    dpi = (float(PICTURE_DPI), float(PICTURE_DPI))
    return out, PictureInfo(info.format, info.width, info.height, dpi, size, info.content_type, info.extension)


@dataclass(frozen=True)
class _Resolution:
    dpi: tuple[float, float]
    ok: bool
    shown: str  # for messages, in the file's own unit when that is not dpi


def _dpi_ok(value: float) -> bool:
    # Nearest integer: PNG stores 72 dpi as 2835 px/m, which reads back as 72.009.
    return math.isfinite(value) and round(value) == PICTURE_DPI


def _format_dpi(dpi: tuple[float, float]) -> str:
    x, y = (f"{value:.1f}".removesuffix(".0") for value in dpi)  # 2795 px/m reads as "71", not "70.993"
    return f"{x} dpi" if x == y else f"{x} x {y} dpi"


def _png_resolution(img: Image.Image) -> _Resolution | None:
    # Pillow sets "dpi" only for a pHYs chunk in pixels per metre; unit 0 is an aspect ratio, not a resolution.
    dpi = img.info.get("dpi")
    if not dpi:
        return None
    pair = (float(dpi[0]), float(dpi[1]))
    return _Resolution(pair, all(_dpi_ok(v) for v in pair), _format_dpi(pair))


def _jpeg_resolution(img: Image.Image) -> _Resolution | None:
    # Read JFIF and EXIF ourselves: Pillow's info["dpi"] falls back to 72 when EXIF lacks a resolution,
    # which would hide a missing one.
    unit, density = img.info.get("jfif_unit"), img.info.get("jfif_density")
    if unit in (1, 2) and density:
        if unit == 1:
            pair = (float(density[0]), float(density[1]))
            return _Resolution(pair, all(_dpi_ok(v) for v in pair), _format_dpi(pair))
        # JFIF stores whole pixels per cm, so 72 dpi (28.35 px/cm) can only be written as 28.
        pair = (density[0] * 2.54, density[1] * 2.54)
        per_cm = round(PICTURE_DPI / 2.54)
        shown = f"{density[0]} px/cm ({_format_dpi(pair)})"
        return _Resolution(pair, density[0] == per_cm and density[1] == per_cm, shown)
    try:
        exif = img.getexif()
        x, y = exif.get(0x011A), exif.get(0x011B)  # XResolution, YResolution
        exif_unit = exif.get(0x0128, 2)  # ResolutionUnit: 2 = inch (the EXIF default), 3 = cm
        if x is None or exif_unit not in (2, 3):
            return None
        factor = 2.54 if exif_unit == 3 else 1.0
        pair = (float(x) * factor, float(y if y is not None else x) * factor)
    except Exception:  # unreadable EXIF carries no usable resolution
        return None
    if not all(math.isfinite(v) for v in pair):
        return None
    return _Resolution(pair, all(_dpi_ok(v) for v in pair), _format_dpi(pair))


def _png_declared_size(fileobj: IO[bytes]) -> tuple[int, int] | None:
    # IHDR must be the first chunk: 8-byte signature, length, "IHDR", width, height (big-endian).
    fileobj.seek(8)
    chunk = fileobj.read(16)
    if len(chunk) < 16 or chunk[4:8] != b"IHDR":
        return None  # Pillow will refuse it as corrupt
    return int.from_bytes(chunk[8:12], "big"), int.from_bytes(chunk[12:16], "big")


def _jpeg_declared_size(fileobj: IO[bytes]) -> tuple[int, int] | None:
    """Walk JPEG marker segments up to the first start-of-frame and return its width and height."""
    fileobj.seek(2)  # past SOI
    while True:
        if fileobj.read(1) != b"\xff":
            return None
        marker = fileobj.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fileobj.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in _JPEG_STANDALONE:
            continue
        if code in (0xD9, 0xDA):  # EOI or scan data before any frame header
            return None
        length_bytes = fileobj.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if length < 2:
            return None
        if code in _JPEG_SOF:
            frame = fileobj.read(5)  # precision, height, width
            if len(frame) < 5:
                return None
            return int.from_bytes(frame[3:5], "big"), int.from_bytes(frame[1:3], "big")
        fileobj.seek(length - 2, 1)


def _size_message(width: int, height: int) -> str:
    w, h = PICTURE_SIZE
    return (
        f"A picture must be exactly {w} x {h} px; this one is {width} x {height} px. "
        f"Resize or crop it to {w} x {h} px, {RESIZE_HINT}."
    )


def _bomb_message(declared: tuple[int, int] | None) -> str:
    dimensions = f" {declared[0]} x {declared[1]} px," if declared else ""
    return (
        f"The picture declares{dimensions} far more than the {PICTURE_MAX_PIXELS:,} pixels "
        "we will decode, so it was refused without decoding. Export it at 390 x 260 px."
    )


def _corrupt_message(fmt: str, exc: Exception) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return (
        f"The {fmt.upper()} picture could not be decoded ({reason[:120]}); it may be truncated or damaged. "
        "Export it again and upload the new file."
    )


# ------------------------------------------------------------------- documents


@dataclass(frozen=True)
class DocumentInfo:
    kind: str  # one of DOCUMENT_KINDS
    content_type: str
    extension: str  # with the dot, e.g. ".pdf"
    size: int  # bytes


def check_document(fileobj: IO[bytes], *, field: str = "document") -> DocumentInfo:
    """Check a product document; raise `RuleViolations` listing every failure.

    Rules: PDF, Word, PowerPoint, ZIP or RAR by content; at most 2 MB; a PDF must open in a PDF parser and have
    a page; ZIP-based
    files (zip, docx, pptx) must be intact, not encrypted, not a zip bomb and hold
    only safe relative paths. RAR is accepted by signature alone (no RAR reader is
    bundled), so its content is not inspected. An oversized file is only sniffed,
    not inspected in depth. The file object is rewound to 0 afterwards.
    """
    try:
        return _check_document(fileobj, field)
    finally:
        fileobj.seek(0)


def _check_document(fileobj: IO[bytes], field: str) -> DocumentInfo:
    size = _size_of(fileobj)
    violations: list[Violation] = []

    def add(code: str, message: str) -> None:
        violations.append(Violation(field, code, message))

    too_large = size > DOCUMENT_MAX_BYTES
    if too_large:
        add(
            "too_large",
            f"The document may be at most {_human(DOCUMENT_MAX_BYTES)} ({DOCUMENT_MAX_BYTES:,} bytes); this one is "
            f"{_human(size)} ({size:,} bytes). Compress it, or split it and link the rest from the details.",
        )
    if size == 0:
        add("empty", f"The document file is empty. Upload a {ACCEPTED_DOCUMENTS} file.")
        raise RuleViolations(violations)

    fileobj.seek(0)
    head = fileobj.read(DOCUMENT_SNIFF_BYTES)
    kind: str | None
    if head.startswith(ZIP_SIGNATURES):
        kind = None if too_large else _zip_kind(fileobj, add)
    elif head.startswith(OLE_SIGNATURE):
        kind = None if too_large else _ole_kind(fileobj, add)
    elif head.startswith(RAR_SIGNATURES):
        kind = "rar"
    elif PDF_MARKER in head:
        kind = None if too_large else _pdf_kind(fileobj, add)
    else:
        add(
            "type",
            f"The document must be a {ACCEPTED_DOCUMENTS} file; this file's content is {_describe(head)} "
            "(the file name does not count). Save or export it in one of those formats.",
        )
        kind = None

    raise_if(violations)
    assert kind is not None
    content_type, extension = _DOCUMENT_TYPES[kind]
    return DocumentInfo(kind=kind, content_type=content_type, extension=extension, size=size)


def _pdf_kind(fileobj: IO[bytes], add: _Add) -> str | None:
    """A PDF is a file a PDF parser opens, with at least one page a buyer can read; a marker is not enough."""
    import logging

    from pypdf import PdfReader

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # repairs of slightly broken files are not our log's business
    try:
        fileobj.seek(0)
        reader = PdfReader(fileobj, strict=False)
        if reader.is_encrypted:
            add(
                "encrypted",
                "The PDF is password-protected, so buyers could not read it. Save it without a password and upload it again.",
            )
            return None
        pages = len(reader.pages)
    except Exception as exc:  # any failure to parse untrusted bytes means "not a PDF we can offer"
        reason = str(exc).strip() or type(exc).__name__
        add(
            "corrupt",
            f"The document starts like a PDF but a PDF reader cannot open it ({reason[:120]}). "
            "Export it to PDF again and upload the new file.",
        )
        return None
    finally:
        pypdf_log.setLevel(level)
    if pages < 1:
        add("corrupt", "The PDF has no pages. Export the guide to PDF again and upload the new file.")
        return None
    return "pdf"


def _ole_kind(fileobj: IO[bytes], add: _Add) -> str | None:
    """Tell a legacy Word file from a PowerPoint one by the stream names in the OLE2 directory.

    Directory entries hold names in UTF-16LE; scanning for them is a heuristic that
    avoids a full compound-file parser. When both appear (an embedded object), the
    first one wins: the top-level stream is normally written first.
    """
    fileobj.seek(0)
    data = fileobj.read()
    found = {
        kind: data.find(name.encode("utf-16-le"))
        for kind, name in (("doc", "WordDocument"), ("ppt", "PowerPoint Document"))
    }
    present = {kind: pos for kind, pos in found.items() if pos >= 0}
    if present:
        return min(present, key=lambda kind: present[kind])
    if data.find("EncryptedPackage".encode("utf-16-le")) >= 0:
        add(
            "encrypted",
            "The document is password-protected, so reviewers and buyers cannot open it. "
            "Remove the password (in Office: File > Info > Protect > Encrypt with Password, clear it) and upload again.",
        )
        return None
    add(
        "type",
        "The document is a Microsoft Office file but not a Word or PowerPoint document (an Excel workbook, "
        f"for example). Upload a {ACCEPTED_DOCUMENTS} file instead.",
    )
    return None


def _zip_kind(fileobj: IO[bytes], add: _Add) -> str | None:
    fileobj.seek(0)
    try:
        archive = zipfile.ZipFile(fileobj)
    except Exception as exc:  # any failure to parse untrusted bytes means "corrupt"
        add("corrupt", _zip_corrupt_message(exc))
        return None
    with archive:
        entries = archive.infolist()
        bomb = False
        if len(entries) > ZIP_MAX_ENTRIES:
            bomb = True
            add(
                "zip_bomb",
                f"An archive may hold at most {ZIP_MAX_ENTRIES:,} entries; this one has {len(entries):,}. "
                "Pack fewer files, e.g. group them into fewer documents.",
            )
        total = sum(entry.file_size for entry in entries)
        if total > ZIP_MAX_TOTAL_BYTES:
            bomb = True
            add(
                "zip_bomb",
                f"An archive may unpack to at most {_human(ZIP_MAX_TOTAL_BYTES)}; this one declares "
                f"{_human(total)}. Remove the largest files or ship them another way.",
            )
        dense = [
            entry.filename
            for entry in entries
            if entry.file_size > ZIP_RATIO_MIN_BYTES and entry.file_size > ZIP_MAX_RATIO * max(entry.compress_size, 1)
        ]
        if dense:
            bomb = True
            add(
                "zip_bomb",
                f"An archive entry larger than {_human(ZIP_RATIO_MIN_BYTES)} may compress at most "
                f"{ZIP_MAX_RATIO}:1; {_names(dense)} compress(es) far more, like a zip bomb. Remove them.",
            )
        unsafe = [entry.filename for entry in entries if _unsafe_entry(entry)]
        if unsafe:
            add(
                "zip_path",
                f"Archive entries must be plain relative paths (no absolute paths, drive letters, '..' or "
                f"symbolic links); {_names(unsafe)} break(s) this. Re-create the archive from a folder of files.",
            )
        encrypted = [entry.filename for entry in entries if entry.flag_bits & 0x1]
        if encrypted:
            add(
                "encrypted",
                f"Archive entries must not be password-protected, so reviewers and buyers can open them; "
                f"{_names(encrypted)} are encrypted. Re-create the archive without a password.",
            )
        # Inflate every readable entry once to check its CRC. Safe because the caps above bound the
        # declared sizes, and zipfile never yields more than an entry declares (a lie fails the CRC).
        if not bomb:
            for entry in entries:
                if entry.is_dir() or entry.flag_bits & 0x1:
                    continue
                try:
                    with archive.open(entry) as member:
                        while member.read(CHUNK_SIZE):
                            pass
                except NotImplementedError:
                    continue  # a compression method Python lacks (e.g. Deflate64): cannot verify, not wrong
                except Exception as exc:  # see above
                    add("corrupt", _zip_corrupt_message(exc, entry.filename))
                    return None
        names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return "docx"
        if "ppt/presentation.xml" in names:
            return "pptx"
    return "zip"


def _unsafe_entry(entry: zipfile.ZipInfo) -> bool:
    name = entry.filename
    if stat.S_ISLNK(entry.external_attr >> 16):  # Unix mode bits live in the high 16 bits
        return True
    if name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        return True
    # Split on both separators: Windows extractors treat a backslash as one.
    parts = name.replace("\\", "/").split("/")
    return ".." in parts


def _zip_corrupt_message(exc: Exception, name: str | None = None) -> str:
    reason = str(exc).strip() or type(exc).__name__
    where = f" (entry {name!r})" if name else ""
    return (
        f"The archive is damaged and cannot be read{where}: {reason[:120]}. "
        "Create the file again and upload the new copy."
    )


# --------------------------------------------------------------------- helpers


def _size_of(fileobj: IO[bytes]) -> int:
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


def _label(field: str) -> str:
    return _LABELS.get(field, "The file")


def _human(size: int) -> str:
    if size >= MiB:
        return f"{size / MiB:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"


def _names(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(repr(name) for name in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _describe(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp":
        return "HEIC/AVIF"
    for magic, name in _KNOWN_MAGIC:
        if head.startswith(magic):
            return name
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "SVG/XML"
    return "not a recognised format"
