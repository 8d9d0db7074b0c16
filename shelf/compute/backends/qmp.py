"""A minimal QMP client: one unix socket, JSON lines, synchronous (QEMU Machine Protocol, docs/interop/qmp-spec).

qemu.qmp on PyPI is asyncio-based and does far more than Shelf needs (four commands, one at a time), so this is
the whole of it: greeting, qmp_capabilities, then `execute` returns the command's `return` or raises QmpError.
Events arriving in between are collected, not interpreted.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, directory: Path, name: str = "qmp.sock", timeout: float = 5.0):
        # A unix socket path is limited to 108 bytes; data directories can be deeper. Connect through the
        # directory's file descriptor instead, which is short whatever the directory.
        self._dirfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self.events: list[dict] = []
        try:
            self._sock.connect(f"/proc/self/fd/{self._dirfd}/{name}")
            self._file = self._sock.makefile("rb")
            greeting = self._read()
            if "QMP" not in greeting:
                raise QmpError(f"not a QMP greeting: {greeting}")
            self.execute("qmp_capabilities")
        except BaseException:
            self.close()
            raise

    def _read(self) -> dict:
        line = self._file.readline()
        if not line:
            raise QmpError("QMP connection closed")
        return json.loads(line)

    def execute(self, command: str, **arguments) -> object:
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self._sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def close(self) -> None:
        try:
            self._sock.close()
        finally:
            os.close(self._dirfd)

    def __enter__(self) -> Qmp:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
