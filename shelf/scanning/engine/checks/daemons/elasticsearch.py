"""Elasticsearch: network.host / http.host of elasticsearch.yml and X-Pack security by version."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, find_line, major_version, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            else:
                flat[name] = value
    return flat


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    import yaml

    started = b.started(("elasticsearch.service",), ("elasticsearch",), ("elasticsearch",))
    if not started:
        return
    path = "/etc/elasticsearch/elasticsearch.yml"
    text = ctx.read_text(path, CONF_LIMIT) or ""
    try:
        settings = _flatten(yaml.safe_load(text) or {})
    except yaml.YAMLError:
        settings = {}
    host_key = next(
        (k for k in ("http.bind_host", "http.host", "network.bind_host", "network.host") if settings.get(k)), None
    )
    if host_key is None:
        return  # default _local_: loopback only
    value = settings[host_key]
    addresses = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    local = ("_local_", "_local:ipv4_", "_local:ipv6_")
    addresses = ["127.0.0.1" if a in local or a.startswith("_lo") else a for a in addresses]
    if not exposed(addresses):
        return
    line = find_line(text, rf"^\s*{re.escape(host_key.split('.')[-1])}\s*:|{re.escape(host_key)}")
    listen = Evidence(path, line, f"{host_key}: {value}")
    port_value = str(settings.get("http.port", "9200")).split("-", 1)[0]
    port = int(port_value) if port_value.isdigit() else 9200
    version = major_version(ctx, ("elasticsearch", "elasticsearch-oss"))
    fix = (
        "Leave `network.host` unset (loopback) or keep 9200 closed in the firewall; turn on "
        "`xpack.security.enabled: true` with passwords generated at first boot."
    )
    ports = [(port, "tcp")]
    if "xpack.security.enabled" in settings:
        enabled = truthy(settings["xpack.security.enabled"])
        ev = Evidence(
            path,
            find_line(text, r"xpack\.security\.enabled|enabled\s*:"),
            f"xpack.security.enabled: {settings['xpack.security.enabled']}",
        )
        text_ = "security features are on" if enabled else "xpack.security.enabled is false: no authentication"
        yield Exposure("elasticsearch", "Elasticsearch", started, ports, addresses, listen, enabled, text_, [ev], fix)
    elif version and version[0] >= 8:
        site = ("elasticsearch", "Elasticsearch", started, ports, addresses, listen)
        yield Exposure(*site, True, "Elasticsearch 8 enables security by default", [], fix)
    elif version:
        site = ("elasticsearch", "Elasticsearch", started, ports, addresses, listen)
        yield Exposure(
            *site,
            False,
            f"Elasticsearch {version[0]}.x: security features are off unless xpack.security.enabled is true",
            [Evidence(path, None, "xpack.security.enabled not set")],
            fix,
        )
    else:
        site = ("elasticsearch", "Elasticsearch", started, ports, addresses, listen)
        yield Exposure(*site, None, "xpack.security.enabled not set and the version is unknown", [], fix)
