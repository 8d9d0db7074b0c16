"""Sizes for people to read. Django-free, so the CLI and the benchmarks share it with the server."""


def human_bytes(n: float) -> str:
    """Binary units, the way disk sizes are usually read: 512 B, 64.0 MiB, 2.0 TiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
