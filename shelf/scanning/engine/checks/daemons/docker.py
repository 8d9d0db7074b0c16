"""The Docker API: `-H tcp://...` on the daemon's command line or in daemon.json, and --tlsverify."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from shelf.scanning.engine import boot
from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, command, find_line, split_words
from shelf.scanning.engine.checks.daemons.exposure import Exposure, is_loopback
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("docker.service",), ("docker",), ("docker",))
    if not started:
        return
    argv, argv_at = command(b, started)
    hosts: list[tuple[str, Evidence]] = []
    tlsverify: Evidence | None = None
    words = argv[1:]
    if not argv:
        env = boot.read_env_file(ctx, "/etc/default/docker")
        words = split_words(env.get("DOCKER_OPTS", ""))
        argv_at = Evidence("/etc/default/docker", None, f"DOCKER_OPTS={env.get('DOCKER_OPTS', '')}"[:200])
    for i, word in enumerate(words):
        if word in ("-H", "--host") and i + 1 < len(words):
            hosts.append((words[i + 1], argv_at))  # type: ignore[arg-type]
        elif word.startswith(("--host=", "-H=")) or (word.startswith("-H") and len(word) > 2 and word[2] != "="):
            hosts.append((word.split("=", 1)[1] if "=" in word[:8] else word[2:], argv_at))  # type: ignore[arg-type]
        elif word in ("--tlsverify", "--tlsverify=true"):
            tlsverify = argv_at
    daemon_json = ctx.read_text("/etc/docker/daemon.json", CONF_LIMIT)
    if daemon_json:
        try:
            daemon = json.loads(daemon_json)
        except ValueError:
            daemon = {}
        if isinstance(daemon, dict):
            for host in daemon.get("hosts") or []:
                hosts.append(
                    (
                        str(host),
                        Evidence(
                            "/etc/docker/daemon.json",
                            find_line(daemon_json, r'"hosts"'),
                            f'"hosts": {json.dumps(daemon.get("hosts"))}'[:200],
                        ),
                    )
                )
            if daemon.get("tlsverify") is True:
                tlsverify = Evidence(
                    "/etc/docker/daemon.json", find_line(daemon_json, r'"tlsverify"'), '"tlsverify": true'
                )
    tcp = []
    for host, ev in hosts:
        m = re.match(r"^tcp://(\[[^\]]*\]|[^:/]*)(?::(\d+))?", host)
        if m:
            address = m.group(1).strip("[]") or "localhost"
            tcp.append((address, int(m.group(2) or 2375), ev))
    public = [(a, p, ev) for a, p, ev in tcp if not is_loopback(a)]
    if not public:
        return
    addresses = sorted({a for a, _, _ in public})
    ports = sorted({(p, "tcp") for _, p, _ in public})
    listen = Evidence(public[0][2].path, public[0][2].line, public[0][2].text)
    fix = (
        'Remove `-H tcp://...` (and "hosts" in /etc/docker/daemon.json): the Docker API gives root on the host. '
        "If remote access is needed, use SSH (`docker -H ssh://`) or TLS client certificates (--tlsverify) on 2376."
    )
    if tlsverify:
        site = ("docker", "Docker API", started, ports, addresses, listen)
        yield Exposure(*site, True, "TLS client certificates are required (--tlsverify)", [tlsverify], fix)
    else:
        site = ("docker", "Docker API", started, ports, addresses, listen)
        yield Exposure(
            *site,
            False,
            "the Docker API over TCP without --tlsverify accepts anyone, and gives root on the host",
            [],
            fix,
        )
