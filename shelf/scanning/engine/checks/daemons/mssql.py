"""SQL Server: mssql.conf's network.ipaddress and tcpport; it always requires a login."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import ini_values
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("mssql-server.service",), ("mssql-server",))
    if not started:
        return
    found = ini_values(ctx, ["/var/opt/mssql/mssql.conf"])
    address = found.get(("network", "ipaddress"))
    addresses = [address[0]] if address else ["*"]
    listen = (
        address[1]
        if address
        else Evidence("/var/opt/mssql/mssql.conf", None, "network.ipaddress not set: all interfaces")
    )
    if not exposed(addresses):
        return
    port_value = (found.get(("network", "tcpport")) or ("1433", None))[0]
    port = int(port_value) if port_value.isdigit() else 1433
    fix = "Set `network.ipaddress = 127.0.0.1` (mssql-conf) or keep 1433 closed in the firewall; set the sa password at first boot."
    yield Exposure(
        "mssql", "SQL Server", started, [(port, "tcp")], addresses, listen, True, "SQL Server requires a login", [], fix
    )
