"""The benchmark function runs end to end (with a small data file; bench/run.py uses gigabytes)."""

from bench.scan_engine import bench_scan


def test_bench_scan_smoke(tmp_path):
    lines = bench_scan(tmp_path, large_gib=0.02)
    text = "\n".join(lines)
    assert "large/small ratio" in text and "sha256sum" in text and "peak memory" in text
    assert "all checks vs core checks" in text and "malware pass on the large image: read " in text
    assert "budget exhausted: no" in text
    assert not (tmp_path / "scan-bench").exists()
