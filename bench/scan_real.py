"""The scan benchmark on a real Debian 12 LAMP image (bench/debian_image.py), with its peers in the same run.

Rows: `shelf scan --json` in a fresh process (what a provider runs) and a warm second scan in one process (the
server's long-lived scanner), each with the time per check family, bytes read through the image handle
against the image file's allocated size, and peak memory; beside them `sha256sum` of the images and, where
libguestfs is installed, `virt-inspector` (which boots an appliance) on the small image. Ratios are peer
time / Shelf time, so bigger is better.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.debian_image import ensure

GiB = 1024**3

# One scan in a fresh interpreter, then a second in the same one: prints both results' timings as JSON.
_TWICE = """
import json, sys, time
from shelf.scanning.engine import scan_image
rows = []
for _ in range(2):
    started = time.perf_counter()
    result = scan_image(sys.argv[1], "qcow2")
    rows.append({"seconds": time.perf_counter() - started, "stats": result.stats,
                 "findings": sorted(f.check_id for f in result.findings)})
print(json.dumps(rows))
"""


def _timed(command: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of a command, measured by GNU time."""
    handle, name = tempfile.mkstemp(prefix="shelf-bench-time-")
    os.close(handle)
    timing = Path(name)
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(timing), *command],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    rss = int(timing.read_text().split()[-1]) * 1024
    timing.unlink()
    if done.returncode not in (0, 1):  # shelf scan exits 1 when the image would not pass
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-2000:]}")
    return seconds, rss, done.stdout


def _allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


def bench_real_scan() -> Iterator[str]:
    images = {variant: ensure(variant) for variant in ("small", "big")}
    python = sys.executable
    shelf = str(Path(python).parent / "shelf")
    results = {}
    for variant, image in images.items():
        subprocess.run(["cat", str(image)], stdout=subprocess.DEVNULL, check=True)  # same page cache for all
        fresh, fresh_rss, out = _timed([shelf, "scan", str(image), "--format", "qcow2", "--json"])
        report = json.loads(out)
        _seconds, _rss, out = _timed([python, "-c", _TWICE, str(image)])
        first, warm = json.loads(out)
        sha, _sha_rss, _ = _timed(["sha256sum", str(image)])
        results[variant] = {"fresh": fresh, "warm": warm["seconds"], "sha": sha}
        stats = warm["stats"]
        malware = stats.get("malware", {})
        yield (
            f"{variant}: {image.stat().st_size / GiB:.2f} GiB qcow2 ({_allocated(image) / GiB:.2f} GiB allocated), "
            f"{report['packages']} packages, verdict {report['verdict']}, findings {sorted(report_ids(report))}"
        )
        yield f"  shelf scan, fresh process      {fresh:7.2f} s   peak RSS {fresh_rss / 2**20:6.0f} MiB"
        yield f"  scan in a warm scanner process {warm['seconds']:7.2f} s   (first in that process {first['seconds']:.2f} s)"
        yield f"  sha256sum of the image file    {sha:7.2f} s   ratio sha256sum / fresh scan {sha / fresh:6.1f}x"
        per = stats.get("per_check", {})
        core = sum(v for k, v in per.items() if k != "malware")
        yield f"  per family (warm): core checks {core:.2f} s, malware {per.get('malware', 0):.2f} s, open {stats.get('open_seconds', 0):.2f} s"
        yield "    " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
        read = stats.get("image_bytes_read", 0)
        yield (
            f"  image handle read {read / 2**20:7.0f} MiB = {read / _allocated(image):.2f} x the allocated size; "
            f"file contents read {stats.get('bytes_read', 0) / 2**20:.0f} MiB"
        )
        yield (
            f"  malware pass: {malware.get('files_verified', 0)} package files verified "
            f"({malware.get('bytes_verified', 0) / 2**20:.0f} MiB), {malware.get('files_scanned', 0)} matched, "
            f"{malware.get('package_files_modified', 0)} modified, skipped {malware.get('skipped_type', 0)} by type, "
            f"{malware.get('skipped_large', 0)} large"
        )
        if first["findings"] != warm["findings"]:
            yield "  WARNING: the two scans in one process found different things"
    small, big = results["small"], results["big"]
    yield f"flat in size: big / small fresh scan {big['fresh'] / small['fresh']:.2f} (goal <= 1.2)"
    yield f"sha256sum of the 10 GiB-virtual image / its fresh scan: {big['sha'] / big['fresh']:.1f}x (goal >= 10)"
    if shutil.which("virt-inspector"):
        env = {**os.environ, "LIBGUESTFS_BACKEND": "direct", "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg"}
        vi, vi_rss, _ = _timed(["virt-inspector", "-a", str(images["small"])], env=env)
        yield f"virt-inspector (boots an appliance, TCG), small image {vi:6.2f} s  peak RSS {vi_rss / 2**20:.0f} MiB"
        yield f"  ratio virt-inspector / fresh scan {vi / small['fresh']:.1f}x (goal >= 5)"
    else:
        yield "virt-inspector: not installed (apt-get install libguestfs-tools to compare)"


def report_ids(report: dict) -> list[str]:
    return [finding["check_id"] for finding in report["findings"]]
