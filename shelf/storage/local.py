"""Local-filesystem object storage under the data directory, sharded by the key's first components."""

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from shelf.errors import StorageFull

logger = logging.getLogger(__name__)

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
STAGING_SUFFIX = ".partial"
COPY_BUFFER = 1024 * 1024
LOCK_STRIPE_HEX = 3  # 4096 lock files at most


def _is_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def file_lock(lock: Path) -> Iterator[None]:
    """An exclusive lock of the processes of this machine, held on the file `lock` (made if missing)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class LocalStorage:
    def __init__(self, location: str):
        self.root = Path(location)
        self.tmp = self.root / ".tmp"
        self.locks = self.root / ".locks"

    def _path(self, key: str) -> Path:
        # Keys are made by Shelf, never by a user; refuse anything that could walk out of the root anyway.
        if not KEY_RE.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def _staging(self, key: str) -> Path:
        return self._path(key).with_name(self._path(key).name + STAGING_SUFFIX)

    def _full(self, key: str) -> StorageFull:
        logger.error("object storage full under %s: a write of %s was refused", self.root, key)
        return StorageFull(
            _(
                "The marketplace's storage is full, so these bytes were not stored (what was stored before is kept). "
                "Try again later."
            )
        )

    # staged uploads

    def staging_write(self, key: str, offset: int, chunks: Iterator[bytes]) -> int:
        path = self._staging(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        written = 0
        try:
            for chunk in chunks:
                os.pwrite(fd, chunk, offset + written)
                written += len(chunk)
            # Anything beyond what was acknowledged belongs to an earlier, abandoned attempt.
            os.ftruncate(fd, offset + written)
        except OSError as exc:
            if not _is_full(exc):
                raise
            os.ftruncate(fd, offset)  # keep what came before this write, nothing of it (shrinking needs no room)
            raise self._full(key) from exc
        finally:
            os.close(fd)
        return written

    def staging_size(self, key: str) -> int:
        try:
            return self._staging(key).stat().st_size
        except FileNotFoundError:
            return 0

    def staging_promote(self, key: str) -> None:
        staging = self._staging(key)
        with open(staging, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(staging, self._path(key))

    def staging_delete(self, key: str) -> None:
        self._staging(key).unlink(missing_ok=True)

    def _lockfile(self, key: str) -> Path:
        # A fixed set of lock files shared by all keys (striped by hash), never deleted: a per-object lock file
        # would outlive the object it guards (a refused upload must leave nothing behind), and unlinking a
        # lock file that another process is waiting on lets two writers hold "the" lock at once.
        self._path(key)  # validates the key
        stripe = hashlib.sha256(key.encode()).hexdigest()[:LOCK_STRIPE_HEX]
        return self.locks / stripe

    def staging_lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        return file_lock(self._lockfile(key))

    # whole objects

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")  # noqa: SIM115 - the caller closes it

    def write(self, key: str, chunks: Iterator[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp)
        written = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError) and _is_full(exc):
                raise self._full(key) from exc
            raise
        return written

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, *, content_type: str, filename: str | None = None) -> str | None:
        return None  # no server of its own: Shelf streams the file

    @contextlib.contextmanager
    def local_copy(self, key: str, name: str) -> Iterator[Path]:
        if "/" in name or name.startswith("."):
            raise ValueError("name must be a plain file name")
        self.tmp.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="inspect-", dir=self.tmp))
        target = workdir / name
        try:
            # A hard link costs nothing and keeps the tool away from every other object's directory.
            try:
                os.link(self._path(key), target)
            except OSError:
                shutil.copyfile(self._path(key), target)
            yield target
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
