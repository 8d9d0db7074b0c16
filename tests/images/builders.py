"""Real disk images for the tests and the benchmarks, built with mkfs and qemu-img: no root, no loop devices.

Two kinds. The import tests' images (`build_set`), here: a small ext4 disk as raw and qcow2, and hostile files.
The scan engine's images, built from directory trees (`debian12_tree` is a benign Debian 12 root), live in
`shelf.images.builders` (the demo data builds its image there too) and are re-exported here for the tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from shelf.images.builders import (  # noqa: F401 - re-exported for the tests and benchmarks
    DPKG_STATUS,
    ELF_X86_64,
    NFTABLES_CONF,
    QEMU_FORMATS,
    TREE_TOOLS,
    MiB,
    convert,
    debian12_tree,
    ext4_from_tree,
    link,
    partitioned,
    run,
    tree_size,
    write,
    xfs_from_tree,
    xfs_protofile,
)

IMPORT_TOOLS = ("qemu-img", "mkfs.ext4", "truncate")  # build_set and the import tests


def tools_missing(tools: tuple[str, ...] = IMPORT_TOOLS) -> list[str]:
    """The commands of `tools` not on PATH (tests skip when any is missing)."""
    return [tool for tool in tools if shutil.which(tool) is None]


# ---- the import tests' images -------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(MiB):
            digest.update(data)
    return digest.hexdigest()


def ext4_raw(path: Path, size: str = "4M", *, random_bytes: int = 0) -> Path:
    """A raw disk with an ext4 file system holding a few files (and `random_bytes` of incompressible data)."""
    content = path.with_name(path.name + ".content")
    content.mkdir()
    (content / "hello.txt").write_text("hello from a Shelf test image\n")
    if random_bytes:
        with open(content / "random.bin", "wb") as fh:
            left = random_bytes
            while left:
                n = min(left, 8 * MiB)
                fh.write(os.urandom(n))
                left -= n
    path.write_bytes(b"")
    run("truncate", "-s", size, path)
    run("mkfs.ext4", "-q", "-F", "-d", content, path, size)
    shutil.rmtree(content)
    return path


def qcow2_from(raw: Path, target: Path) -> Path:
    run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, target)
    return target


def qcow2_with_backing_file(directory: Path) -> Path:
    """A qcow2 overlay whose backing file is another file of the uploader's disk: must never be opened server side."""
    base = ext4_raw(directory / "secret-base.raw", "4M")
    overlay = directory / "overlay.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", base, overlay)
    return overlay


def build_set(directory: Path) -> dict[str, Path]:
    """The images most tests import: a raw and a qcow2 of the same ext4 disk, and three hostile files."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = ext4_raw(directory / "disk.raw", "4M")
    empty = directory / "empty.qcow2"
    empty.write_bytes(b"")
    not_qcow2 = directory / "not-really.qcow2"
    not_qcow2.write_bytes(b"this is a text file pretending to be a qcow2 image\n" * 20)
    return {
        "raw": raw,
        "qcow2": qcow2_from(raw, directory / "disk.qcow2"),
        "backing": qcow2_with_backing_file(directory),
        "empty": empty,
        "not_qcow2": not_qcow2,
    }


def stored_files(image_id) -> list[Path]:
    """Every file under the object store whose name mentions the image: data, staging or lock."""
    from django.conf import settings  # here, so the benchmarks use this module without Django

    if settings.SHELF_STORAGE == "shelf.storage.s3.S3Storage":
        from tests.s3 import stored_copies

        return stored_copies(settings, str(image_id))
    root = settings.DATA_DIR / "objects"
    if not root.exists():
        return []
    return [path for path in root.rglob("*") if path.is_file() and str(image_id) in path.name]
