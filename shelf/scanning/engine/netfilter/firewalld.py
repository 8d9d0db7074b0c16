"""firewalld: the default zone's target, services, ports and rich rules (vendor zones when the image has none)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.netfilter.base import Decision

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

# firewalld services that open the ports Shelf cares about, when the image lacks their XML definitions.
FIREWALLD_SERVICES: dict[str, list[tuple[str, int, int]]] = {
    "ssh": [("tcp", 22, 22)], "http": [("tcp", 80, 80)], "https": [("tcp", 443, 443)],
    "dhcpv6-client": [("udp", 546, 546)], "cockpit": [("tcp", 9090, 9090)],
    "redis": [("tcp", 6379, 6379)], "mysql": [("tcp", 3306, 3306)], "mssql": [("tcp", 1433, 1433)],
    "mongodb": [("tcp", 27017, 27019), ("tcp", 28017, 28017)], "memcache": [("tcp", 11211, 11211)],
    "elasticsearch": [("tcp", 9200, 9200), ("tcp", 9300, 9300)], "rsyncd": [("tcp", 873, 873), ("udp", 873, 873)],
    "docker-swarm": [("tcp", 2377, 2377)], "couchdb": [("tcp", 5984, 5984)],
    "samba": [("udp", 137, 138), ("tcp", 139, 139), ("tcp", 445, 445)], "samba-client": [("udp", 137, 138)],
    "rlogin": [("tcp", 513, 513)], "rsh": [("tcp", 514, 514)],
}  # fmt: skip
FIREWALLD_DEFAULT_ZONES = {  # the vendor zone files, for images that carry only firewalld.conf
    "public": ("default", ["ssh", "dhcpv6-client", "cockpit"]),
    "external": ("default", ["ssh"]),
    "dmz": ("default", ["ssh"]),
    "work": ("default", ["ssh", "dhcpv6-client", "cockpit"]),
    "home": ("default", ["ssh", "mdns", "samba-client", "dhcpv6-client", "cockpit"]),
    "internal": ("default", ["ssh", "mdns", "samba-client", "dhcpv6-client", "cockpit"]),
    "trusted": ("ACCEPT", []),
    "drop": ("DROP", []),
    "block": ("%%REJECT%%", []),
}


class Firewalld:
    def __init__(self, ctx: ScanContext, services: dict[str, int]):
        self.ctx = ctx
        conf = ctx.read_text("/etc/firewalld/firewalld.conf", 64 * 1024) or ""
        m = re.search(r"^\s*DefaultZone\s*=\s*(\S+)", conf, re.MULTILINE)
        self.zone = m.group(1) if m else "public"
        self.zone_path = None
        for base in ("/etc/firewalld/zones", "/usr/lib/firewalld/zones"):
            if ctx.is_file(f"{base}/{self.zone}.xml"):
                self.zone_path = f"{base}/{self.zone}.xml"
                break
        self.target = "default"
        self.opens: list[tuple[str, int, int, Evidence]] = []
        if self.zone_path is None:
            target, names = FIREWALLD_DEFAULT_ZONES.get(self.zone, ("default", []))
            self.target = target
            where = Evidence(
                "/etc/firewalld/firewalld.conf", None, f"zone {self.zone} (firewalld's built-in definition)"
            )
            for name in names:
                for proto, low, high in FIREWALLD_SERVICES.get(name, []):
                    self.opens.append(
                        (proto, low, high, Evidence(where.path, None, f"zone {self.zone}: service {name}"))
                    )
            return
        text = ctx.read_text(self.zone_path, 1024 * 1024) or ""
        text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
        m = re.search(r"<zone\b[^>]*\btarget=\"([^\"]+)\"", text)
        if m:
            self.target = m.group(1)
        for number, line in enumerate(text.splitlines(), start=1):
            where = Evidence(self.zone_path, number, line.strip()[:200])
            for name in re.findall(r"<service\s+name=\"([^\"]+)\"", line):
                for proto, low, high in self._service_ports(name):
                    self.opens.append((proto, low, high, where))
            if "<rule" in line or "<source" in line:
                continue
            for attrs in re.findall(r"<port\s+([^>]*)/?>", line):
                port = re.search(r"port=\"([^\"]+)\"", attrs)
                proto = re.search(r"protocol=\"([^\"]+)\"", attrs)
                if port and proto:
                    low, _, high = port.group(1).partition("-")
                    if low.isdigit():
                        self.opens.append((proto.group(1), int(low), int(high or low), where))
        for rule in re.finditer(r"<rule\b.*?</rule>", text, flags=re.DOTALL):
            body = rule.group(0)
            line = text.count("\n", 0, rule.start()) + 1
            if "<source" in body or "<accept" not in body:
                continue
            where = Evidence(self.zone_path, line, re.sub(r"\s+", " ", body)[:200])
            for port, proto in re.findall(r"<port\s+port=\"([^\"]+)\"\s+protocol=\"([^\"]+)\"", body):
                low, _, high = port.partition("-")
                if low.isdigit():
                    self.opens.append((proto, int(low), int(high or low), where))
            for name in re.findall(r"<service\s+name=\"([^\"]+)\"", body):
                for proto, low, high in self._service_ports(name):
                    self.opens.append((proto, low, high, where))

    def _service_ports(self, name: str) -> list[tuple[str, int, int]]:
        for base in ("/etc/firewalld/services", "/usr/lib/firewalld/services"):
            text = self.ctx.read_text(f"{base}/{name}.xml", 256 * 1024)
            if text is None:
                continue
            ports = []
            for port, proto in re.findall(r"<port\s+port=\"([^\"]+)\"\s+protocol=\"([^\"]+)\"", text):
                low, _, high = port.partition("-")
                if low.isdigit():
                    ports.append((proto, int(low), int(high or low)))
            for proto, port in re.findall(r"<port\s+protocol=\"([^\"]+)\"\s+port=\"([^\"]+)\"", text):
                low, _, high = port.partition("-")
                if low.isdigit():
                    ports.append((proto, int(low), int(high or low)))
            return ports
        return FIREWALLD_SERVICES.get(name, [])

    def decide(self, port: int, proto: str) -> Decision:
        path = self.zone_path or "/etc/firewalld/firewalld.conf"
        if self.target.upper() == "ACCEPT":
            return Decision("accept", Evidence(path, None, f"zone {self.zone} target ACCEPT"))
        for rproto, low, high, where in self.opens:
            if rproto == proto and low <= port <= high:
                return Decision("accept", Evidence(where.path, where.line, f"{port}/{proto}: {where.text}"))
        return Decision("drop", Evidence(path, None, f"zone {self.zone} does not open {port}/{proto}"))
