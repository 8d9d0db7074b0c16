import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class StorageError(Exception):
    """The object store failed (unreachable, refused, inconsistent); the message says what, for the log and the user."""


class Storage(Protocol):
    """What Shelf needs from an object store: staged uploads written at an offset, whole objects read back."""

    def staging_write(self, key: str, offset: int, chunks: Iterator[bytes]) -> int:
        """Write chunks into the staged (incomplete) object at offset; return the bytes written."""

    def staging_size(self, key: str) -> int: ...

    def staging_promote(self, key: str) -> None:
        """Make the staged object the final object under the same key."""

    def staging_delete(self, key: str) -> None: ...

    @contextlib.contextmanager
    def staging_lock(self, key: str) -> Iterator[None]:
        """Serialise writers of one staged object across processes."""

    def open(self, key: str) -> BinaryIO: ...

    def write(self, key: str, chunks: Iterator[bytes]) -> int: ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def download_url(self, key: str, *, content_type: str, filename: str | None = None) -> str | None:
        """A short-lived URL the client fetches the object from directly, or None: Shelf sends the bytes itself.
        With a filename the object downloads as an attachment under that name."""

    @contextlib.contextmanager
    def local_copy(self, key: str, name: str) -> Iterator[Path]:
        """A read-only file holding the object, alone in a fresh private directory, named `name`."""
