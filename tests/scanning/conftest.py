"""Real disk images for the scan engine tests, built from directory trees and cached for the whole session.

`image_factory.scan(name, mutate)` copies the benign Debian 12 tree, lets `mutate(tree)` plant problems,
builds an ext4 image (optionally xfs, a partition table, a container) and scans it once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from shelf.scanning.engine import ScanResult, scan_image
from tests.images.builders import (
    TREE_TOOLS,
    convert,
    debian12_tree,
    ext4_from_tree,
    partitioned,
    tools_missing,
    xfs_from_tree,
)

TODAY = date(2026, 11, 28)


class ImageFactory:
    def __init__(self, root: Path):
        self.root = root
        self.base = debian12_tree(root / "base-tree")
        self._images: dict[str, Path] = {}
        self._scans: dict[tuple, ScanResult] = {}

    def tree(self, name: str, mutate: Callable[[Path], None] | None = None, *, empty: bool = False) -> Path:
        tree = self.root / f"{name}-tree"
        if tree.exists():
            shutil.rmtree(tree)
        if empty:
            tree.mkdir()
        else:
            shutil.copytree(self.base, tree, symlinks=True)
        if mutate:
            mutate(tree)
        return tree

    def image(
        self,
        name: str,
        mutate: Callable[[Path], None] | None = None,
        *,
        fs: str = "ext4",
        table: str | None = None,
        fmt: str = "raw",
        empty: bool = False,
    ) -> Path:
        key = f"{name}.{fs}.{table}.{fmt}"
        if key in self._images:
            return self._images[key]
        tree = self.tree(name, mutate, empty=empty)
        fs_image = self.root / f"{name}.{fs}.img"
        if not fs_image.exists():
            (xfs_from_tree if fs == "xfs" else ext4_from_tree)(tree, fs_image)
        disk = partitioned(fs_image, self.root / f"{name}.{fs}.{table}.raw", table) if table else fs_image
        result = convert(disk, self.root / f"{key}", fmt) if fmt != "raw" else disk
        self._images[key] = result
        return result

    def scan(
        self, name: str, mutate: Callable[[Path], None] | None = None, *, today: date = TODAY, **kwargs
    ) -> ScanResult:
        key = (name, today, tuple(sorted(kwargs.items())))
        if key not in self._scans:
            path = self.image(name, mutate, **kwargs)
            self._scans[key] = scan_image(path, kwargs.get("fmt", "raw"), today=today)
        return self._scans[key]


@pytest.fixture(scope="session")
def image_factory(tmp_path_factory) -> ImageFactory:
    if missing := tools_missing(TREE_TOOLS):
        pytest.skip(f"image tools missing: {', '.join(missing)} (make system-deps installs them)")
    return ImageFactory(tmp_path_factory.mktemp("scan-images"))


@pytest.fixture(scope="session")
def benign(image_factory) -> ScanResult:
    return image_factory.scan("benign")


def ids(result: ScanResult) -> list[str]:
    return [f.check_id for f in result.findings]


def only(result: ScanResult, check_id: str):
    found = [f for f in result.findings if f.check_id == check_id]
    assert len(found) == 1, (check_id, [(f.check_id, f.title) for f in result.findings])
    return found[0]


@pytest.fixture(scope="session", autouse=True)
def _no_host_clamav():
    """Scans in these tests see no ClamAV of the host's (a clamd socket, installed signatures, SHELF_CLAMAV_DB):
    what they find must not depend on whether this machine has signatures. The ClamAV tests set up their own."""
    from shelf.scanning.engine.checks import malware

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(malware, "CLAMD_SOCKETS", ())
        patch.setattr(malware, "CLAMAV_DB_DIRS", ())
        patch.delenv("SHELF_CLAMAV_DB", raising=False)
        yield
