"""What a check sees of the image: a read-only filesystem view with bounded helpers, plus parsed facts.

Every read goes through here so the engine can count files and bytes, cap sizes, and turn read errors into
`incomplete` reasons instead of silently passing.
"""

from __future__ import annotations

import posixpath
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shelf.scanning.engine.tree import LinkLoop, Node, Tree, TreeError

if TYPE_CHECKING:
    from shelf.scanning.engine.model import OsInfo, Package
    from shelf.scanning.engine.users import User

MiB = 1024 * 1024
DEFAULT_READ_LIMIT = 4 * MiB


# System directories that service accounts name as their home; walking them as a home would scan the OS.
NOT_HOMES = frozenset(
    {"/", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/games", "/usr/lib", "/lib", "/etc", "/dev",
     "/dev/null", "/proc", "/sys", "/run", "/var", "/var/run", "/tmp", "/var/tmp", "/nonexistent", "/boot"}  # noqa: S108
)  # fmt: skip


class ScanReadError(Exception):
    """A file exists but cannot be read (corrupt filesystem, unsupported feature, I/O error)."""


@dataclass
class WalkLimits:
    max_size: int = MiB
    max_files: int = 20_000
    max_depth: int = 12


@dataclass
class FileEntry:
    path: str
    size: int


@dataclass
class ModeEntry:
    """A directory or regular file with its own (lstat) mode, owner and size, as `walk_modes()` yields them."""

    path: str
    mode: int
    uid: int
    gid: int
    size: int


class WalkEntry:
    """A directory or regular file as `walk()` yields it, with the tree's node to read it by.

    Its type comes from the directory entry; size and mode are read from the inode only when asked for, so
    a walk that decides by name (or only reads some files) does not pay an inode read for every file.
    """

    __slots__ = ("path", "is_dir", "_size", "_mode", "dirent")

    def __init__(self, path: str, is_dir: bool, size: int | None = None, mode: int | None = None, dirent=None):
        self.path = path
        self.is_dir = is_dir
        self._size = size
        self._mode = mode
        self.dirent = dirent  # the tree's node, or None (then read by path)

    def __repr__(self) -> str:
        return f"WalkEntry({self.path!r}, is_dir={self.is_dir})"

    def _lstat(self) -> None:
        try:
            st = self.dirent.lstat()
        except Exception as exc:
            raise ScanReadError(f"{self.path}: {exc}") from exc
        self._size, self._mode = (0 if self.is_dir else st.st_size), st.st_mode

    @property
    def size(self) -> int:
        if self._size is None:
            self._lstat()
        return self._size

    @property
    def mode(self) -> int:
        if self._mode is None:
            self._lstat()
        return self._mode

    def open(self) -> Any:
        """The file's bytes, streamed (the caller counts and bounds what it reads)."""
        try:
            return self.dirent.entry.open()
        except Exception as exc:
            raise ScanReadError(f"{self.path}: {exc}") from exc

    def read(self, ctx: ScanContext, limit: int) -> bytes:
        """At most `limit` bytes of this regular file, counted in the scan's stats."""
        try:
            with self.dirent.entry.open() as fh:
                data = fh.read(limit)
        except Exception as exc:
            raise ScanReadError(f"{self.path}: {exc}") from exc
        ctx.stats.files_read += 1
        ctx.stats.bytes_read += len(data)
        return data


@dataclass
class Stats:
    files_read: int = 0
    bytes_read: int = 0
    dirs_listed: int = 0
    per_check: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # per-family coverage (e.g. "malware"), reported as is

    def as_dict(self) -> dict[str, Any]:
        return {
            "files_read": self.files_read,
            "bytes_read": self.bytes_read,
            "dirs_listed": self.dirs_listed,
            "per_check": {k: round(v, 4) for k, v in self.per_check.items()},
            **self.extra,
        }


def _is_missing(exc: BaseException) -> bool:
    from dissect.target import exceptions as dx

    return isinstance(exc, (FileNotFoundError, NotADirectoryError, dx.FileNotFoundError, dx.NotADirectoryError))


class ScanContext:
    """The filesystem of one image (dissect's root filesystem) and what the engine parsed from it."""

    def __init__(self, fs: Any, *, today: date | None = None, options: dict[str, Any] | None = None):
        self.fs = fs
        self.today = today or date.today()
        self.options: dict[str, Any] = dict(options or {})  # caller's settings for checks (e.g. "yara_rules")
        self.stats = Stats()
        self.os: OsInfo | None = None
        self.packages: list[Package] = []
        self.package_db: str | None = None
        self.cache: dict[str, Any] = {}  # facts shared between checks (parsed sshd_config, cloud-init state)
        self._incomplete: list[str] = []
        self.tree = Tree(fs, self.stats)
        self._current_check = "engine"
        self._started = time.monotonic()

    # ---- incompleteness -------------------------------------------------------------------------------
    def incomplete(self, reason: str) -> None:
        """Record that a check could not give a complete answer; the verdict becomes `incomplete`."""
        text = f"{self._current_check}: {reason}"
        if text not in self._incomplete:
            self._incomplete.append(text)

    @property
    def incomplete_reasons(self) -> list[str]:
        return list(self._incomplete)

    # ---- filesystem -----------------------------------------------------------------------------------
    # Every lookup goes through one remembered tree (engine/tree.py): the image never changes during a scan, so
    # each directory is read once and a path is resolved from directories already read, never from the root.
    def path(self, path: str) -> Any:
        return self.fs.path(path)

    def _lookup(self, path: str, *, follow: bool) -> Any | None:
        try:
            return self.tree.stat(path, follow=follow)
        except LinkLoop:
            return None  # as the running system: ELOOP, the path cannot be used
        except TreeError as exc:
            raise ScanReadError(str(exc)) from exc
        except Exception as exc:
            if _is_missing(exc) or _is_symlink_problem(exc):
                return None
            raise ScanReadError(f"{path}: {exc}") from exc

    def _lstat(self, path: str) -> Any | None:
        return self._lookup(path, follow=False)

    def _stat(self, path: str) -> Any | None:
        return self._lookup(path, follow=True)

    def exists(self, path: str) -> bool:
        """True if `path` exists, following symlinks inside the image (as the running system would)."""
        return self._stat(path) is not None

    def lexists(self, path: str) -> bool:
        """True if `path` itself exists, a dangling symlink included (systemd .wants links are checked so)."""
        return self._lstat(path) is not None

    def is_file(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def is_dir(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def size(self, path: str) -> int | None:
        st = self._stat(path)
        return None if st is None else st.st_size

    def readlink(self, path: str) -> str | None:
        st = self._lstat(path)
        if st is None or not stat.S_ISLNK(st.st_mode):
            return None
        try:
            return self.tree.node(path, follow=False).readlink()
        except Exception as exc:
            raise ScanReadError(f"{path}: {exc}") from exc

    def listdir(self, path: str) -> list[str]:
        """Names in a directory, sorted (C locale, like glob(3)); [] when it does not exist."""
        try:
            return self.tree.listdir(path) or []
        except LinkLoop:
            return []
        except TreeError as exc:
            raise ScanReadError(str(exc)) from exc

    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes | None:
        """At most `limit` bytes of a regular file (symlinks followed inside the image); None if absent."""
        st = self._stat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            with self.tree.open(path) as fh:
                data = fh.read(limit)
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise ScanReadError(f"{path}: {exc}") from exc
        self.stats.files_read += 1
        self.stats.bytes_read += len(data)
        return data

    def read_text(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> str | None:
        data = self.read_bytes(path, limit)
        return None if data is None else data.decode("utf-8", errors="replace")

    def open(self, path: str) -> Any:
        """A binary file object for streaming reads (the caller bounds what it reads)."""
        try:
            fh = self.tree.open(path)
        except Exception as exc:
            raise ScanReadError(f"{path}: {exc}") from exc
        self.stats.files_read += 1
        return _CountingReader(fh, self.stats)

    def glob(self, pattern: str) -> list[str]:
        """Absolute glob(3)-like expansion inside the image: `*`, `?` and `[...]` per component, sorted."""
        import fnmatch

        parts = [p for p in pattern.split("/") if p]
        results = ["/"]
        for part in parts:
            nxt: list[str] = []
            for base in results:
                if any(ch in part for ch in "*?["):
                    for name in self.listdir(base):
                        if name.startswith(".") and not part.startswith("."):
                            continue
                        if fnmatch.fnmatchcase(name, part):
                            nxt.append(posixpath.join(base, name))
                else:
                    candidate = posixpath.join(base, part)
                    if self.lexists(candidate):
                        nxt.append(candidate)
            results = nxt
        return sorted(r for r in results if self.exists(r))

    def _nodes(
        self, root: str, descend: Callable[[str, str, int], bool], skip: tuple[str, ...] = ()
    ) -> Iterator[tuple[str, Node, int]]:
        """The one walker: (path, node, depth) under `root`, links not followed, read errors raised as
        ScanReadError. Every family walks through here, so what one walk read the next one finds remembered."""
        walker = self.tree.walk(root, descend=descend, skip=skip)
        while True:
            try:
                item = next(walker)
            except (StopIteration, LinkLoop):
                return
            except TreeError as exc:
                raise ScanReadError(str(exc)) from exc
            except Exception as exc:
                if _is_missing(exc):
                    return
                raise ScanReadError(f"{root}: {exc}") from exc
            yield item

    @staticmethod
    def _of_node(path: str, read: Callable[[], Any]) -> Any | None:
        """What `read` gets from a walked node; None if it vanished (a broken entry), else ScanReadError."""
        try:
            return read()
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise ScanReadError(f"{path}: {exc}") from exc

    def iter_files(
        self, root: str, limits: WalkLimits | None = None, *, skip: tuple[str, ...] = ()
    ) -> Iterator[FileEntry]:
        """Regular files under `root` (symlinks not followed), bounded in depth, count and file size.

        Files over `max_size` are skipped (not an error); hitting `max_files` is recorded as incomplete.
        `skip` holds absolute path prefixes (directories) not to enter.
        """
        limits = limits or WalkLimits()
        count = 0
        for full, node, _depth in self._nodes(root, lambda _p, _n, d: d <= limits.max_depth, skip):
            st = self._of_node(full, node.lstat)
            if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > limits.max_size:
                continue
            count += 1
            if count > limits.max_files:
                self.incomplete(f"stopped after {limits.max_files} files under {root}")
                return
            yield FileEntry(full, st.st_size)

    def walk(
        self,
        root: str,
        *,
        max_depth: int = 12,
        prune: Callable[[str, str], bool] | None = None,
        skip: tuple[str, ...] = (),
    ) -> Iterator[WalkEntry]:
        """Directories and regular files under `root`, depth first in name order, symlinks never followed.

        `prune(name, path)` true keeps the walk out of a directory (the directory itself is still yielded);
        `skip` holds absolute prefixes not to yield or enter. Read errors raise ScanReadError.
        """

        def descend(path: str, name: str, depth: int) -> bool:
            return depth <= max_depth and not (prune and prune(name, path))

        for full, node, _depth in self._nodes(root, descend, skip):
            kind = self._of_node(full, lambda node=node: "d" if node.is_dir() else "f" if node.is_file() else "")
            if kind:
                yield WalkEntry(full, kind == "d", dirent=node)

    def lstat(self, path: str) -> Any | None:
        """The entry's own stat (symlinks not followed): real mode bits, uid and gid in the image; None if absent."""
        return self._lstat(path)

    def walk_modes(
        self,
        root: str,
        *,
        files_under: dict[str, int] | None = None,
        max_entries: int = 400_000,
        max_depth: int = 24,
        skip: tuple[str, ...] = (),
    ) -> Iterator[ModeEntry]:
        """Every directory under `root` (root included) with its lstat, and the regular files of `files_under`.

        `files_under` maps directory prefixes to how many levels below them files are stat'ed (1: only the files
        directly in it); reading an inode costs about as much as reading a small file, so other entries are only
        listed, their type coming from the directory entry. Symlinks are never followed. Listing more than
        `max_entries` entries is recorded as incomplete. `skip` holds absolute path prefixes not to enter.
        """
        files_under = files_under or {}

        def under(path: str, prefixes: tuple[str, ...] | dict[str, int]) -> str | None:
            for prefix in prefixes:
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    return prefix
            return None

        def mode_entry(path: str, st: Any) -> ModeEntry:
            return ModeEntry(path, st.st_mode, st.st_uid, st.st_gid, st.st_size)

        top = self._lstat(root)
        if top is None or not stat.S_ISDIR(top.st_mode):
            return
        yield mode_entry(root, top)
        listed = 0
        for full, node, _depth in self._nodes(root, lambda _p, _n, depth: depth < max_depth, skip):
            listed += 1
            if listed > max_entries:
                self.incomplete(f"stopped after {max_entries} entries under {root}")
                return
            if self._of_node(full, node.is_dir):
                st = self._of_node(full, node.lstat)
                if st is not None:
                    yield mode_entry(full, st)
                continue
            directory = full.rsplit("/", 1)[0] or "/"
            prefix = under(directory, files_under)
            if prefix is None or directory.count("/") - prefix.rstrip("/").count("/") >= files_under[prefix]:
                continue
            st = self._of_node(full, node.lstat)
            if st is not None and stat.S_ISREG(st.st_mode):
                yield mode_entry(full, st)

    # ---- parsed facts ---------------------------------------------------------------------------------
    @cached_property
    def users(self) -> list[User]:
        from shelf.scanning.engine.users import parse_users

        return parse_users(self)

    def homes(self) -> list[tuple[str, str]]:
        """(user, home) for every passwd entry with an existing home directory, /root included, no duplicates."""
        seen: set[str] = set()
        result = []
        for user in self.users:
            home = user.home.rstrip("/") or "/"
            if home in seen or home in NOT_HOMES:
                continue
            if self.is_dir(home):
                seen.add(home)
                result.append((user.name, home))
        for extra in ["/root", *(posixpath.join("/home", n) for n in self.listdir("/home"))]:
            if extra not in seen and self.is_dir(extra):
                seen.add(extra)
                result.append((posixpath.basename(extra), extra))
        return result

    @cached_property
    def package_names(self) -> set[str]:
        return {p.name for p in self.packages}

    def unit_enabled(self, unit: str) -> bool:
        """systemd would start `unit`: a link in some *.wants/ directory of /etc or the vendor dirs, not masked."""
        if self.readlink(f"/etc/systemd/system/{unit}") in ("/dev/null", "../../../dev/null"):
            return False  # masked
        for base in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
            for name in self.listdir(base):
                if name.endswith((".wants", ".requires")) and self.lexists(f"{base}/{name}/{unit}"):
                    return True
        return False

    def openrc_enabled(self, service: str) -> bool:
        return any(self.lexists(f"/etc/runlevels/{level}/{service}") for level in self.listdir("/etc/runlevels"))


def _is_symlink_problem(exc: BaseException) -> bool:
    from dissect.target import exceptions as dx

    return isinstance(exc, (dx.SymlinkRecursionError,)) or "symlink" in type(exc).__name__.lower()


class _CountingReader:
    def __init__(self, fh: Any, stats: Stats):
        self._fh = fh
        self._stats = stats

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._stats.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> _CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
