"""The image's directory tree as the engine sees it: every directory listed once, every path resolved from
directories already listed, never from the root again.

dissect.target's root filesystem stacks layers (the root filesystem, separately mounted /var or /home,
LVM volumes, virtual mount points). Its generic path lookup and its layered directory entries resolve
each path from the root again, scanning every directory on the way linearly, so walking a real image cost
entries x directory size. Here a directory's listing is read once, through each layer's own directory
entries (which carry their inode), merged the way dissect merges layers (the first layer that has a name
answers for it), and remembered; a path is then a chain of dictionary lookups. Symbolic links are followed
as the running system would (relative to the directory holding them, `..` after a link is the target's
parent), with a hop limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

MAX_LINK_HOPS = 40  # Linux's limit on symbolic links followed in one lookup


class TreeError(Exception):
    """A directory or inode could not be read (corrupt filesystem, unsupported feature, I/O error)."""


class LinkLoop(Exception):
    """Too many symbolic links in one lookup (a loop, or a chain longer than Linux allows)."""


def _is_missing(exc: BaseException) -> bool:
    from dissect.target import exceptions as dx

    return isinstance(exc, (FileNotFoundError, NotADirectoryError, dx.FileNotFoundError, dx.NotADirectoryError))


class Node:
    """One name in a listed directory: each layer's directory entry for it, the first one answering."""

    __slots__ = ("dirents", "_entry", "_lstat")

    def __init__(self, dirents: list[Any]):
        self.dirents = dirents
        self._entry: Any = None
        self._lstat: Any = None

    @property
    def entry(self) -> Any:
        """The first layer's filesystem entry (built from its directory entry, no lookup)."""
        if self._entry is None:
            self._entry = self.dirents[0].get()
        return self._entry

    def lstat(self) -> Any:
        if self._lstat is None:
            self._lstat = self.entry.lstat()
        return self._lstat

    def is_symlink(self) -> bool:
        return bool(self.entry.is_symlink())

    def is_dir(self) -> bool:
        """A directory itself (a symbolic link to one is not); from the directory entry's type where it has one."""
        return bool(self.entry.is_dir(follow_symlinks=False))

    def is_file(self) -> bool:
        """A regular file itself (not a link, device, pipe or socket)."""
        return bool(self.entry.is_file(follow_symlinks=False))

    def readlink(self) -> str:
        return str(self.entry.readlink())

    def layers(self) -> list[Any]:
        """The filesystem entries of every layer that has this directory, in layer order."""
        return [self.entry] + [dirent.get() for dirent in self.dirents[1:]]


class Tree:
    """A remembered, layered view of one image's filesystem (dissect's root filesystem)."""

    def __init__(self, fs: Any, stats: Any = None):
        self.fs = fs
        self.stats = stats  # anything with a `dirs_listed` count (the scan's Stats)
        self._root = fs.get("/")
        self._listings: dict[str, dict[str, Node] | None] = {}  # canonical directory path -> name -> node
        self._resolved: dict[tuple[str, bool], str | None] = {}  # (path, follow) -> canonical path

    # ---- listings ---------------------------------------------------------------------------------------
    def _layers_of(self, path: str) -> list[Any] | None:
        if path == "/":
            return list(getattr(self._root, "entries", [self._root]))
        parent, name = path.rsplit("/", 1)
        listing = self._listing(parent or "/")
        node = listing.get(name) if listing else None
        if node is None or not node.is_dir():
            return None
        return node.layers()

    def _listing(self, path: str) -> dict[str, Node] | None:
        """name -> node of the directory at canonical `path`, read once; None if it is not a directory."""
        if path in self._listings:
            return self._listings[path]
        layers = self._layers_of(path)
        listing: dict[str, Node] | None = None
        if layers is not None:
            merged: dict[str, list[Any]] = {}
            for layer in layers:
                try:
                    for dirent in layer.scandir():
                        if dirent.name not in (".", ".."):
                            merged.setdefault(dirent.name, []).append(dirent)
                except Exception as exc:
                    if not _is_missing(exc):
                        raise TreeError(f"{path}: {exc}") from exc
            listing = {name: Node(dirents) for name, dirents in merged.items()}
            if self.stats is not None:
                self.stats.dirs_listed += 1
        self._listings[path] = listing
        return listing

    # ---- lookups ------------------------------------------------------------------------------------------
    def resolve(self, path: str, *, follow: bool = True) -> str | None:
        """The canonical path of `path` (its links resolved; the last one only if `follow`), or None if a
        component is missing. Raises LinkLoop past MAX_LINK_HOPS links."""
        key = (path, follow)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(path, follow)
        return self._resolved[key]

    def _resolve(self, path: str, follow: bool) -> str | None:
        todo = [part for part in path.split("/") if part and part != "."]
        todo.reverse()
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop()
            if part == "..":
                if done:
                    done.pop()
                continue
            listing = self._listing("/" + "/".join(done))
            node = listing.get(part) if listing else None
            if node is None:
                return None
            if node.is_symlink() and (todo or follow):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise LinkLoop(path)
                target = node.readlink()
                if target.startswith("/"):
                    done = []
                todo.extend(reversed([p for p in target.split("/") if p and p != "."]))
                continue
            done.append(part)
        return "/" + "/".join(done)

    def node(self, path: str, *, follow: bool = True) -> Node | None:
        """The node at `path`, or None if it does not exist (the root has no node: it is always a directory)."""
        canonical = self.resolve(path, follow=follow)
        if canonical is None or canonical == "/":
            return None
        parent, name = canonical.rsplit("/", 1)
        listing = self._listing(parent or "/")
        return listing.get(name) if listing else None

    def listdir(self, path: str) -> list[str] | None:
        """Sorted names in the directory at `path` (links followed), or None if it is not a directory."""
        canonical = self.resolve(path)
        listing = None if canonical is None else self._listing(canonical)
        return None if listing is None else sorted(listing)

    def stat(self, path: str, *, follow: bool = True) -> Any | None:
        """stat (or lstat without `follow`) of `path`; None if absent. The root's comes from dissect."""
        canonical = self.resolve(path, follow=follow)
        if canonical is None:
            return None
        if canonical == "/":
            return self._root.lstat()
        node = self.node(canonical, follow=False)
        return None if node is None else node.lstat()

    def open(self, path: str) -> Any:
        """A binary file object of the regular file at `path` (links followed)."""
        node = self.node(path)
        if node is None:
            raise FileNotFoundError(path)
        return node.entry.open()

    # ---- walking --------------------------------------------------------------------------------------
    def walk(
        self, root: str, *, descend: Callable[[str, str, int], bool], skip: tuple[str, ...] = ()
    ) -> Iterator[tuple[str, Node, int]]:
        """(path, node, depth) of every entry under the directory `root` (links not followed), depth first in
        name order. Paths are under `root` as given, even when a link on the way made it another directory.
        `descend(path, name, depth)` says whether to enter a directory; `skip` holds absolute prefixes not to
        yield or enter. `root` itself is not yielded; its children have depth 1."""
        skipped = {s.rstrip("/") or "/" for s in skip}
        if any(root == s or root.startswith(s + "/") for s in skipped):
            return
        start = self.resolve(root, follow=False)
        if start is None:
            return
        if start != "/":
            top = self.node(start, follow=False)
            if top is None or not top.is_dir():
                return
        stack: list[tuple[str, str, int]] = [(root.rstrip("/"), start, 0)]
        while stack:
            shown, directory, depth = stack.pop()
            listing = self._listing(directory) or {}
            canonical_prefix = "" if directory == "/" else directory
            subdirs = []
            for name in sorted(listing):
                full = f"{shown}/{name}"
                if full in skipped:  # a skipped directory is never entered, so nothing below it comes up
                    continue
                node = listing[name]
                yield full, node, depth + 1
                if node.is_dir() and descend(full, name, depth + 1):
                    subdirs.append((full, f"{canonical_prefix}/{name}", depth + 1))
            stack.extend(reversed(subdirs))
