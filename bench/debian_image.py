"""A real Debian 12 (bookworm) disk image for the scan benchmark, built from Debian's packages and cached.

    python bench/debian_image.py [small|big ...] [--force] [--json]

prints the path of each cached qcow2 (building it first when missing or when its recipe changed).

What is built: a root filesystem made by mmdebstrap (debootstrap when mmdebstrap cannot be had) with the
`important` package set, a cloud image's packages (linux-image-cloud-amd64, systemd-sysv, ifupdown,
cloud-init) and the servers of a LAMP-style image (openssh-server, nginx, redis-server, mariadb-server,
php-fpm); written with `mkfs.ext4 -d` straight into the one partition of a GPT disk (at 1 MiB, through
mke2fs's `-E offset=`: no loop device, no mount) and converted to qcow2 with qemu-img. No boot loader is
installed: the scanner never boots the image. The "big" variant is the same tree plus 8 GiB of
incompressible data in /srv/data.bin on a 10 GiB-virtual disk, to check that a scan is flat in image size.

Cache: $SHELF_BENCH_CACHE, default /var/cache/shelf-bench/ (outside the repository; images are GBs). Each
image has a manifest beside it (NAME.json) holding the hash of the recipe it was built from; an image whose
manifest's hash matches the current recipe is reused as it is. The root filesystem (the slow part, several
minutes of downloads and package installation) is cached too, as a directory named after its own recipe
hash, so a second variant or a change to the disk layout does not run mmdebstrap again.

Needs root (mmdebstrap in root mode, files owned by root) and the Debian tools mmdebstrap (or debootstrap),
e2fsprogs, fdisk (sfdisk) and qemu-utils; missing ones are installed with apt-get. The mirror is
$SHELF_BENCH_MIRROR (default http://deb.debian.org/debian; security updates from .../debian-security).
Debian's mirror moves on, so two builds a month apart differ in package versions: the manifest records
each installed package and version (dpkg's status) so runs can be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

MiB = 1024**2
GiB = 1024**3

# Bump when the build steps change in a way the recipe below does not capture.
BUILDER_VERSION = 1

SUITE = "bookworm"
CLOUD_PACKAGES = ["linux-image-cloud-amd64", "systemd-sysv", "ifupdown", "cloud-init", "sudo", "ca-certificates"]
SERVER_PACKAGES = ["openssh-server", "nginx", "redis-server", "mariadb-server", "php-fpm"]
PACKAGES = CLOUD_PACKAGES + SERVER_PACKAGES

VARIANTS: dict[str, dict] = {
    # Virtual size of the disk; extra data written into the tree before the filesystem is made.
    "small": {"disk_gib": 2, "data": None},
    "big": {"disk_gib": 10, "data": {"path": "srv/data.bin", "bytes": 8 * GiB}},
}

PART_START = MiB  # the partition starts at 1 MiB (sector 2048)
GPT_TAIL = MiB  # room left at the end for the backup GPT (33 sectors; 1 MiB keeps the partition aligned)
LINUX_FS_GUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

TOOLS = {  # command -> Debian package
    "mkfs.ext4": "e2fsprogs",
    "sfdisk": "fdisk",
    "qemu-img": "qemu-utils",
}


def cache_dir() -> Path:
    return Path(os.environ.get("SHELF_BENCH_CACHE") or "/var/cache/shelf-bench")


def mirror() -> str:
    return (os.environ.get("SHELF_BENCH_MIRROR") or "http://deb.debian.org/debian").rstrip("/")


def sources() -> list[str]:
    base = mirror()
    security = base[: -len("/debian")] + "/debian-security" if base.endswith("/debian") else base + "-security"
    return [
        f"deb {base} {SUITE} main",
        f"deb {base} {SUITE}-updates main",
        f"deb {security} {SUITE}-security main",
    ]


def log(text: str) -> None:
    print(f"[debian-image {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(*args: str | os.PathLike, quiet: bool = False, **kwargs) -> subprocess.CompletedProcess:
    command = [str(a) for a in args]
    log("$ " + " ".join(command))
    done = subprocess.run(command, capture_output=quiet, text=True, check=False, **kwargs)
    if done.returncode != 0:
        detail = (done.stderr or "")[-4000:] if quiet else ""
        raise RuntimeError(f"{command[0]} exited {done.returncode}\n{detail}")
    return done


# --------------------------------------------------------------------------- recipe and cache


def rootfs_recipe() -> dict:
    return {
        "builder": BUILDER_VERSION,
        "suite": SUITE,
        "arch": "amd64",
        "variant": "important",
        "packages": PACKAGES,
        "sources": sources(),
    }


def image_recipe(variant: str) -> dict:
    return {"rootfs": rootfs_recipe(), "variant": variant, **VARIANTS[variant], "fs": "ext4", "label": "gpt"}


def recipe_hash(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def image_path(variant: str) -> Path:
    return cache_dir() / f"debian12-{variant}.qcow2"


def manifest_path(variant: str) -> Path:
    return cache_dir() / f"debian12-{variant}.json"


def cached(variant: str) -> dict | None:
    """The manifest of a cached image built from the current recipe, or None."""
    image, manifest = image_path(variant), manifest_path(variant)
    if not (image.is_file() and manifest.is_file()):
        return None
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    if recorded.get("recipe_hash") != recipe_hash(image_recipe(variant)):
        return None
    if recorded.get("qcow2_bytes") != image.stat().st_size:
        return None
    return recorded


# --------------------------------------------------------------------------- tools


def ensure_tools() -> str:
    """Install what is missing; return the root filesystem builder to use ("mmdebstrap" or "debootstrap")."""
    if os.geteuid() != 0:
        raise SystemExit("building the Debian benchmark image needs root (mmdebstrap --mode=root, root-owned files)")
    missing = sorted({pkg for cmd, pkg in TOOLS.items() if shutil.which(cmd) is None})
    if shutil.which("mmdebstrap") is None and shutil.which("debootstrap") is None:
        missing.append("mmdebstrap")
    if missing:
        apt_install(missing)
    if shutil.which("mmdebstrap") is None and shutil.which("debootstrap") is None:
        apt_install(["debootstrap"])
    return "mmdebstrap" if shutil.which("mmdebstrap") else "debootstrap"


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    try:
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)
    except RuntimeError:
        if packages == ["mmdebstrap"]:
            log("mmdebstrap could not be installed; falling back to debootstrap")
            run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "debootstrap", env=env)
        else:
            raise


# --------------------------------------------------------------------------- root filesystem

# Run inside the new tree before it is sealed: what a cloud image has beside its packages.
NETWORK_INTERFACES = """\
# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface (a cloud image's default; cloud-init may rewrite it)
allow-hotplug eth0
iface eth0 inet dhcp
"""


def build_rootfs(builder: str) -> Path:
    """The root filesystem directory for the current recipe (cached; built once)."""
    recipe = rootfs_recipe()
    digest = recipe_hash(recipe)[:16]
    final = cache_dir() / f"rootfs-{digest}"
    if (final / ".shelf-rootfs.json").is_file():
        log(f"reusing root filesystem {final}")
        return final
    cache_dir().mkdir(parents=True, exist_ok=True)
    for stale in cache_dir().glob("rootfs-*"):  # other recipes' trees and interrupted builds
        log(f"removing stale {stale}")
        shutil.rmtree(stale, ignore_errors=True)
    partial = cache_dir() / f"rootfs-{digest}.partial"
    started = time.monotonic()
    try:
        if builder == "mmdebstrap":
            run(
                "mmdebstrap",
                "--mode=root",
                "--variant=important",
                "--arch=amd64",
                "--include=" + ",".join(PACKAGES),
                # Cloud-image touches; the machine-id is left as the builder leaves it (recorded in the manifest).
                '--customize-hook=echo debian > "$1/etc/hostname"',
                '--customize-hook=printf "127.0.0.1\\tlocalhost\\n127.0.1.1\\tdebian\\n" > "$1/etc/hosts"',
                SUITE,
                partial,
                *sources(),
            )
        else:
            run(
                "debootstrap",
                "--arch=amd64",
                "--include=" + ",".join(PACKAGES),
                SUITE,
                partial,
                mirror(),
            )
            (partial / "etc/hostname").write_text("debian\n")
        (partial / "etc/network").mkdir(parents=True, exist_ok=True)
        (partial / "etc/network/interfaces").write_text(NETWORK_INTERFACES)
        info = {"recipe": recipe, "builder": builder, "seconds": round(time.monotonic() - started, 1)}
        (partial / ".shelf-rootfs.json").write_text(json.dumps(info, indent=2))
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log(f"root filesystem built in {time.monotonic() - started:.0f} s")
    return final


def dpkg_installed(tree: Path) -> dict[str, str]:
    """package -> version of every installed package, from the tree's dpkg status file."""
    installed: dict[str, str] = {}
    status = (tree / "var/lib/dpkg/status").read_text(errors="replace")
    for stanza in status.split("\n\n"):
        fields = {}
        for row in stanza.splitlines():
            if ":" in row and not row.startswith(" "):
                key, _, value = row.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            arch = fields.get("Architecture", "")
            name = fields["Package"] if arch in ("all", "amd64", "") else f"{fields['Package']}:{arch}"
            installed[name] = fields.get("Version", "")
    return installed


def tree_bytes(tree: Path) -> int:
    done = subprocess.run(["du", "-sb", str(tree)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def machine_id_state(tree: Path) -> str:
    path = tree / "etc/machine-id"
    if path.is_symlink():
        return f"symlink to {os.readlink(path)}"
    if not path.exists():
        return "absent"
    text = path.read_text(errors="replace").strip()
    if not text:
        return "present, empty"
    return f"present, {text!r}"


# --------------------------------------------------------------------------- data and disk


def write_data(path: Path, size: int) -> None:
    """Incompressible, allocated data: a 64 MiB random block, each copy stamped with its offset (no two
    blocks alike, so neither qcow2 nor a deduplicating store can fold it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(64 * MiB))
    with open(path, "wb") as fh:
        offset = 0
        while offset < size:
            n = min(size - offset, len(block))
            block[:8] = offset.to_bytes(8, "little")
            fh.write(memoryview(block)[:n])
            offset += n
    os.chmod(path, 0o640)


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    cache_dir().mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_disk(tree: Path, raw: Path, disk_bytes: int, fs_uuid: str) -> None:
    """A GPT disk of `disk_bytes` with one Linux partition at 1 MiB holding an ext4 made from `tree`."""
    part_bytes = disk_bytes - PART_START - GPT_TAIL
    with open(raw, "wb") as fh:
        fh.truncate(disk_bytes)
    layout = f"label: gpt\nstart={PART_START // 512}, size={part_bytes // 512}, type={LINUX_FS_GUID}, name=root\n"
    run("sfdisk", "--quiet", raw, input=layout, quiet=True)
    run(
        "mkfs.ext4",
        "-q",
        "-F",
        "-L",
        "root",
        "-U",
        fs_uuid,
        "-E",
        f"offset={PART_START},root_owner=0:0,nodiscard",
        "-d",
        tree,
        raw,
        f"{part_bytes // 1024}k",
        quiet=True,
    )
    # mke2fs wrote only inside the partition: the table is still there, and the filesystem checks clean.
    table = json.loads(run("sfdisk", "--json", raw, quiet=True).stdout)["partitiontable"]
    if [(p["start"], p["size"]) for p in table.get("partitions", [])] != [(PART_START // 512, part_bytes // 512)]:
        raise RuntimeError(f"unexpected partition table after mkfs: {table}")
    check_fs(raw, part_bytes)


def check_fs(raw: Path, part_bytes: int) -> None:
    """Run e2fsck -fn on the partition, through a loop device bound to it (read-only), when one can be had."""
    if shutil.which("losetup") is None or not Path("/dev/loop-control").exists():
        log("no loop devices: skipping e2fsck of the partition")
        return
    done = subprocess.run(
        [
            "losetup",
            "--find",
            "--show",
            "--read-only",
            "--offset",
            str(PART_START),
            "--sizelimit",
            str(part_bytes),
            str(raw),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        log(f"no loop device ({done.stderr.strip()}): skipping e2fsck of the partition")
        return
    device = done.stdout.strip()
    try:
        run("e2fsck", "-fn", device, quiet=True)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


def build_variant(variant: str, builder: str) -> dict:
    spec = VARIANTS[variant]
    recipe = image_recipe(variant)
    digest = recipe_hash(recipe)
    rootfs = build_rootfs(builder)
    started = time.monotonic()
    image, manifest = image_path(variant), manifest_path(variant)
    with work_dir() as work:
        tree = work / "tree"
        run("cp", "-a", rootfs, tree)
        (tree / ".shelf-rootfs.json").unlink()
        fs_uuid = str(uuid.UUID(digest[:32]))
        (tree / "etc/fstab").write_text(f"UUID={fs_uuid} / ext4 errors=remount-ro 0 1\n")
        if spec["data"]:
            log(f"writing {spec['data']['bytes'] / GiB:g} GiB of data to /{spec['data']['path']}")
            write_data(tree / spec["data"]["path"], spec["data"]["bytes"])
        content_bytes = tree_bytes(tree)
        disk_bytes = spec["disk_gib"] * GiB
        # Block rounding of small files, inode tables (1 per 16 KiB) and the journal: a few percent and some MiB.
        if content_bytes * 1.04 + disk_bytes * 0.03 + 256 * MiB > disk_bytes:
            raise RuntimeError(f"{content_bytes} bytes of files do not fit a {spec['disk_gib']} GiB disk")
        packages = dpkg_installed(tree)
        machine_id = machine_id_state(tree)
        raw = work / "disk.raw"
        make_disk(tree, raw, disk_bytes, fs_uuid)
        shutil.rmtree(tree)
        partial = work / "disk.qcow2"
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, partial)
        raw.unlink()
        info = json.loads(run("qemu-img", "info", "--output=json", partial, quiet=True).stdout)
        record = {
            "variant": variant,
            "recipe": recipe,
            "recipe_hash": digest,
            "builder": builder,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.monotonic() - started, 1),
            "rootfs_seconds": json.loads((rootfs / ".shelf-rootfs.json").read_text())["seconds"],
            "virtual_bytes": info["virtual-size"],
            "qcow2_bytes": partial.stat().st_size,
            "allocated_bytes": info.get("actual-size"),
            "files_bytes": content_bytes,
            "partition": {"label": "gpt", "start": PART_START, "bytes": disk_bytes - PART_START - GPT_TAIL},
            "fs_uuid": fs_uuid,
            "machine_id": machine_id,
            "package_count": len(packages),
            "packages": packages,
        }
        # The image first, then its manifest: a manifest only ever describes a complete image.
        manifest.unlink(missing_ok=True)
        partial.rename(image)
        record["qcow2_bytes"] = image.stat().st_size
        tmp_manifest = manifest.with_suffix(".json.partial")
        tmp_manifest.write_text(json.dumps(record, indent=2))
        tmp_manifest.rename(manifest)
    log(f"{variant}: {image} ({record['qcow2_bytes'] / MiB:.0f} MiB qcow2) in {record['build_seconds']:.0f} s")
    return record


def ensure(variant: str, force: bool = False) -> Path:
    """The path of the cached qcow2 for `variant`, built first when needed (the benchmark's entry point)."""
    if not force and cached(variant):
        return image_path(variant)
    builder = ensure_tools()
    build_variant(variant, builder)
    return image_path(variant)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", metavar="VARIANT", help=f"one of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild the images even when cached")
    parser.add_argument("--json", action="store_true", help="print each image's manifest (without the package list)")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    for variant in args.variants or list(VARIANTS):
        path = ensure(variant, force=args.force)
        if args.json:
            record = json.loads(manifest_path(variant).read_text())
            record.pop("packages", None)
            print(json.dumps({"path": str(path), **record}, indent=2))
        else:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
