"""Scan-engine benchmark: a scan must read only what the checks need, so its time stays flat as data grows.

`bench_scan(tmpdir)` builds a small Debian 12 image and the same image with `large_gib` GiB of random data
under /var/lib/data, scans both (warm, best of three), hashes the large image with sha256 for comparison,
and measures the peak memory of a scan in a fresh process. Goals: large/small within 1.5x, scan at least 10x
faster than sha256 of the large image, all checks within 2x of the core checks (the malware pass reads every file
under its size cap; the line after says how many).

Run by `bench/run.py scan`, or alone from the repository root: `python -m bench.scan_engine [GiB]`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.debian_image import write_data
from shelf.scanning.engine import scan_image
from tests.images.builders import debian12_tree, ext4_from_tree

MiB = 1024 * 1024
CHILD = """
import json, resource, sys, time
from shelf.scanning.engine import scan_image
t0 = time.monotonic()
result = scan_image(sys.argv[1], "raw")
print(json.dumps({"seconds": time.monotonic() - t0, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "findings": len(result.findings), "incomplete": result.incomplete}))
"""


# The families the engine started with; "all checks" adds passwords, web, end-of-life software and malware (and any later).
CORE_FAMILIES = ["os", "accounts", "ssh", "hygiene", "secrets", "firewall"]


def _best_of(path: Path, runs: int = 3, checks: list[str] | None = None) -> tuple[float, dict]:
    best, stats = float("inf"), {}
    for _ in range(runs):
        t0 = time.monotonic()
        result = scan_image(path, "raw", checks=checks)
        elapsed = time.monotonic() - t0
        if result.incomplete:
            raise RuntimeError(f"benchmark image scanned incomplete: {result.incomplete}")
        if elapsed < best:
            best, stats = elapsed, result.stats
    return best, stats


def _sha256_seconds(path: Path) -> float:
    t0 = time.monotonic()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * MiB):
            digest.update(chunk)
    return time.monotonic() - t0


def bench_scan(tmpdir: str | os.PathLike, large_gib: float = 2.0) -> list[str]:
    root = Path(tmpdir) / "scan-bench"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    small_tree = debian12_tree(root / "small-tree")
    small = ext4_from_tree(small_tree, root / "small.img")
    large_tree = root / "large-tree"
    shutil.copytree(small_tree, large_tree, symlinks=True)
    t0 = time.monotonic()
    write_data(large_tree / "var/lib/data/blob.bin", int(large_gib * 1024 * MiB))
    large = ext4_from_tree(large_tree, root / "large.img")
    build_seconds = time.monotonic() - t0
    shutil.rmtree(large_tree)
    shutil.rmtree(small_tree)

    scan_image(small, "raw")  # warm-up: imports and dissect's plugin index are a one-off per process
    small_s, small_stats = _best_of(small)
    large_s, large_stats = _best_of(large)
    core_s, _core_stats = _best_of(large, checks=CORE_FAMILIES)
    sha_s = _sha256_seconds(large)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(large)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    cold = json.loads(child.stdout.strip().splitlines()[-1])
    size = large.stat().st_size
    shutil.rmtree(root)

    ratio = large_s / small_s if small_s else float("inf")
    all_ratio = large_s / core_s if core_s else float("inf")
    malware = large_stats.get("malware") or {}
    speedup = sha_s / large_s if large_s else float("inf")
    return [
        f"scan engine: large image {size / 1024**3:.2f} GiB ({large_gib:g} GiB random data, built in {build_seconds:.1f} s)",
        f"scan small image: {small_s * 1000:.1f} ms (read {small_stats['files_read']} files, "
        f"{small_stats['bytes_read']} bytes; {small_stats['image_bytes_read'] / MiB:.1f} MiB of the image)",
        f"scan large image: {large_s * 1000:.1f} ms (read {large_stats['files_read']} files, "
        f"{large_stats['bytes_read']} bytes; {large_stats['image_bytes_read'] / MiB:.1f} MiB of the image)",
        f"large/small ratio: {ratio:.2f}x (goal <= 1.5x) {'OK' if ratio <= 1.5 else 'MISSED'}",
        f"sha256sum of large image: {sha_s * 1000:.0f} ms; scan is {speedup:.0f}x faster (goal >= 10x) "
        f"{'OK' if speedup >= 10 else 'MISSED'}",
        f"cold scan of large image in a fresh process: {cold['seconds'] * 1000:.0f} ms, "
        f"peak memory (maxrss) {cold['maxrss_kib'] / 1024:.0f} MiB",
        f"all checks vs core checks on the large image: {large_s * 1000:.1f} ms vs {core_s * 1000:.1f} ms, "
        f"{all_ratio:.2f}x (goal <= 2x) {'OK' if all_ratio <= 2 else 'MISSED'}",
        f"malware pass on the large image: read {malware.get('files_scanned', 0)} files, "
        f"{malware.get('bytes_scanned', 0)} bytes in {malware.get('seconds', 0) * 1000:.0f} ms; "
        f"{malware.get('skipped_large', 0)} over the size cap and {malware.get('skipped_type', 0)} by type skipped; "
        f"priority places {'covered' if malware.get('priority_complete') else 'NOT covered'}, "
        f"budget exhausted: {'yes' if malware.get('budget_exhausted') else 'no'}",
    ]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        gib = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
        for line in bench_scan(tmp, gib):
            print(line)
