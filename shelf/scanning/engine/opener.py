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
            return RawContainer(fh)
        if fmt == "qcow2":
            return RawContainer(_open_qcow2(fh))
        if fmt == "vmdk":
            return RawContainer(_open_vmdk(fh))
        if fmt == "vhd":
            return RawContainer(_open_vhd(fh))
        return RawContainer(_open_vhdx(fh))
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
