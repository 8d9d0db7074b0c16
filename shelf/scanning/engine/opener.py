"""Open exactly one validated image file, from a handle, as the container type validation fixed.

Nothing inside the image may make the scanner open another host file:
- the file is opened read-only with O_NOFOLLOW and must be a regular file;
- the dissect container classes only ever see `SealedHandle`, a proxy without a `name`, so the code paths that
  derive sibling paths from a handle's name (qcow2 backing/data files, vmdk descriptors and parents, vhdx parents)
  have no path to work from;
- formats that would need another file (a qcow2 backing or external data file, a vmdk descriptor or delta disk,
  a differencing vhd/vhdx) are refused explicitly before dissect gets to them;
- the Target is built by hand (`Target()` + `disks.add()` + `apply()`), never with `Target.open(path)`, which
  probes loaders and may open sibling files; and its host-side `.targetcfg.py` lookup (cwd, home) is switched off.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO
from unittest import mock

DISK_FORMATS = ("raw", "qcow2", "vmdk", "vhd", "vhdx")
ALIASES = {"img": "raw", "vpc": "vhd"}


class ImageOpenError(Exception):
    """The image cannot be opened safely or at all; the scan is incomplete."""


class SealedHandle:
    """A read-only, seekable view of an open host file that counts what is read and has no `name`."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer)
        self.bytes_read += n or 0
        self.reads += 1
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        """Containers may try to close their source; the engine closes the real file itself."""


class BlockCache:
    """A bounded cache of aligned blocks over the virtual disk, below the partitions and filesystems.

    Filesystems read metadata in small pieces (a 256-byte inode, a directory block) scattered over the disk, and
    every piece went down through the container's translation to the image file again, which read a whole
    cluster each time: reading an inode, then a file, then the next inode read the inode table's cluster anew.
    Small reads are served from recently read blocks (least recently used out first, at most
    `blocks` x `block` bytes); large reads (file contents, read once) go straight through and are not kept.
    """

    def __init__(self, fh: Any, *, block: int = 64 * 1024, blocks: int = 512, direct: int = 256 * 1024):
        self._fh = fh
        self._block = block
        self._blocks = blocks
        self._direct = direct
        self._size = fh.seek(0, io.SEEK_END)
        fh.seek(0)
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.hits = self.misses = 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        """The engine closes the real file itself."""

    def _cached(self, index: int) -> bytes:
        data = self._cache.get(index)
        if data is not None:
            self._cache.move_to_end(index)
            self.hits += 1
            return data
        self.misses += 1
        self._fh.seek(index * self._block)
        data = self._fh.read(self._block)
        self._cache[index] = data
        if len(self._cache) > self._blocks:
            self._cache.popitem(last=False)
        return data

    def read(self, size: int = -1) -> bytes:
        left = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        if left <= 0:
            return b""
        if left >= self._direct:
            self._fh.seek(self._pos)
            data = self._fh.read(left)
            self._pos += len(data)
            return data
        pieces = []
        while left > 0:
            index, offset = divmod(self._pos, self._block)
            piece = self._cached(index)[offset : offset + left]
            if not piece:
                break
            pieces.append(piece)
            self._pos += len(piece)
            left -= len(piece)
        return b"".join(pieces)


def open_host_file(path: str | os.PathLike) -> BinaryIO:
    """Open `path` read-only, refusing symlinks and anything that is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.fspath(path), flags)
    except OSError as exc:
        raise ImageOpenError(f"cannot open image file: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageOpenError("image path is not a regular file")
        return os.fdopen(fd, "rb", buffering=1024 * 1024)
    except BaseException:
        os.close(fd)
        raise


def normalise_format(disk_format: str) -> str:
    fmt = ALIASES.get(disk_format.lower(), disk_format.lower())
    if fmt not in DISK_FORMATS:
        raise ImageOpenError(f"unsupported disk format {disk_format!r}; expected one of {', '.join(DISK_FORMATS)}")
    return fmt


def _magic(fh: SealedHandle, length: int, offset: int = 0) -> bytes:
    fh.seek(offset)
    data = fh.read(length)
    fh.seek(0)
    return data


def open_container(fh: SealedHandle, disk_format: str) -> Any:
    """Wrap the handle in the dissect container for `disk_format`; every other reading goes through it."""
    from dissect.target.containers.raw import RawContainer

    fmt = normalise_format(disk_format)
    try:
        if fmt == "raw":
            return RawContainer(BlockCache(fh))
        if fmt == "qcow2":
            return RawContainer(BlockCache(_open_qcow2(fh)))
        if fmt == "vmdk":
            return RawContainer(BlockCache(_open_vmdk(fh)))
        if fmt == "vhd":
            return RawContainer(BlockCache(_open_vhd(fh)))
        return RawContainer(BlockCache(_open_vhdx(fh)))
    except ImageOpenError:
        raise
    except Exception as exc:  # a malformed header in any container class
        raise ImageOpenError(f"cannot read the {fmt} container: {exc}") from exc


def _open_qcow2(fh: SealedHandle) -> Any:
    from dissect.hypervisor.disk.c_qcow2 import QCOW2_MAGIC_BYTES, c_qcow2
    from dissect.hypervisor.disk.qcow2 import QCow2

    if _magic(fh, 4) != QCOW2_MAGIC_BYTES:
        raise ImageOpenError("not a qcow2 file (bad magic)")
    header = c_qcow2.QCowHeader(fh)
    fh.seek(0)
    if header.backing_file_offset:
        raise ImageOpenError(
            "qcow2 names a backing file; refusing to follow it (only self-contained images are scanned)"
        )
    # backing_file=None and data_file=None with the allow_* flags off: dissect raises rather than opening anything.
    qcow2 = QCow2(fh, data_file=None, backing_file=None, allow_no_data_file=False, allow_no_backing_file=False)
    if qcow2.image_data_file:
        raise ImageOpenError("qcow2 uses an external data file; refusing to open it")
    return qcow2.open()


def _open_vmdk(fh: SealedHandle) -> Any:
    from dissect.hypervisor.disk.c_vmdk import VMDK_MAGIC
    from dissect.hypervisor.disk.vmdk import VMDK, SparseDisk

    magic = _magic(fh, 4)
    if magic != VMDK_MAGIC:
        # "# Di" descriptors and COWD/SESparse delta disks all point at other files.
        raise ImageOpenError("only a monolithic sparse or stream-optimized vmdk (one self-contained file) is scanned")
    sparse = SparseDisk(fh)
    descriptor = sparse.descriptor
    if descriptor is not None:
        if descriptor.attr.get("parentCID", "ffffffff").lower() != "ffffffff":
            raise ImageOpenError("vmdk is a delta disk with a parent; refusing to open the parent")
        if len(descriptor.extents) > 1:
            raise ImageOpenError("vmdk has several extents; only single-file vmdk images are scanned")
    fh.seek(0)
    return VMDK(fh)


def _open_vhd(fh: SealedHandle) -> Any:
    from dissect.hypervisor.disk.vhd import VHD, read_footer

    footer = read_footer(fh)
    fh.seek(0)
    if footer.disk_type == 4:
        raise ImageOpenError("vhd is a differencing disk; refusing to open its parent")
    return VHD(fh)


def _open_vhdx(fh: SealedHandle) -> Any:
    from dissect.hypervisor.disk.vhdx import VHDX

    if _magic(fh, 8) != b"vhdxfile":
        raise ImageOpenError("not a vhdx file (bad signature)")
    try:
        return VHDX(fh)
    except AttributeError as exc:  # differencing disk: dissect wanted the handle's path to find the parent
        raise ImageOpenError("vhdx is a differencing disk; refusing to open its parent") from exc


_TARGET_LOCK = threading.Lock()


def sealed_target(container: Any) -> Any:
    """A dissect Target over one container, built without Target.open() and without host config lookups."""
    from dissect.target import target as target_module

    with _TARGET_LOCK, mock.patch.object(target_module.config, "_find_config_file", return_value=None):
        tgt = target_module.Target()
    tgt.path = Path("image")
    tgt.disks.add(container)
    tgt.apply()
    return tgt
