"""Family `os`: the distribution release must still get security updates."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check


@check("os")
def end_of_life(ctx: ScanContext) -> Iterator[Finding]:
    info = ctx.os
    if info is None:
        return  # already recorded as incomplete by the engine
    if info.eol is None:
        ctx.incomplete(f"no end-of-life data for {info.distro} {info.version or '(no version)'}")
        return
    if not info.eol:
        return
    source = ctx.cache.get("os_release_path", "/etc/os-release")
    line = _line_of(ctx, source, "VERSION_ID=") if source in ("/etc/os-release", "/usr/lib/os-release") else 1
    until = f"ended on {info.eol_date}" if info.eol_date else "ended"
    yield Finding(
        check_id="os.eol",
        severity="high",
        title=f"{info.pretty_name} is end-of-life: security support {until}",
        evidence=[Evidence(path=source, line=line, text=f"{info.distro} {info.version}")],
        fix="Rebuild the image on a supported release of the distribution, then rescan.",
        family="os",
        data={"distro": info.distro, "version": info.version, "eol_date": info.eol_date},
    )


def _line_of(ctx: ScanContext, path: str, prefix: str) -> int | None:
    text = ctx.read_text(path, 64 * 1024) or ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(prefix):
            return number
    return None
