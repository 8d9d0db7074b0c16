"""SHA-256 whose running state can be saved between HTTP requests.

A resumable upload arrives as many requests, possibly served by different processes, and the
checksum must be computed while the bytes stream through. hashlib cannot export its state, so
this drives OpenSSL's SHA256_CTX (the same libcrypto hashlib uses) and stores the 112-byte
context between chunks. It is as fast as hashlib (SHA-NI where the CPU has it).
"""

import ctypes
import ctypes.util
from functools import cache

CTX_SIZE = 112  # sizeof(SHA256_CTX): h[8], Nl, Nh, data[16], num, md_len — all 32-bit


@cache
def _libcrypto():
    name = ctypes.util.find_library("crypto") or "libcrypto.so.3"
    lib = ctypes.CDLL(name)
    lib.SHA256_Init.argtypes = [ctypes.c_void_p]
    lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    return lib


class ResumableSha256:
    def __init__(self, state: bytes | None = None):
        if state is not None and len(state) != CTX_SIZE:
            raise ValueError("not a SHA-256 state")
        self._ctx = ctypes.create_string_buffer(state or b"\0" * CTX_SIZE, CTX_SIZE)
        if state is None:
            _libcrypto().SHA256_Init(self._ctx)

    def update(self, data: bytes) -> None:
        _libcrypto().SHA256_Update(self._ctx, data, len(data))

    def state(self) -> bytes:
        return self._ctx.raw

    def hexdigest(self) -> str:
        # Finalising destroys the context, so finalise a copy.
        copy = ctypes.create_string_buffer(self._ctx.raw, CTX_SIZE)
        out = ctypes.create_string_buffer(32)
        _libcrypto().SHA256_Final(out, copy)
        return out.raw.hex()
