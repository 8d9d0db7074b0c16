"""MongoDB: mongod.conf (YAML or the old `key = value`), bindIp, and access control."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, command, find_line, major_version, options, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    import yaml

    started = b.started(("mongod.service", "mongodb.service"), ("mongod", "mongodb"), ("mongodb", "mongod"))
    if not started:
        return
    argv, argv_at = command(b, started)
    cli = options(argv[1:])
    if "-f" in argv[1:-1]:
        cli.setdefault("config", argv[argv.index("-f") + 1])
    path = cli.get("config") or next((p for p in ("/etc/mongod.conf", "/etc/mongodb.conf") if ctx.is_file(p)), None)
    text = ctx.read_text(path, CONF_LIMIT) if path else None
    settings: dict[str, Any] = {}
    if text:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, dict) and any(isinstance(v, dict) for v in loaded.values()):
            net = loaded.get("net") or {}
            security = loaded.get("security") or {}
            sharding = loaded.get("sharding") or {}
            settings = {
                "bind_ip": net.get("bindIp"),
                "bind_ip_all": net.get("bindIpAll"),
                "port": net.get("port"),
                "auth": security.get("authorization") == "enabled" or bool(security.get("keyFile")),
                "role": sharding.get("clusterRole"),
            }
        else:  # the pre-2.6 `key = value` format
            for line in text.splitlines():
                key, sep, value = line.split("#", 1)[0].partition("=")
                if sep:
                    key, value = key.strip().lower(), value.strip()
                    if key in ("bind_ip", "port"):
                        settings[key] = value
                    elif key == "bind_ip_all":
                        settings["bind_ip_all"] = truthy(value)
                    elif key in ("auth", "keyfile"):
                        settings["auth"] = settings.get("auth") or (truthy(value) if key == "auth" else bool(value))
    if argv_at:
        if "bind_ip_all" in cli:
            settings["bind_ip_all"] = True
        if cli.get("bind_ip"):
            settings["bind_ip"] = cli["bind_ip"]
        if cli.get("port"):
            settings["port"] = cli["port"]
        if "auth" in cli or cli.get("keyfile"):
            settings["auth"] = True
    config = path or "/etc/mongod.conf"

    def at(pattern: str, fallback: str) -> Evidence:
        line = find_line(text or "", pattern)
        if line is None:
            return Evidence(config, None, fallback)
        return Evidence(config, line, (text or "").splitlines()[line - 1].strip()[:200])

    version = major_version(
        ctx, ("mongodb-org-server", "mongodb-server", "mongodb-server-core", "mongodb-org", "mongodb")
    )
    if settings.get("bind_ip_all"):
        addresses, listen = ["*"], at(r"bindIpAll|bind_ip_all", "--bind_ip_all")
    elif settings.get("bind_ip"):
        bind_ip = settings["bind_ip"]
        addresses = [str(a).strip() for a in (bind_ip if isinstance(bind_ip, list) else str(bind_ip).split(","))]
        listen = at(r"bindIp\b|bind_ip\b", f"--bind_ip {settings['bind_ip']}")
    elif version and version < (3, 6):
        addresses, listen = ["*"], Evidence(config, None, "no bindIp: MongoDB before 3.6 listens on all interfaces")
    else:
        return  # MongoDB 3.6+ binds to localhost unless told otherwise
    if not exposed(addresses):
        return
    default_port = {"shardsvr": 27018, "configsvr": 27019}.get(str(settings.get("role")), 27017)
    port = int(settings["port"]) if str(settings.get("port") or "").isdigit() else default_port
    fix = (
        "Keep `net.bindIp: 127.0.0.1` in /etc/mongod.conf (the packaged default), or enable "
        "`security.authorization: enabled` with users created at first boot, and keep the port closed in the firewall."
    )
    if settings.get("auth"):
        site = ("mongodb", "MongoDB", started, [(port, "tcp")], addresses, listen)
        yield Exposure(
            *site,
            True,
            "access control is on (security.authorization)",
            [at(r"authorization|keyFile|^auth", "--auth")],
            fix,
        )
    else:
        site = ("mongodb", "MongoDB", started, [(port, "tcp")], addresses, listen)
        yield Exposure(
            *site,
            False,
            "access control is off: security.authorization is not enabled",
            [Evidence(config, None, "security.authorization not set to enabled")],
            fix,
        )
