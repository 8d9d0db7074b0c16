"""Upload validation against real images built with qemu-img, and hostile ones crafted from them.

Every file a test creates, including the "other" files hostile images point at, lives in tmp_path.
"""

import random
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import pytest

from shelf.images import inspection
from shelf.images.inspection import FORMATS, ImageFacts, ImageRejected, inspect_image, sniff_format

if shutil.which("qemu-img") is None or shutil.which("mkfs.ext4") is None:
    pytest.skip("qemu-img and mkfs.ext4 are needed", allow_module_level=True)

MiB = 1024**2
DISK_SIZE = 8 * MiB
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def run(*args: str | Path) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()


def qemu_img(*args: str | Path) -> None:
    run("qemu-img", *args)


def rejected(path: Path, fmt: str, code: str, **kwargs) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        inspect_image(path, fmt, **kwargs)
    assert info.value.code == code, info.value.message
    assert str(path.parent) not in info.value.message  # server paths never leak to the provider
    return info.value


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """An 8 MiB ext4 disk with a few files, in every accepted format (built once: conversion is the slow part)."""
    root = tmp_path_factory.mktemp("images")
    content = root / "content"
    content.mkdir()
    (content / "hello.txt").write_text("hello\n")
    (content / "data.bin").write_bytes(bytes(range(256)) * 400)
    raw = root / "disk.raw"
    raw.write_bytes(b"")
    run("truncate", "-s", "8M", raw)
    run("mkfs.ext4", "-q", "-F", "-d", content, raw, "8M")
    built = {"raw": raw}
    for name, args in {
        "qcow2": ["-O", "qcow2"],
        "qcow2v2": ["-O", "qcow2", "-o", "compat=0.10"],
        "vmdk": ["-O", "vmdk"],
        "vmdk-stream": ["-O", "vmdk", "-o", "subformat=streamOptimized"],
        "vhd": ["-O", "vpc"],
        "vhd-fixed": ["-O", "vpc", "-o", "subformat=fixed"],
        "vhdx": ["-O", "vhdx"],
    }.items():
        built[name] = root / f"disk.{name}"
        qemu_img("convert", "-f", "raw", *args, raw, built[name])
    return built


def copy(images: dict[str, Path], name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"upload-{name}"
    shutil.copyfile(images[name], target)
    return target


# --------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("raw", "raw"),
        ("qcow2", "qcow2"),
        ("qcow2v2", "qcow2"),
        ("vmdk", "vmdk"),
        ("vmdk-stream", "vmdk"),
        ("vhd", "vhd"),
        ("vhd-fixed", "vhd"),
        ("vhdx", "vhdx"),
    ],
)
def test_real_images_are_accepted(images, name, fmt):
    facts = inspect_image(images[name], fmt)
    assert isinstance(facts, ImageFacts)
    assert facts.format == fmt
    assert facts.file_size == images[name].stat().st_size
    assert facts.check_leaks == 0
    if fmt == "vhd":
        # qemu sizes VHDs by their CHS geometry, which rounds 8 MiB up a little.
        assert DISK_SIZE <= facts.virtual_size < DISK_SIZE + MiB
        assert facts.virtual_size % 512 == 0
    else:
        assert facts.virtual_size == DISK_SIZE


def test_sniff_format(images, tmp_path):
    for name, fmt in [
        ("raw", "raw"),
        ("qcow2", "qcow2"),
        ("vmdk", "vmdk"),
        ("vmdk-stream", "vmdk"),
        ("vhd", "vhd"),
        ("vhd-fixed", "vhd"),
        ("vhdx", "vhdx"),
    ]:
        assert sniff_format(images[name]) == fmt, name
    assert set(FORMATS) == {"qcow2", "raw", "vmdk", "vhd", "vhdx"}
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sniff_format(empty) is None
    png = tmp_path / "picture"
    png.write_bytes(PNG)
    assert sniff_format(png) == "raw"
    descriptor = tmp_path / "descriptor"
    descriptor.write_bytes(b'# just a comment\n\nversion=1\nRW 16 FLAT "x" 0\n')
    assert sniff_format(descriptor) == "vmdk"  # what qemu's vmdk probe accepts


# --------------------------------------------------------------------------- wrong or no format


def test_empty_file(tmp_path):
    empty = tmp_path / "upload"
    empty.write_bytes(b"")
    rejected(empty, "qcow2", "empty")


def test_unknown_declared_format(images):
    rejected(images["raw"], "iso", "unknown_format")


@pytest.mark.parametrize(
    ("name", "declared", "found"),
    [
        ("raw", "qcow2", "raw"),
        ("qcow2", "vmdk", "QCOW2"),
        ("vmdk", "qcow2", "VMDK"),
        ("vhdx", "vhd", "VHDX"),
        ("qcow2", "raw", "QCOW2"),
        ("vhd-fixed", "raw", "VHD"),
        ("vhd", "raw", "VHD"),
        ("vmdk", "raw", "VMDK"),
    ],
)
def test_format_mismatch_names_both(images, name, declared, found):
    error = rejected(images[name], declared, "format_mismatch")
    assert found in error.message


def test_png_is_not_a_qcow2(tmp_path):
    png = tmp_path / "upload"
    png.write_bytes(PNG)
    rejected(png, "qcow2", "format_mismatch")
    # As raw it is just bytes, but not whole sectors.
    rejected(png, "raw", "truncated")
    png.write_bytes(PNG.ljust(4096, b"\0"))
    rejected(png, "raw", "no_disk_layout")


def test_raw_disk_with_qcow2_magic_is_not_raw(images, tmp_path):
    """A "raw" upload must not smuggle a qcow2 header (with a backing file) to tools that probe."""
    qemu_img("create", "-q", "-f", "qcow2", tmp_path / "base.qcow2", "8M")
    qemu_img("create", "-q", "-f", "qcow2", "-b", tmp_path / "base.qcow2", "-F", "qcow2", tmp_path / "top.qcow2")
    disk = tmp_path / "upload"
    data = bytearray(images["raw"].read_bytes())
    top = (tmp_path / "top.qcow2").read_bytes()[:4096]
    data[: len(top)] = top
    disk.write_bytes(data)
    rejected(disk, "raw", "format_mismatch")


def test_other_qemu_formats_are_refused_even_as_raw(tmp_path):
    qed = tmp_path / "upload"
    qed.write_bytes(b"QED\x00".ljust(4096, b"\0"))
    error = rejected(qed, "raw", "unknown_format")
    assert "QED" in error.message


# --------------------------------------------------------------------------- references to other files


def test_qcow2_backing_file(tmp_path):
    qemu_img("create", "-q", "-f", "qcow2", tmp_path / "base.qcow2", "8M")
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", tmp_path / "base.qcow2", "-F", "qcow2", top)
    error = rejected(top, "qcow2", "backing_file")
    assert "base.qcow2" in error.message and "qemu-img convert" in error.message


def test_qcow2_external_data_file(tmp_path):
    data_file = tmp_path / "data.bin"  # qemu-img truncates it: it must be ours
    image = tmp_path / "upload"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={data_file}", image, "8M")
    rejected(image, "qcow2", "data_file")
    # The header extension alone (feature bit cleared) is refused too.
    raw = bytearray(image.read_bytes())
    struct.pack_into(">Q", raw, 72, struct.unpack_from(">Q", raw, 72)[0] & ~4)
    image.write_bytes(raw)
    rejected(image, "qcow2", "data_file")


@pytest.mark.parametrize("subformat", ["monolithicFlat", "twoGbMaxExtentSparse"])
def test_vmdk_descriptor_with_extent_files(tmp_path, subformat):
    descriptor = tmp_path / "upload.vmdk"
    qemu_img("create", "-q", "-f", "vmdk", "-o", f"subformat={subformat}", descriptor, "8M")
    rejected(descriptor, "vmdk", "vmdk_extent")


def test_vmdk_child_of_parent(tmp_path):
    qemu_img("create", "-q", "-f", "vmdk", tmp_path / "base.vmdk", "8M")
    child = tmp_path / "child.vmdk"
    qemu_img("create", "-q", "-f", "vmdk", "-b", tmp_path / "base.vmdk", "-F", "vmdk", child)
    error = rejected(child, "vmdk", "vmdk_parent")
    assert "base.vmdk" in error.message


def _rewrite_vmdk_descriptor(path: Path, descriptor: str, capacity: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    _magic, _version, _flags, cap, _grain, desc_offset, desc_size = struct.unpack_from("<4sIIQQQQ", data, 0)
    text = descriptor.encode()
    assert len(text) < desc_size * 512
    data[desc_offset * 512 : (desc_offset + desc_size) * 512] = text.ljust(desc_size * 512, b"\0")
    if capacity is not None:
        struct.pack_into("<Q", data, 12, capacity)
    path.write_bytes(data)


DESCRIPTOR = '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID={parent}\ncreateType="{kind}"\n{extents}\n'


def test_vmdk_sparse_with_zero_capacity_defers_to_descriptor(images, tmp_path):
    """qemu follows the embedded descriptor's extents when capacity is 0: a way to read any host file."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret".ljust(8192, b"\0"))
    image = copy(images, "vmdk", tmp_path)
    extents = f'RW 16 FLAT "{secret}" 0'
    _rewrite_vmdk_descriptor(image, DESCRIPTOR.format(parent="ffffffff", kind="monolithicFlat", extents=extents), 0)
    rejected(image, "vmdk", "vmdk_extent")


@pytest.mark.parametrize(
    ("kind", "extents", "parent", "code"),
    [
        ("monolithicSparse", 'RW 16384 SPARSE "a.vmdk"\nRW 16384 SPARSE "b.vmdk"', "ffffffff", "vmdk_extent"),
        ("monolithicSparse", 'RW 16384 FLAT "other.bin" 0', "ffffffff", "vmdk_extent"),
        ("vmfs", 'RW 16384 SPARSE "a.vmdk"', "ffffffff", "vmdk_extent"),
        ("monolithicSparse", 'RW 16384 SPARSE "a.vmdk"', "a0d3f5a5", "vmdk_parent"),
        # qemu finds the hint anywhere in the text, not only at the start of a line.
        (
            "monolithicSparse",
            'RW 16384 SPARSE "a.vmdk"\nddb.note = "x parentFileNameHint=\'b\'"',
            "ffffffff",
            "vmdk_parent",
        ),
    ],
)
def test_vmdk_embedded_descriptor(images, tmp_path, kind, extents, parent, code):
    image = copy(images, "vmdk", tmp_path)
    _rewrite_vmdk_descriptor(image, DESCRIPTOR.format(parent=parent, kind=kind, extents=extents))
    rejected(image, "vmdk", code)


def test_vmdk_esx_cowd_is_unsupported(tmp_path):
    image = tmp_path / "upload"
    image.write_bytes(b"COWD".ljust(4096, b"\0"))
    rejected(image, "vmdk", "unsupported_variant")


def _vhd_footer(footer: bytes, disk_type: int) -> bytes:
    out = bytearray(footer)
    struct.pack_into(">I", out, 60, disk_type)
    struct.pack_into(">I", out, 64, 0)
    struct.pack_into(">I", out, 64, ~sum(out) & 0xFFFFFFFF)
    return bytes(out)


def test_vhd_differencing(images, tmp_path):
    # qemu-img cannot create differencing VHDs, and opens them silently as dynamic ones: patch the type.
    image = copy(images, "vhd", tmp_path)
    data = bytearray(image.read_bytes())
    footer = _vhd_footer(data[-512:], 4)
    data[-512:] = footer
    data[:512] = footer
    image.write_bytes(data)
    rejected(image, "vhd", "backing_file")


def test_vhd_bad_footer_checksum(images, tmp_path):
    image = copy(images, "vhd", tmp_path)
    data = bytearray(image.read_bytes())
    data[-512 + 40] ^= 0xFF  # original size field, covered by the checksum
    image.write_bytes(data)
    rejected(image, "vhd", "corrupt")


def _vhdx_metadata_entries(data: bytes) -> tuple[int, list[int]]:
    """Offset of the metadata region and of each metadata table entry (region table 1)."""
    count = struct.unpack_from("<I", data, 192 * 1024 + 8)[0]
    for i in range(count):
        entry = 192 * 1024 + 16 + 32 * i
        if uuid.UUID(bytes_le=bytes(data[entry : entry + 16])) == uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E"):
            meta = struct.unpack_from("<Q", data, entry + 16)[0]
            entries = struct.unpack_from("<H", data, meta + 10)[0]
            return meta, [meta + 32 + 32 * j for j in range(entries)]
    raise AssertionError("no metadata region")


@pytest.mark.parametrize("patch", ["has_parent_flag", "parent_locator"])
def test_vhdx_differencing(images, tmp_path, patch):
    # qemu-img cannot create differencing VHDX files: mark a real one as such (metadata has no checksum).
    image = copy(images, "vhdx", tmp_path)
    data = bytearray(image.read_bytes())
    meta, entries = _vhdx_metadata_entries(data)
    file_parameters = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
    for entry in entries:
        if uuid.UUID(bytes_le=bytes(data[entry : entry + 16])) != file_parameters:
            if patch == "parent_locator":
                data[entry : entry + 16] = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").bytes_le
                break
            continue
        if patch == "has_parent_flag":
            item = meta + struct.unpack_from("<I", data, entry + 16)[0]
            struct.pack_into("<I", data, item + 4, struct.unpack_from("<I", data, item + 4)[0] | 2)
            break
    image.write_bytes(data)
    rejected(image, "vhdx", "backing_file")


def test_qemu_info_is_a_second_line_of_defence(tmp_path, monkeypatch):
    """With the header parsers switched off, what qemu-img info reports still refuses the image."""
    monkeypatch.setattr(inspection, "_PARSERS", dict.fromkeys(FORMATS, lambda f, size: 0))
    qemu_img("create", "-q", "-f", "qcow2", tmp_path / "base.qcow2", "8M")
    qemu_img("create", "-q", "-f", "qcow2", "-b", tmp_path / "base.qcow2", "-F", "qcow2", tmp_path / "top.qcow2")
    rejected(tmp_path / "top.qcow2", "qcow2", "backing_file")
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.bin'}", tmp_path / "df.qcow2", "8M")
    rejected(tmp_path / "df.qcow2", "qcow2", "data_file")
    qemu_img("create", "-q", "-f", "vmdk", tmp_path / "base.vmdk", "8M")
    qemu_img("create", "-q", "-f", "vmdk", "-b", tmp_path / "base.vmdk", "-F", "vmdk", tmp_path / "child.vmdk")
    rejected(tmp_path / "child.vmdk", "vmdk", "vmdk_parent")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", tmp_path / "flat.vmdk", "8M")
    rejected(tmp_path / "flat.vmdk", "vmdk", "vmdk_extent")


# --------------------------------------------------------------------------- damaged images


@pytest.mark.parametrize(("name", "fmt"), [("qcow2", "qcow2"), ("vmdk", "vmdk"), ("vhd", "vhd"), ("vhdx", "vhdx")])
def test_truncated_images(images, tmp_path, name, fmt):
    data = images[name].read_bytes()
    half = tmp_path / "upload"
    half.write_bytes(data[: len(data) // 2])
    rejected(half, fmt, "truncated")


def test_qcow2_cut_inside_its_tables(images, tmp_path):
    data = images["qcow2"].read_bytes()
    cut = tmp_path / "upload"
    cut.write_bytes(data[:100_000])  # inside the reference count table
    error = rejected(cut, "qcow2", "truncated")
    assert "sha256" in error.message


def test_truncated_raw_and_fixed_vhd(images, tmp_path):
    raw = tmp_path / "upload.raw"
    raw.write_bytes(images["raw"].read_bytes()[:-100])
    rejected(raw, "raw", "truncated")
    # A fixed VHD with its footer but missing data in the middle.
    data = images["vhd-fixed"].read_bytes()
    vhd = tmp_path / "upload.vhd"
    vhd.write_bytes(data[: 4 * MiB] + data[-512:])
    rejected(vhd, "vhd", "truncated")
    # Without its footer a fixed VHD is just raw data.
    vhd.write_bytes(data[:-512])
    error = rejected(vhd, "vhd", "format_mismatch")
    assert "footer" in error.message


def test_qcow2_leaked_cluster_is_accepted_and_recorded(images, tmp_path):
    # Leaks (a counted cluster nothing uses) only waste space: qemu-img check exits 3.
    image = copy(images, "qcow2", tmp_path)
    data = bytearray(image.read_bytes())
    clusters = len(data) // 65536
    refblock = struct.unpack_from(">Q", data, struct.unpack_from(">Q", data, 48)[0])[0]
    struct.pack_into(">H", data, refblock + 2 * clusters, 1)
    image.write_bytes(data + bytes(65536))
    facts = inspect_image(image, "qcow2")
    assert facts.check_leaks == 1
    assert facts.virtual_size == DISK_SIZE


def test_qcow2_corrupt_refcounts(images, tmp_path):
    image = copy(images, "qcow2", tmp_path)
    data = bytearray(image.read_bytes())
    reftable = struct.unpack_from(">Q", data, 48)[0]
    refblock = struct.unpack_from(">Q", data, reftable)[0]
    data[refblock : refblock + 64] = bytes(range(7, 7 + 64))  # nonsense reference counts
    image.write_bytes(data)
    error = rejected(image, "qcow2", "corrupt")
    assert "qemu-img" in error.message


def test_qcow2_l1_pointing_past_the_end(images, tmp_path):
    image = copy(images, "qcow2", tmp_path)
    data = bytearray(image.read_bytes())
    l1 = struct.unpack_from(">Q", data, 40)[0]
    struct.pack_into(">Q", data, l1, 0x8000000000000000 | (len(data) + 10 * 65536))
    image.write_bytes(data)
    rejected(image, "qcow2", "truncated")


def test_qcow2_marked_corrupt(images, tmp_path):
    image = copy(images, "qcow2", tmp_path)
    data = bytearray(image.read_bytes())
    struct.pack_into(">Q", data, 72, struct.unpack_from(">Q", data, 72)[0] | 2)
    image.write_bytes(data)
    rejected(image, "qcow2", "corrupt")


def test_qcow2_encrypted(tmp_path):
    image = tmp_path / "upload"
    # Legacy AES rather than LUKS: LUKS key derivation is slow and its benchmark flaky on busy hosts.
    secret = "secret,id=sec0,data=123456"
    qemu_img(
        "create",
        "-q",
        "-f",
        "qcow2",
        "--object",
        secret,
        "-o",
        "encrypt.format=aes,encrypt.key-secret=sec0",
        image,
        "8M",
    )
    rejected(image, "qcow2", "encrypted")


# --------------------------------------------------------------------------- limits


def test_virtual_size_over_default_cap(tmp_path):
    image = tmp_path / "upload"
    qemu_img("create", "-q", "-f", "qcow2", image, "3T")
    error = rejected(image, "qcow2", "too_large_virtual")
    assert "3 TiB" in error.message and "2 TiB" in error.message


@pytest.mark.parametrize("name", ["raw", "qcow2", "vmdk", "vhd", "vhdx"])
def test_virtual_size_over_given_cap(images, name):
    fmt = "vhd" if name == "vhd" else name
    error = rejected(images[name], fmt, "too_large_virtual", max_virtual_size=4 * MiB)
    assert "4 MiB" in error.message


def test_time_limit(images):
    rejected(images["qcow2"], "qcow2", "too_complex", timeout=0)


def test_not_a_regular_file(images, tmp_path):
    link = tmp_path / "upload"
    link.symlink_to(images["qcow2"])
    with pytest.raises(ValueError):
        inspect_image(link, "qcow2")


LAYOUTS = [(offset, magic) for offset, magic, _what in inspection._LAYOUT_SIGNATURES]


@pytest.mark.parametrize(("offset", "magic"), LAYOUTS, ids=[f"{o}-{m!r}" for o, m in LAYOUTS])
def test_each_partition_table_or_filesystem_signature_makes_a_disk(tmp_path, offset, magic):
    disk = bytearray(256 * 1024)
    disk[offset : offset + len(magic)] = magic
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(disk))
    assert inspect_image(path, "raw").virtual_size == len(disk)
    qemu_img("convert", "-f", "raw", "-O", "qcow2", path, tmp_path / "disk.qcow2")
    assert inspect_image(tmp_path / "disk.qcow2", "qcow2").virtual_size == len(disk)


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "vmdk", "vhd", "vhdx"])
@pytest.mark.parametrize(("content", "seen"), [(b"\0", "are all zeros"), (None, "hold neither")])
def test_disk_without_partition_table_or_filesystem_is_refused(tmp_path, fmt, content, seen):
    # Seeded random bytes that happen to hold no signature (checked), so the test cannot flake.
    data = content * 1024 * 1024 if content else random.Random(12).randbytes(1024 * 1024)
    assert inspection.disk_layout(data) is None
    raw = tmp_path / "disk.raw"
    raw.write_bytes(data)
    path = raw
    if fmt != "raw":
        path = tmp_path / f"disk.{fmt}"
        qemu_img("convert", "-f", "raw", "-O", inspection._QEMU_FORMAT[fmt], raw, path)
    error = rejected(path, fmt, "no_disk_layout")
    assert error.message == (
        f"The image holds no partition table and no filesystem: its first sectors {seen}. The disk of an "
        "operating system starts with one; upload the disk of the installed system, as exported from the VM."
    )
