"""Reading an instance's serial console, shared by the API, the web page and the boot-time failure reason."""

from shelf.compute.backends import get_backend
from shelf.compute.backends.base import BackendError
from shelf.compute.models import Instance


def console_read(instance: Instance, *, offset: int = 0, limit: int = 65536) -> tuple[str, int, int]:
    """(text, next_offset, offset actually read from). Once the back end holds nothing, what was kept on the row."""
    if instance.backend_ref:
        try:
            data, next_offset = get_backend().console(instance.backend_ref, offset, limit)
        except BackendError:
            pass
        else:
            return data.decode("utf-8", errors="replace"), next_offset, next_offset - len(data)
    tail = (instance.console_info or {}).get("tail", "")
    return (tail if offset == 0 else ""), (len(tail.encode()) if offset == 0 else offset), offset
