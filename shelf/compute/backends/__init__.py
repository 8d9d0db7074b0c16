"""The compute back end instances run on, chosen by SHELF_COMPUTE_BACKEND: a short name ("local") or a dotted path
to a class taking the data directory, the memory budget, the acceleration setting and a URI (an OpenStack or CVM
driver plugs in there; see docs/compute.md)."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from shelf.compute.backends.base import ComputeBackend

BACKENDS = {
    "local": "shelf.compute.backends.local.LocalQemuBackend",
    "libvirt": "shelf.compute.backends.libvirt.LibvirtBackend",
}


@cache
def _backend_for(name: str, data_dir: str, memory_mib: int, accel: str, uri: str) -> ComputeBackend:
    return import_string(BACKENDS.get(name, name))(data_dir=data_dir, memory_mib=memory_mib, accel=accel, uri=uri)


def get_backend() -> ComputeBackend:
    return _backend_for(
        settings.SHELF_COMPUTE_BACKEND,
        str(settings.DATA_DIR),
        settings.SHELF_COMPUTE_MEMORY_MIB,
        settings.SHELF_COMPUTE_ACCEL,
        settings.SHELF_COMPUTE_LIBVIRT_URI,
    )
