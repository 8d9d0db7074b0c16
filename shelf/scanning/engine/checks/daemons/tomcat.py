"""Tomcat: HTTP connectors on 8080 and AJP connectors of server.xml, with their address and secret."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence

TOMCAT_UNITS = ("tomcat10.service", "tomcat9.service", "tomcat8.service", "tomcat7.service", "tomcat.service")


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(TOMCAT_UNITS, tuple(u.split(".")[0] for u in TOMCAT_UNITS), ("tomcat",))
    if not started:
        return
    base = started.unit.split(".")[0]
    candidates = [
        f"/etc/{base}/server.xml",
        "/etc/tomcat/server.xml",
        f"/opt/{base}/conf/server.xml",
        "/opt/tomcat/conf/server.xml",
        f"/usr/share/{base}/conf/server.xml",
        "/usr/local/tomcat/conf/server.xml",
    ]
    path = next((p for p in candidates if ctx.is_file(p)), None)
    if path is None:
        return
    text = ctx.read_text(path, CONF_LIMIT) or ""
    text = re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.DOTALL)
    for m in re.finditer(r"<Connector\b([^>]*)>", text, re.DOTALL):
        attrs = dict(re.findall(r"(\w+)\s*=\s*\"([^\"]*)\"", m.group(1)))
        port = attrs.get("port", "")
        ajp = "AJP" in attrs.get("protocol", "")
        if not port.isdigit() or (int(port) != 8080 and not ajp):
            continue
        address = attrs.get("address", "*")
        if not exposed([address]):
            continue
        line = text.count("\n", 0, m.start()) + 1
        listen = Evidence(path, line, re.sub(r"\s+", " ", m.group(0))[:200])
        fix = 'Set `address="127.0.0.1"` on the Connector (put a reverse proxy in front), or keep the port closed in the firewall.'
        if ajp:
            if "secret" in attrs or "requiredSecret" in attrs:
                auth, text_ = True, "the AJP connector requires a secret"
            elif attrs.get("secretRequired", "").lower() == "false":
                auth, text_ = False, 'the AJP connector has no secret (secretRequired="false")'
            else:
                auth, text_ = (
                    None,
                    "no secret: Tomcat 9.0.31 and later refuse to start this connector, older ones accept anyone",
                )
            yield Exposure(
                "tomcat", "Tomcat AJP", started, [(int(port), "tcp")], [address], listen, auth, text_, [], fix
            )
        else:
            site = ("tomcat", "Tomcat", started, [(int(port), "tcp")], [address], listen)
            yield Exposure(*site, None, "an HTTP connector: access control is up to the web applications", [], fix)
