"""Validate an uploaded disk image before it becomes `available`.

Django-free on purpose: the upload worker and the CLI's local pre-check share it.

Threat model: the file is hostile. Disk image formats can name *other* files
(qcow2 backing files and external data files, VMDK extents and parents, VHD/VHDX
parents), and qemu opens those as soon as it opens the image. So the headers are
parsed here first, in pure Python, and only an image that refers to nothing but
itself is handed to `qemu-img`, always with the format fixed (never probed), an
absolute path, a minimal environment and resource limits.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

FORMATS = ("qcow2", "raw", "vmdk", "vhd", "vhdx")

# qemu calls VHD "vpc".
_QEMU_FORMAT = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx"}
# Formats whose qemu driver implements `qemu-img check` (vpc and raw answer 63, "not supported").
_CHECKABLE = {"qcow2", "vmdk", "vhdx"}

_LABEL = {"qcow2": "QCOW2", "raw": "raw", "vmdk": "VMDK", "vhd": "VHD", "vhdx": "VHDX"}
# Formats qemu could probe that Shelf does not accept; sniffed so a "raw" upload cannot carry one.
_OTHER_LABEL = {
    "qcow": "QCOW version 1",
    "qed": "QED",
    "vdi": "VirtualBox VDI",
    "luks": "LUKS-encrypted",
    "parallels": "Parallels",
    "bochs": "Bochs",
    "cloop": "cloop",
    "dmg": "Apple DMG",
}

_KiB = 1024
_MiB = 1024 * _KiB
_GiB = 1024 * _MiB
_TiB = 1024 * _GiB

# Limits applied to every qemu-img child.
_RLIMIT_AS = 2 * _GiB
_RLIMIT_FSIZE = 64 * _MiB  # stderr goes to a temp file; a flood of errors must not fill the disk
_OUTPUT_READ_LIMIT = 256 * _KiB


class ImageRejected(Exception):
    """The image cannot be accepted; `message` tells the provider what is wrong and how to fix it."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class InspectionUnavailable(RuntimeError):
    """The server cannot inspect images (qemu-img missing); not the provider's fault."""


@dataclass(frozen=True)
class ImageFacts:
    format: str
    virtual_size: int  # bytes the guest sees, as qemu reports it
    actual_size: int  # bytes allocated on the host for the file (qemu's actual-size)
    file_size: int
    cluster_size: int | None = None
    check_leaks: int = 0  # leaked clusters reported by qemu-img check: harmless, wasted space only
    qemu_info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


# --------------------------------------------------------------------------- sniffing

_HEAD = 2048  # qemu probes with a 2 KiB buffer; read the same


def _read_at(f: BinaryIO, offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length)


def _looks_like_vmdk_text(head: bytes) -> bool:
    """Mirror qemu's vmdk_probe for text descriptors: comments/blank lines, then `version=1|2|3`."""
    if head.startswith(b"# Disk DescriptorFile"):
        return True
    for line in head.split(b"\n"):
        if line.startswith(b"#"):
            continue
        if line.strip(b" \r") == b"":
            continue
        return line.rstrip(b"\r") in (b"version=1", b"version=2", b"version=3")
    return False


def _sniff(f: BinaryIO, size: int) -> str | None:
    if size == 0:
        return None
    head = _read_at(f, 0, _HEAD)
    tail = _read_at(f, size - 512, 512) if size >= 512 else b""
    if head[:4] == b"QFI\xfb":
        version = struct.unpack(">I", head[4:8])[0] if len(head) >= 8 else 0
        return "qcow" if version == 1 else "qcow2"
    if head[:4] in (b"KDMV", b"COWD") or _looks_like_vmdk_text(head):
        return "vmdk"
    if head[:8] == b"vhdxfile":
        return "vhdx"
    if head[:8] == b"conectix" or tail[:8] == b"conectix":
        return "vhd"
    if head[:4] == b"QED\x00":
        return "qed"
    if len(head) >= 68 and struct.unpack("<I", head[64:68])[0] == 0xBEDA107F:
        return "vdi"
    if head[:6] == b"LUKS\xba\xbe":
        return "luks"
    if head[:16] in (b"WithoutFreeSpace", b"WithouFreSpacExt"):
        return "parallels"
    if head.startswith(b"Bochs Virtual HD Image"):
        return "bochs"
    if head.startswith(b"#!/bin/sh\n#V2.0 Format\n"):
        return "cloop"
    if tail[:4] == b"koly":
        return "dmg"
    return "raw"


def sniff_format(path: str | os.PathLike[str]) -> str | None:
    """Format by magic bytes only: one of FORMATS, another qemu format's name, "raw", or None if empty."""
    with open(path, "rb") as f:
        return _sniff(f, os.fstat(f.fileno()).st_size)


# --------------------------------------------------------------------------- messages


def _human(n: int) -> str:
    for unit, scale in (("TiB", _TiB), ("GiB", _GiB), ("MiB", _MiB), ("KiB", _KiB)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.2f} {unit}"
    return f"{n} bytes"


def _convert_cmd(source: str, target: str) -> str:
    return f"`qemu-img convert -f {_QEMU_FORMAT.get(source, source)} -O {_QEMU_FORMAT[target]} in.img out.{target}`"


def _truncated(detail: str) -> ImageRejected:
    return ImageRejected(
        "truncated",
        f"The image is incomplete: {detail}. Upload the whole file again and compare its sha256 with your local copy.",
    )


def _corrupt(fmt: str, detail: str, fix: str = "") -> ImageRejected:
    if not fix:
        repair = "repair it with `qemu-img check -r all in.qcow2` or " if fmt == "qcow2" else ""
        fix = (
            f"Please {repair}re-export it from the original disk (e.g. {_convert_cmd('raw', fmt)}) and upload it again."
        )
    return ImageRejected("corrupt", f"The {_LABEL[fmt]} image is damaged: {detail}. {fix}")


def _too_large(virtual: int, cap: int) -> ImageRejected:
    shown = _human(virtual)
    if shown == _human(cap) or "." in shown:
        shown += f" ({virtual} bytes)"
    return ImageRejected(
        "too_large_virtual",
        f"The image's virtual disk is {shown}, more than the {_human(cap)} allowed. "
        f"Shrink the guest file system and the disk (`qemu-img resize --shrink`) below {_human(cap)}.",
    )


# --------------------------------------------------------------------------- header parsers
# Each parser reads only the file itself and returns the virtual size its header declares.

_QCOW2_EXT_DATA_FILE = 0x44415441
_QCOW2_INCOMPAT_CORRUPT = 1 << 1
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2
_QCOW2_INCOMPAT_KNOWN = (1 << 5) - 1  # dirty, corrupt, data file, compression type, extended L2
_QCOW2_OFFSET_MASK = 0x00FFFFFFFFFFFE00
# qemu's own caps (QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE); above them qemu refuses to open anyway.
_QCOW2_MAX_L1_BYTES = 32 * _MiB
_QCOW2_MAX_REFTABLE_BYTES = 8 * _MiB


def _table_entries_within(f: BinaryIO, offset: int, count: int, limit: int, what: str, file_size: int) -> None:
    """Every non-zero entry of a qcow2 pointer table must address a cluster inside the file."""
    chunk = 64 * _KiB // 8
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        raw = _read_at(f, offset + start * 8, n * 8)
        for (entry,) in struct.iter_unpack(">Q", raw):
            target = entry & _QCOW2_OFFSET_MASK
            if target and target + limit > file_size:
                raise _truncated(f"{what} at byte {target} lies beyond the end of the {file_size}-byte file")


def _parse_qcow2(f: BinaryIO, size: int) -> int:
    if size < 72:
        raise _truncated(f"the file is {size} bytes, shorter than a QCOW2 header")
    (
        _magic,
        version,
        backing_offset,
        backing_size,
        cluster_bits,
        virtual,
        crypt_method,
        l1_size,
        l1_offset,
        reftable_offset,
        reftable_clusters,
        nb_snapshots,
        snapshots_offset,
    ) = struct.unpack(">4sIQIIQIIQQIIQ", _read_at(f, 0, 72))
    if version not in (2, 3):
        raise ImageRejected(
            "unsupported_variant",
            f"The image uses QCOW2 version {version}; Shelf accepts versions 2 and 3. "
            "Run `qemu-img convert -O qcow2 -o compat=1.1 in.qcow2 out.qcow2`.",
        )
    if backing_offset or backing_size:
        name = ""
        if backing_offset and 0 < backing_size <= 1023 and backing_offset + backing_size <= size:
            name = _read_at(f, backing_offset, backing_size).decode("utf-8", "replace")
        shown = f" ({os.path.basename(name)})" if name else ""
        raise ImageRejected(
            "backing_file",
            f"The image refers to a backing file{shown}. Upload a standalone image: "
            "run `qemu-img convert -O qcow2 in.qcow2 out.qcow2` to flatten it.",
        )
    if not 9 <= cluster_bits <= 21:
        raise _corrupt("qcow2", f"the cluster size 2^{cluster_bits} is invalid")
    cluster = 1 << cluster_bits

    incompat = 0
    header_length = 72
    if version == 3:
        if size < 104:
            raise _truncated(f"the file is {size} bytes, shorter than a QCOW2 v3 header")
        incompat, _compat, _autoclear, _refcount_order, header_length = struct.unpack(">QQQII", _read_at(f, 72, 32))
        if header_length < 104 or header_length > cluster:
            raise _corrupt("qcow2", f"the header length {header_length} is invalid")
    if incompat & _QCOW2_INCOMPAT_DATA_FILE:
        raise _data_file_rejection()
    # Header extensions live in the rest of the first cluster (qemu reads them for v2 as well).
    offset = header_length
    end = min(cluster, size)
    while offset + 8 <= end:
        ext_type, ext_len = struct.unpack(">II", _read_at(f, offset, 8))
        if ext_type == 0:
            break
        if ext_type == _QCOW2_EXT_DATA_FILE:
            raise _data_file_rejection()
        offset += 8 + ((ext_len + 7) & ~7)
    if incompat & ~_QCOW2_INCOMPAT_KNOWN:
        raise ImageRejected(
            "unsupported_variant",
            f"The QCOW2 image uses unknown incompatible features (0x{incompat:x}). "
            "Run `qemu-img convert -O qcow2 in.qcow2 out.qcow2` with a current qemu-img.",
        )
    if incompat & _QCOW2_INCOMPAT_CORRUPT:
        raise _corrupt(
            "qcow2",
            "qemu flagged it as corrupt while it was in use",
            "Repair it with `qemu-img check -r all in.qcow2`, then upload it again.",
        )
    if crypt_method:
        raise ImageRejected(
            "encrypted",
            "The image is encrypted, so Shelf cannot check or boot it. Upload a decrypted copy: "
            "`qemu-img convert --object secret,id=k,file=key.txt --image-opts "
            "driver=qcow2,file.filename=in.qcow2,encrypt.key-secret=k -O qcow2 out.qcow2`.",
        )

    # Metadata tables must lie inside the file; a cut-off upload fails here before qemu sees it.
    if l1_size * 8 > _QCOW2_MAX_L1_BYTES or reftable_clusters * cluster > _QCOW2_MAX_REFTABLE_BYTES:
        raise _corrupt("qcow2", "its metadata tables are implausibly large")
    if reftable_clusters == 0:
        raise _corrupt("qcow2", "it has no reference count table")
    tables = [
        ("L1 table", l1_offset, l1_size * 8),
        ("reference count table", reftable_offset, reftable_clusters * cluster),
    ]
    if nb_snapshots:
        tables.append(("snapshot table", snapshots_offset, 1))
    for what, start, length in tables:
        if length and start + length > size:
            raise _truncated(f"its {what} ends at byte {start + length} but the file has only {size} bytes")
    _table_entries_within(f, l1_offset, l1_size, cluster, "an L2 table", size)
    _table_entries_within(f, reftable_offset, reftable_clusters * cluster // 8, cluster, "a refcount block", size)
    return virtual


def _data_file_rejection() -> ImageRejected:
    return ImageRejected(
        "data_file",
        "The image keeps its data in an external data file. Upload a self-contained image: "
        "run `qemu-img convert -O qcow2 in.qcow2 out.qcow2` to copy the data into it.",
    )


_VMDK_GD_AT_END = 0xFFFFFFFFFFFFFFFF
_VMDK_ALLOWED_TYPES = {"monolithicsparse", "streamoptimized"}
_VMDK_EXTENT_RE = re.compile(r"^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)", re.MULTILINE)
_VMDK_PARENT_DESC_OFFSET = 0x200  # qemu reads parent info from here, whatever the header says
_VMDK_PARENT_DESC_SIZE = 20 * 512


def _vmdk_field(desc: str, key: str) -> str | None:
    m = re.search(rf"^\s*{key}\s*=\s*\"?([^\"\r\n]*)\"?", desc, re.MULTILINE)
    return m.group(1).strip() if m else None


def _vmdk_descriptor_rejection(detail: str) -> ImageRejected:
    return ImageRejected(
        "vmdk_extent",
        f"The VMDK {detail}, so it depends on other files. Upload a single-file VMDK: "
        "run `qemu-img convert -O vmdk -o subformat=streamOptimized in.vmdk out.vmdk`.",
    )


def _parse_vmdk(f: BinaryIO, size: int) -> int:
    head = _read_at(f, 0, 512)
    if head[:4] == b"COWD":
        raise ImageRejected(
            "unsupported_variant",
            "The image is an ESX sparse (COWD) VMDK, which Shelf does not accept. "
            "Run `qemu-img convert -O vmdk -o subformat=streamOptimized in.vmdk out.vmdk`.",
        )
    if head[:4] != b"KDMV":
        # A text descriptor: the disk content lives in extent files it names.
        raise _vmdk_descriptor_rejection("is a text descriptor that names separate extent files")
    if size < 512:
        raise _truncated(f"the file is {size} bytes, shorter than a VMDK header")
    (_magic, version, _flags, capacity, grain, desc_offset, desc_size, _gtes, _rgd, gd_offset, _overhead) = (
        struct.unpack_from("<4sIIQQQQIQQQ", head, 0)
    )
    if version not in (1, 2, 3):
        raise _corrupt("vmdk", f"the sparse header version {version} is unknown")
    if capacity == 0:
        # qemu then opens the embedded descriptor like a text descriptor, following its extents.
        raise _vmdk_descriptor_rejection("header declares no capacity and defers to its descriptor's extents")
    if not desc_offset or not desc_size:
        raise _corrupt("vmdk", "it has no embedded descriptor")
    if desc_size > 2048:
        raise _corrupt("vmdk", "its embedded descriptor is implausibly large")
    if (desc_offset + desc_size) * 512 > size:
        raise _truncated(f"its descriptor ends beyond the end of the {size}-byte file")
    if gd_offset != _VMDK_GD_AT_END and gd_offset * 512 >= size:
        raise _truncated(f"its grain directory starts beyond the end of the {size}-byte file")
    if gd_offset == _VMDK_GD_AT_END and size < 1536:
        raise _truncated("its stream-optimized footer is missing")
    if grain == 0 or grain & (grain - 1):
        raise _corrupt("vmdk", f"the grain size {grain} is invalid")

    desc = _read_at(f, desc_offset * 512, desc_size * 512).split(b"\0", 1)[0].decode("latin-1")
    create_type = _vmdk_field(desc, "createType") or ""
    if create_type.lower() not in _VMDK_ALLOWED_TYPES:
        raise _vmdk_descriptor_rejection(f"has create type {create_type or 'missing'}")
    extents = _VMDK_EXTENT_RE.findall(desc)
    if len(extents) != 1 or extents[0][2].upper() != "SPARSE":
        kinds = ", ".join(kind for _access, _sectors, kind in extents) or "none"
        raise _vmdk_descriptor_rejection(f"descriptor lists extents other than its own single sparse one ({kinds})")

    # qemu looks for parentFileNameHint with strstr (anywhere, not per line) in the text at offset
    # 0x200 (up to the first NUL), whatever the header says: check that region as well.
    qemu_view = _read_at(f, _VMDK_PARENT_DESC_OFFSET, _VMDK_PARENT_DESC_SIZE).split(b"\0", 1)[0].decode("latin-1")
    for text in (desc, qemu_view):
        if "parentFileNameHint" in text:
            m = re.search(r'parentFileNameHint\s*=\s*"([^"]*)"', text)
            raise _vmdk_parent_rejection(m.group(1) if m else None)
        parent_cid = _vmdk_field(text, "parentCID")
        if parent_cid is not None and parent_cid.lower() != "ffffffff":
            raise _vmdk_parent_rejection(None)
    return capacity * 512


def _vmdk_parent_rejection(hint: str | None) -> ImageRejected:
    shown = f" ({os.path.basename(hint)})" if hint else ""
    return ImageRejected(
        "vmdk_parent",
        f"The VMDK is a child disk of a parent VMDK{shown}. Upload a standalone image: "
        "run `qemu-img convert -O vmdk -o subformat=streamOptimized child.vmdk out.vmdk` to merge it.",
    )


_VHD_FIXED, _VHD_DYNAMIC, _VHD_DIFFERENCING = 2, 3, 4


def _vhd_checksum(footer: bytes) -> int:
    return ~sum(footer[:64] + b"\0\0\0\0" + footer[68:]) & 0xFFFFFFFF


def _parse_vhd(f: BinaryIO, size: int) -> int:
    footer = _read_at(f, size - 512, 512) if size >= 512 else b""
    if footer[:8] != b"conectix":
        # Dynamic disks start with a copy of the footer; the real one at the end is missing.
        raise _truncated("the VHD footer at the end of the file is missing")
    (_features, _version, data_offset, _ts, _app, _cver, _os, _orig, current_size, _geo, disk_type, checksum) = (
        struct.unpack_from(">IIQI4sIIQQIII", footer, 8)
    )
    if checksum != _vhd_checksum(footer):
        raise _corrupt("vhd", "the footer checksum does not match")
    if disk_type == _VHD_DIFFERENCING:
        raise ImageRejected(
            "backing_file",
            "The VHD is a differencing disk that refers to a parent VHD. Upload a standalone image: "
            'merge it into its parent (Hyper-V "Merge" or `Merge-VHD`), then upload the merged file.',
        )
    if disk_type == _VHD_FIXED:
        if size < current_size + 512:
            raise _truncated(
                f"a fixed VHD of {current_size} bytes needs {current_size + 512} bytes, the file has {size}"
            )
        if size > current_size + 512:
            raise _corrupt("vhd", f"the file is larger than its declared size ({current_size} bytes plus footer)")
        return current_size
    if disk_type != _VHD_DYNAMIC:
        raise _corrupt("vhd", f"the disk type {disk_type} is unknown")
    if data_offset + 1024 > size:
        raise _truncated("the dynamic disk header lies beyond the end of the file")
    dyn = _read_at(f, data_offset, 1024)
    if dyn[:8] != b"cxsparse":
        raise _corrupt("vhd", "the dynamic disk header is missing")
    table_offset, _hver, max_entries = struct.unpack_from(">QII", dyn, 16)
    if table_offset + max_entries * 4 > size - 512:
        raise _truncated("the block allocation table ends beyond the end of the file")
    return current_size


_VHDX_BAT = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
_VHDX_METADATA = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
_VHDX_FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
_VHDX_VIRTUAL_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
_VHDX_PARENT_LOCATOR = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
_VHDX_HAS_PARENT = 1 << 1
_VHDX_HEADER_SECTION = 1 * _MiB
_VHDX_REGION_TABLES = (192 * _KiB, 256 * _KiB)
_VHDX_MAX_ENTRIES = 2047


def _vhdx_parent_rejection() -> ImageRejected:
    return ImageRejected(
        "backing_file",
        "The VHDX is a differencing disk that refers to a parent VHDX. Upload a standalone image: "
        'merge it into its parent (Hyper-V "Merge" or `Merge-VHD`), then upload the merged file.',
    )


def _parse_vhdx(f: BinaryIO, size: int) -> int:
    if size < _VHDX_HEADER_SECTION:
        raise _truncated(f"the file is {size} bytes, shorter than the 1 MiB VHDX header section")
    if _read_at(f, 64 * _KiB, 4) != b"head" and _read_at(f, 128 * _KiB, 4) != b"head":
        raise _corrupt("vhdx", "both VHDX headers are missing")
    virtual: int | None = None
    seen_table = False
    # Both region table copies are checked: whichever one a tool picks must be harmless.
    for rt in _VHDX_REGION_TABLES:
        table = _read_at(f, rt, 64 * _KiB)
        if table[:4] != b"regi":
            continue
        seen_table = True
        (count,) = struct.unpack_from("<I", table, 8)
        if count > _VHDX_MAX_ENTRIES:
            raise _corrupt("vhdx", "the region table is invalid")
        regions: dict[uuid.UUID, tuple[int, int]] = {}
        for i in range(count):
            base = 16 + 32 * i
            guid = uuid.UUID(bytes_le=table[base : base + 16])
            offset, length, _required = struct.unpack_from("<QII", table, base + 16)
            if offset + length > size:
                raise _truncated(f"a VHDX region ends at byte {offset + length} but the file has only {size} bytes")
            regions[guid] = (offset, length)
        if _VHDX_BAT not in regions or _VHDX_METADATA not in regions:
            raise _corrupt("vhdx", "the region table lacks the BAT or metadata region")
        meta_offset, meta_length = regions[_VHDX_METADATA]
        meta = _read_at(f, meta_offset, min(meta_length, 64 * _KiB))
        if meta[:8] != b"metadata":
            raise _corrupt("vhdx", "the metadata table is missing")
        (entries,) = struct.unpack_from("<H", meta, 10)
        if entries > _VHDX_MAX_ENTRIES:
            raise _corrupt("vhdx", "the metadata table is invalid")
        for i in range(entries):
            base = 32 + 32 * i
            item = uuid.UUID(bytes_le=meta[base : base + 16])
            item_offset, item_length = struct.unpack_from("<II", meta, base + 16)
            if item == _VHDX_PARENT_LOCATOR:
                raise _vhdx_parent_rejection()
            if item_offset + item_length > meta_length:
                raise _corrupt("vhdx", "a metadata item lies outside the metadata region")
            data = _read_at(f, meta_offset + item_offset, item_length)
            if item == _VHDX_FILE_PARAMETERS and len(data) >= 8:
                if struct.unpack_from("<I", data, 4)[0] & _VHDX_HAS_PARENT:
                    raise _vhdx_parent_rejection()
            elif item == _VHDX_VIRTUAL_DISK_SIZE and len(data) >= 8:
                virtual = struct.unpack_from("<Q", data, 0)[0]
    if not seen_table:
        raise _corrupt("vhdx", "both VHDX region tables are missing")
    if virtual is None:
        raise _corrupt("vhdx", "the virtual disk size is missing from the metadata")
    return virtual


def _parse_raw(f: BinaryIO, size: int) -> int:
    if size % 512:
        raise _truncated(f"a raw disk must be a whole number of 512-byte sectors, but the file has {size} bytes")
    return size


_PARSERS: dict[str, Callable[[BinaryIO, int], int]] = {
    "qcow2": _parse_qcow2,
    "vmdk": _parse_vmdk,
    "vhd": _parse_vhd,
    "vhdx": _parse_vhdx,
    "raw": _parse_raw,
}


# --------------------------------------------------------------------------- qemu-img


@dataclass
class _Run:
    returncode: int
    stdout: str
    stderr: str


def _limits(cpu_seconds: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec: keep it to plain syscalls
        resource.setrlimit(resource.RLIMIT_AS, (_RLIMIT_AS, _RLIMIT_AS))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_RLIMIT_FSIZE, _RLIMIT_FSIZE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _read_output(tmp: BinaryIO) -> str:
    tmp.seek(0)
    return tmp.read(_OUTPUT_READ_LIMIT).decode("utf-8", "replace")


def _too_complex(detail: str) -> ImageRejected:
    return ImageRejected(
        "too_complex",
        f"Checking the image {detail}. Re-export it as a plain image "
        "(`qemu-img convert -O qcow2 in.img out.qcow2`) and upload it again.",
    )


def _qemu_img(args: list[str], deadline: float) -> _Run:
    exe = shutil.which("qemu-img")
    if exe is None:
        raise InspectionUnavailable("qemu-img is not installed on this server")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _too_complex("took longer than the time limit")
    # Output goes to temp files, not pipes: a badly corrupt image can make `check` print millions of lines.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                [exe, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                cwd="/",
                timeout=remaining,
                preexec_fn=_limits(int(remaining) + 1),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _too_complex("took longer than the time limit") from None
        run = _Run(proc.returncode, _read_output(out), _read_output(err))
    if run.returncode == -signal.SIGXCPU:
        raise _too_complex("used more processor time than allowed")
    return run


def _first_error(stderr: str, path: str) -> str:
    """qemu's first meaningful stderr line (an ERROR line if any), without the server-side path."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    for line in errors or lines:
        line = line.removeprefix("qemu-img: ")
        line = line.replace(f"'{path}'", "the image").replace(path, "the image")
        line = re.sub(r"(Could not open the image: )+", "Could not open the image: ", line)
        return line[:300]
    return "qemu-img gave no reason"


_TRUNCATION_HINTS = ("end of the file", "after eof", "after end of file", "truncated")


def _qemu_failure(fmt: str, stderr: str, path: str) -> ImageRejected:
    reason = _first_error(stderr, path)
    lowered = stderr.lower()
    if "cannot allocate memory" in lowered:
        return _too_complex("needed more memory than allowed")
    if any(hint in lowered for hint in _TRUNCATION_HINTS):
        return _truncated(f"qemu-img reports: {reason.rstrip('.')}")
    return _corrupt(fmt, f"qemu-img reports: {reason.rstrip('.')}")


def _check_info(fmt: str, info: dict[str, Any], path: str) -> None:
    """Defence in depth: what qemu itself reports must agree with the header parse."""
    if any(key in info for key in ("backing-filename", "full-backing-filename", "backing-image")):
        backing = str(info.get("backing-filename", ""))
        if fmt == "vmdk":
            raise _vmdk_parent_rejection(backing)
        raise ImageRejected(
            "backing_file",
            f"The image refers to a backing file ({os.path.basename(backing)}). "
            f"Upload a standalone image: run {_convert_cmd(fmt, fmt)} to flatten it.",
        )
    data = (info.get("format-specific") or {}).get("data") or {}
    if "data-file" in data:
        raise _data_file_rejection()
    if fmt == "vmdk":
        extents = data.get("extents") or []
        if len(extents) != 1 or extents[0].get("filename") != path:
            raise _vmdk_descriptor_rejection("opens extents other than the uploaded file")
        if str(data.get("create-type", "")).lower() not in _VMDK_ALLOWED_TYPES:
            raise _vmdk_descriptor_rejection(f"has create type {data.get('create-type')}")


# --------------------------------------------------------------------------- what the guest disk holds

_GUEST_HEAD = 128 * _KiB  # every signature below lies in the guest's first 128 KiB (btrfs at 64 KiB is the last)

# (offset, bytes) that a partition table, a volume manager or a filesystem at the start of a disk writes.
# 0x55AA at 510 is an MBR, and also the boot sector of FAT and NTFS, so those need no entry of their own.
_LAYOUT_SIGNATURES = (
    (510, b"\x55\xaa", "an MBR partition table or boot sector"),
    (512, b"EFI PART", "a GPT partition table"),
    (4096, b"EFI PART", "a GPT partition table (4 KiB sectors)"),
    (1080, b"\x53\xef", "an ext2/3/4 filesystem"),
    (0, b"XFSB", "an XFS filesystem"),
    (65600, b"_BHRfS_M", "a btrfs filesystem"),
    (0, b"LABELONE", "an LVM physical volume"),
    (512, b"LABELONE", "an LVM physical volume"),
    (1024, b"LABELONE", "an LVM physical volume"),
    (1536, b"LABELONE", "an LVM physical volume"),
    (32769, b"CD001", "an ISO 9660 filesystem"),
    (1024, b"\x10\x20\xf5\xf2", "an F2FS filesystem"),
    (3, b"NTFS    ", "an NTFS filesystem"),
)


def disk_layout(head: bytes) -> str | None:
    """What the first bytes of a guest disk show it holds (a partition table, a filesystem...), or None."""
    for offset, magic, what in _LAYOUT_SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return what
    return None


def _guest_head(fmt: str, path: str, deadline: float) -> bytes:
    """The first bytes of the virtual disk as the guest sees them. qemu-img reads them out of a container (with
    the format fixed, the image already checked) into a private temporary directory."""
    if fmt == "raw":
        with open(path, "rb") as f:
            return f.read(_GUEST_HEAD)
    with tempfile.TemporaryDirectory(prefix="shelf-head-") as directory:
        target = os.path.join(directory, "head.raw")
        run = _qemu_img(
            [
                "dd",
                "-f",
                _QEMU_FORMAT[fmt],
                "-O",
                "raw",
                "bs=65536",
                f"count={_GUEST_HEAD // 65536}",
                f"if={path}",
                f"of={target}",
            ],
            deadline,
        )
        if run.returncode != 0:
            raise _qemu_failure(fmt, run.stderr, path)
        with open(target, "rb") as f:
            return f.read(_GUEST_HEAD)


def _not_a_disk(head: bytes) -> ImageRejected:
    seen = "are all zeros" if not head.strip(b"\0") else "hold neither"
    return ImageRejected(
        "no_disk_layout",
        f"The image holds no partition table and no filesystem: its first sectors {seen}. The disk of an "
        "operating system starts with one; upload the disk of the installed system, as exported from the VM.",
    )


# --------------------------------------------------------------------------- entry point


def inspect_image(
    path: str | os.PathLike[str],
    declared_format: str,
    *,
    max_virtual_size: int = 2 * _TiB,
    timeout: float = 120,
) -> ImageFacts:
    """Validate the uploaded image at `path` (server-named, alone in a private directory).

    Raises ImageRejected with a code and an actionable message; returns the facts otherwise.
    """
    deadline = time.monotonic() + timeout
    if declared_format not in FORMATS:
        raise ImageRejected(
            "unknown_format",
            f"The declared format {declared_format!r} is not supported; choose one of {', '.join(FORMATS)}.",
        )
    # Absolute: qemu treats "proto:..." and "json:{...}" specially, but never a path starting with "/".
    path = os.path.abspath(os.fspath(path))
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path} is not a regular file")
    size = st.st_size

    with open(path, "rb") as f:
        found = _sniff(f, size)
        if found is None:
            raise ImageRejected("empty", "The uploaded file is empty. Upload the disk image file itself.")
        if found in _OTHER_LABEL:
            raise ImageRejected(
                "unknown_format",
                f"The file is a {_OTHER_LABEL[found]} image, which Shelf does not accept. "
                f"Convert it to {_LABEL[declared_format]}: {_convert_cmd(found, declared_format)}.",
            )
        if found != declared_format:
            hint = ""
            if declared_format == "vhd" and found == "raw":
                hint = " (a fixed VHD ends with a 512-byte footer; if it is missing the upload was cut short)"
            raise ImageRejected(
                "format_mismatch",
                f"The file was declared as {_LABEL[declared_format]} but it is a {_LABEL[found]} image{hint}. "
                f"Choose {_LABEL[found]} as the format, or convert it: {_convert_cmd(found, declared_format)}.",
            )
        header_virtual = _PARSERS[found](f, size)
    if header_virtual > max_virtual_size:
        raise _too_large(header_virtual, max_virtual_size)

    qfmt = _QEMU_FORMAT[found]
    run = _qemu_img(["info", "-f", qfmt, "--output=json", "--", path], deadline)
    if run.returncode != 0:
        raise _qemu_failure(found, run.stderr, path)
    try:
        info = json.loads(run.stdout)
    except ValueError:
        raise _corrupt(found, "qemu-img could not describe it") from None
    if not isinstance(info, dict) or info.get("format") != qfmt:
        raise _corrupt(found, "qemu-img could not describe it")
    _check_info(found, info, path)
    virtual = int(info.get("virtual-size", header_virtual))
    if virtual > max_virtual_size:
        raise _too_large(virtual, max_virtual_size)

    leaks = 0
    if found in _CHECKABLE:
        run = _qemu_img(["check", "-f", qfmt, "--output=json", "--", path], deadline)
        # 0 clean, 3 leaked clusters only (wasted space), 63 check unsupported; 2 corruptions,
        # 1 check aborted (unreadable metadata), negative: killed (SIGXFSZ means an error flood).
        if run.returncode not in (0, 3, 63):
            raise _qemu_failure(found, run.stderr, path)
        if run.returncode == 3:
            try:
                leaks = int(json.loads(run.stdout).get("leaks", 0))
            except (ValueError, AttributeError):
                leaks = 0

    # Last, once qemu-img has found the container sound: only then is it asked to read the guest's sectors.
    head = _guest_head(found, path, deadline)
    if disk_layout(head) is None:
        raise _not_a_disk(head)

    cluster = info.get("cluster-size")
    return ImageFacts(
        format=found,
        virtual_size=virtual,
        actual_size=int(info.get("actual-size", size)),
        file_size=size,
        cluster_size=int(cluster) if cluster is not None else None,
        check_leaks=leaks,
        qemu_info=info,
    )
