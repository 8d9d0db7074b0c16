"""What Shelf needs from a compute back end, modelled on Tencent CVM (RunInstances with a ClientToken,
DescribeInstances, Start/Stop/Reboot/TerminateInstances, GetSerialConsoleOutput) and OpenStack Nova (servers,
os-start/os-stop/reboot, os-getConsoleOutput).

Django-free on purpose: a back end sees a `LaunchSpec`, never a model, so a driver can be tested and run alone.
Every call is idempotent (a retried job is harmless) and none waits for the guest: `launch`, `start` and `reboot`
return once the back end accepted the work; callers poll `describe` for the guest's progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class BackendError(Exception):
    """The back end could not do what was asked; the message is for the buyer (no host paths, no secrets)."""


class InsufficientCapacity(BackendError):
    """The host (or region) has no room for the spec: Nova's "No valid host", CVM's ResourceInsufficient."""


class NotFound(BackendError):
    """The back end does not know this reference (any more)."""


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a back end needs to boot one instance."""

    instance_id: str
    region: str  # the catalog region's code, e.g. ap-guangzhou
    image_key: str  # the image's object in Shelf's storage (shelf.storage), e.g. images/ap-guangzhou/7/3f2a…
    image_format: str  # qcow2, raw, vmdk, vhd, vhdx as Shelf validated it
    image_sha256: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    ssh_public_key: str
    hostname: str
    user_data: str = ""  # appended to the generated #cloud-config, or replacing it if it is its own document
    ports: tuple[int, ...] = ()  # guest TCP ports the product needs reachable; 22 is always forwarded
    image_path: Path | None = None  # a local file holding the image, for back ends on this host


@dataclass
class BackendInstance:
    """What `describe` and `list` answer.

    state: "booting" (the process runs, the guest printed nothing since it was started or reset), "running"
    (the guest printed on its console since), "stopped" (no process, the disk is kept), "absent" (unknown).
    """

    ref: str
    state: str
    forwarded_ports: dict[str, int] = field(default_factory=dict)
    ssh_host: str = "127.0.0.1"
    console_size: int = 0  # absolute offset of the console's end
    boot_offset: int = 0  # console offset at which the current boot began
    memory_mib: int = 0
    detail: str = ""  # why it is in that state, for logs and the buyer (exit reason, …)
    # For "stopped": "clean" when the guest powered off or was stopped by the back end, "died" when its process
    # was killed or crashed (or the host went down under it).
    exit: str = ""


class ComputeBackend(Protocol):
    name: str

    def launch(self, spec: LaunchSpec, idempotency_key: str) -> BackendInstance:
        """Create and boot the instance; the same key answers the instance created first. Raises
        InsufficientCapacity when it does not fit, BackendError when it cannot be created."""

    def describe(self, ref: str) -> BackendInstance:
        """The instance as the back end sees it now (state "absent" if it does not know it)."""

    def start(self, ref: str) -> BackendInstance:
        """Boot a stopped instance again on its kept disk (InsufficientCapacity if it no longer fits)."""

    def stop(self, ref: str, timeout: float) -> BackendInstance:
        """Ask the guest to power off (ACPI); after `timeout` seconds stop it hard. Returns when stopped."""

    def reboot(self, ref: str) -> BackendInstance:
        """Reset the guest; the next console output belongs to the new boot."""

    def terminate(self, ref: str) -> None:
        """Stop the instance and delete everything it holds (process, disk, seed). Unknown refs are done."""

    def console(self, ref: str, offset: int = 0, limit: int = 65536) -> tuple[bytes, int]:
        """Serial console output from absolute `offset` (at most `limit` bytes) and the offset to ask next.
        The log is bounded: an offset older than what is kept starts at the oldest byte kept."""

    def export_disk(self, ref: str, destination: Path) -> None:
        """Write the stopped instance's system disk to `destination` as one standalone qcow2 (its overlay and the
        image under it flattened, no backing file); the instance's own disk is only read. BackendError if it runs
        or the back end cannot (a cloud driver would call its own CreateImage instead), NotFound if unknown."""

    def list(self) -> list[BackendInstance]:
        """Every instance this back end holds, for reconciliation after a restart."""

    def acceleration(self) -> dict:
        """How guests are run ({"accel": "kvm"|"tcg"|..., "reason": ...}), for the operator console."""
