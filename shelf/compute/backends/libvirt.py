"""The libvirt back end: instances are libvirt domains (`qemu:///system` here, `qemu+ssh://host/system` for another
host), for the multi-host case. Set SHELF_COMPUTE_BACKEND=libvirt and SHELF_COMPUTE_LIBVIRT_URI.

It shares the local back end's per-instance files (overlay, NoCloud seed, bounded console log, spec, memory budget)
under SHELF_DATA_DIR/libvirt/<ref>/; libvirt owns the process: a persistent domain `shelf-<ref>` whose serial
console is that log file, booted, ACPI-shut-down (`shutdown`, then `destroy` after the timeout), `reset` and
`undefine`d through the libvirt API instead of qemu -daemonize and QMP. Networking is still qemu's user mode with
loopback port forwards (passed with libvirt's qemu:commandline, since libvirt 9's <interface type='user'> has no
forwards without passt).

For a remote URI the files must be where that host's qemu can open them (a shared file system mounted at the same
path); uploading overlays into a libvirt storage pool is the step beyond that (docs/compute.md).
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from shelf.compute.backends.base import BackendError
from shelf.compute.backends.local import LocalQemuBackend

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


class LibvirtBackend(LocalQemuBackend):
    name = "libvirt"
    directory_name = "libvirt"

    def __init__(self, *, data_dir: str, memory_mib: int, accel: str = "auto", uri: str = "qemu:///system", **_o):
        super().__init__(data_dir=data_dir, memory_mib=memory_mib, accel=accel)
        self.uri = uri
        self._connection = None

    def _conn(self):
        import libvirt

        if self._connection is None or not self._connection.isAlive():
            libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors are raised, not printed too
            try:
                self._connection = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise BackendError(f"libvirt at {self.uri} does not answer: {exc.get_error_message()}") from exc
            atexit.register(self._connection.close)  # before the module's globals go at exit
        return self._connection

    def _domain(self, ref: str):
        import libvirt

        try:
            return self._conn().lookupByName(f"shelf-{ref}")
        except libvirt.libvirtError:
            return None

    def _xml(self, ref: str, directory: Path, spec: dict, accel: str) -> str:
        forwards = ",".join(
            f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in sorted(spec["forwarded_ports"].items())
        )
        netdev = f"user,id=net0,hostname={spec['hostname']},{forwards}"
        kind = "kvm" if accel == "kvm" else "qemu"
        existing = self._domain(ref)
        uuid = f"<uuid>{existing.UUIDString()}</uuid>" if existing is not None else ""  # a redefinition keeps it
        cpu = "<cpu mode='host-passthrough'/>" if accel == "kvm" else ""
        return f"""<domain type='{kind}' xmlns:qemu='{QEMU_NS}'>
  <name>shelf-{escape(ref)}</name>{uuid}
  <memory unit='MiB'>{int(spec["memory_mib"])}</memory>
  <vcpu>{int(spec["vcpus"])}</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>{cpu}
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/>
      <source file={quoteattr(str(directory / "disk.qcow2"))}/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file={quoteattr(str(directory / "seed.img"))}/><target dev='vdb' bus='virtio'/><readonly/></disk>
    <serial type='file'><source path={quoteattr(str(directory / "console.log"))} append='on'/>
      <target port='0'/></serial>
    <video><model type='none'/></video><memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/><qemu:arg value={quoteattr(netdev)}/>
    <qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=net0,addr=0x10'/>
  </qemu:commandline>
</domain>"""

    def _start_process(self, ref: str, directory: Path, spec: dict, accel: str) -> str:
        import libvirt

        try:
            # Defined once, and again only when the forwarded ports moved: a definition can be slow (some libvirtd
            # probe qemu's capabilities again for it; about 50 s on the machine this was written on).
            domain = self._domain(ref)
            wanted = self._xml(ref, directory, spec, accel)
            ports = [f"127.0.0.1:{host}-:{guest}" for guest, host in spec["forwarded_ports"].items()]
            if domain is None or not all(p in domain.XMLDesc() for p in ports):
                domain = self._conn().defineXML(wanted)
            domain.create()
        except libvirt.libvirtError as exc:
            return exc.get_error_message() or str(exc)
        return ""

    def _alive(self, ref: str) -> bool:
        import libvirt

        domain = self._domain(ref)
        return domain is not None and domain.state()[0] in (
            libvirt.VIR_DOMAIN_RUNNING,
            libvirt.VIR_DOMAIN_BLOCKED,
            libvirt.VIR_DOMAIN_PAUSED,
        )

    def _exit(self, ref: str, directory: Path, spec: dict) -> tuple[str, str]:
        import libvirt

        domain = self._domain(ref)
        if domain is None:
            return "died", "libvirt no longer knows the domain"
        state, reason = domain.state()
        if state == libvirt.VIR_DOMAIN_SHUTOFF and reason in (libvirt.VIR_DOMAIN_SHUTOFF_CRASHED,):
            return "died", "the domain crashed"
        if spec.get("last_stop"):
            return "clean", spec["last_stop"]
        if state == libvirt.VIR_DOMAIN_SHUTOFF and reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN:
            return "clean", "the guest powered off"
        return "died", f"the domain stopped (libvirt state {state}, reason {reason})"

    def _halt(self, ref: str, directory: Path, timeout: float) -> str:
        import libvirt

        domain = self._domain(ref)
        if domain is None or not self._alive(ref):
            return ""
        how = ""
        if timeout > 0:
            try:
                domain.shutdown()  # ACPI power button
            except libvirt.libvirtError:
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._alive(ref):
                time.sleep(0.1)
            if not self._alive(ref):
                how = "powered off by the guest (ACPI)"
        if not how:
            try:
                domain.destroy()
            except libvirt.libvirtError:
                pass
            how = f"stopped hard after {timeout:.0f} s (destroy)" if timeout > 0 else "stopped hard (destroy)"
        return how

    def _reset(self, ref: str, directory: Path) -> None:
        import libvirt

        domain = self._domain(ref)
        try:
            domain.reset(0)
        except (libvirt.libvirtError, AttributeError) as exc:
            raise BackendError("the instance did not accept the reset") from exc

    def _forget(self, ref: str) -> None:
        import libvirt

        domain = self._domain(ref)
        if domain is not None:
            try:
                domain.undefine()
            except libvirt.libvirtError:
                pass
