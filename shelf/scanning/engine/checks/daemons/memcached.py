"""Memcached: `-l`, `-p`/`-U` from memcached.conf, sysconfig or the command line, and SASL."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from shelf.scanning.engine import boot
from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, command, split_words
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("memcached.service", "memcached@.service"), ("memcached",), ("memcached",))
    if not started:
        return
    argv, argv_at = command(b, started)
    words: list[tuple[str, Evidence]] = []
    conf_files = [a for a in argv[1:] if a.endswith(".conf")]
    if not argv:
        conf_files = ["/etc/memcached.conf"]
    for path in conf_files:
        text = ctx.read_text(path, CONF_LIMIT) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            for word in split_words(line):
                words.append((word, Evidence(path, number, line.strip()[:200])))
    if not argv:
        env = boot.read_env_file(ctx, "/etc/sysconfig/memcached")
        for word in split_words(env.get("OPTIONS", "")) + (["-p", env["PORT"]] if env.get("PORT") else []):
            words.append((word, Evidence("/etc/sysconfig/memcached", None, f"OPTIONS={env.get('OPTIONS', '')}")))
    if argv_at and argv and posixpath.basename(argv[0]).startswith("memcached"):
        words += [(w, argv_at) for w in argv[1:]]
    listen_values: list[tuple[str, Evidence]] = []
    port, udp = 11211, 0
    auth_at: list[Evidence] = []
    i = 0
    while i < len(words):
        word, ev = words[i]
        nxt = words[i + 1][0] if i + 1 < len(words) else ""
        m = re.match(r"^(-l|--listen)(?:=|(?<=-l)(?=.))?(.*)$", word)
        if m:
            value = m.group(2) or nxt
            listen_values = [(value, ev)]  # the last -l wins; it may list several addresses
            i += 1 if m.group(2) else 2
            continue
        m = re.match(r"^(-p|--port|-U|--udp-port)(?:=)?(.*)$", word)
        if m:
            value = m.group(2) or nxt
            if value.isdigit():
                if m.group(1) in ("-p", "--port"):
                    port = int(value)
                else:
                    udp = int(value)
            i += 1 if m.group(2) else 2
            continue
        if word in ("-S", "--enable-sasl") or word.startswith(("-Y", "--auth-file")):
            auth_at.append(ev)
        i += 1
    if listen_values:
        value, listen = listen_values[-1]
        addresses = [a.split(":", 1)[0] if a.count(":") == 1 else a for a in value.split(",")]
    else:
        addresses = ["*"]
        listen = Evidence(
            conf_files[0] if conf_files else "/etc/memcached.conf",
            None,
            "no -l option: memcached listens on all interfaces",
        )
    if not exposed(addresses):
        return
    ports = ([(port, "tcp")] if port else []) + ([(udp, "udp")] if udp else [])
    if not ports:
        return
    fix = "Keep `-l 127.0.0.1` in /etc/memcached.conf (the packaged default); memcached has no authentication unless SASL (-S) is configured."
    if auth_at:
        site = ("memcached", "Memcached", started, ports, addresses, listen)
        yield Exposure(*site, True, "SASL or an auth file is required", auth_at, fix)
    else:
        site = ("memcached", "Memcached", started, ports, addresses, listen)
        yield Exposure(*site, False, "memcached has no authentication (no -S / -Y)", [], fix)
