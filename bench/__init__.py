"""Shelf's benchmarks (`python bench/run.py`); a package so the tests can import them from the repository root."""
