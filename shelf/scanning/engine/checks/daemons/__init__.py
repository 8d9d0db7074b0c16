"""Family `services`: high-risk services of the standard's port list started at boot and listening beyond loopback.

For each service (Redis, MySQL/MariaDB, MongoDB, Memcached, Elasticsearch, Docker API, rsync, CouchDB, Tomcat,
rlogin, Hadoop, Samba, SQL Server) the check asks, from the image's files only:
1. does it start at boot (systemd links, aliases, presets; SysV rc links; OpenRC; inetd/xinetd)?
2. where does its configuration make it listen (the service's own defaults when nothing is set)?
3. does it require authentication?
4. would the firewall started at boot block its ports (see `netfilter/`)?

Findings:
    services.no_auth  critical  listens beyond loopback, no authentication, the firewall does not block it
    services.exposed  medium    listens beyond loopback and the firewall does not block it; authentication is on
                                (or not applicable: Tomcat, rlogin)
                      low       the same without authentication, but the firewall blocks every port
                      info      authentication on and the firewall blocks every port (a note for the reviewer)
A service bound to loopback only gives no finding.

One module per daemon here (its `detect(ctx, boot)` yields what it exposes, in the order of DETECTORS); what
they share is in exposure.py (addresses), config.py (settings, command lines) and inetd.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shelf.scanning.engine import boot, netfilter
from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons import (
    couchdb,
    docker,
    elasticsearch,
    hadoop,
    memcached,
    mongodb,
    mssql,
    mysql,
    redis,
    rlogin,
    rsync,
    samba,
    tomcat,
)
from shelf.scanning.engine.checks.daemons.exposure import ALL, Exposure, where
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

DETECTORS: tuple[Callable[[ScanContext, Boot], Iterator[Exposure]], ...] = (
    redis.detect,
    mysql.detect,
    mongodb.detect,
    memcached.detect,
    elasticsearch.detect,
    docker.detect,
    rsync.detect,
    couchdb.detect,
    tomcat.detect,
    rlogin.detect,
    hadoop.detect,
    samba.detect,
    mssql.detect,
)


@check("services")
def exposed_services(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    b = boot.cached(ctx)
    for detector in DETECTORS:
        for exp in detector(ctx, b):
            yield _finding(ctx, exp)


def _finding(ctx: ScanContext, exp: Exposure) -> Finding:
    firewalls = netfilter.cached(ctx)
    verdicts = {(port, proto): firewalls.verdict(port, proto) for port, proto in exp.ports}
    open_ports = [f"{p}/{proto}" for (p, proto), v in verdicts.items() if not v.blocked]
    blocked = not open_ports
    ports = ", ".join(f"{p}/{proto}" for p, proto in exp.ports)
    place = where(exp.addresses)
    on = "all interfaces" if place == ALL else place
    if exp.auth is False and not blocked:
        check_id, severity = "services.no_auth", "critical"
        title = f"{exp.name} listens on {on} ({ports}) without authentication, and the firewall does not block it"
    elif not blocked:
        check_id, severity = "services.exposed", "medium"
        title = f"{exp.name} listens on {on} ({', '.join(open_ports)}) and the firewall does not block it"
    else:
        check_id, severity = "services.exposed", "low" if exp.auth is False else "info"
        title = f"{exp.name} listens on {on} ({ports}); the firewall blocks it"
        if exp.auth is False:
            title += ", but it has no authentication if the port is ever opened"
    evidence = [exp.listen, *exp.auth_at]
    evidence.append(
        Evidence(exp.listen.path if not exp.auth_at else exp.auth_at[0].path, None, f"authentication: {exp.auth_text}")
    )
    evidence.append(exp.started.evidence)
    for (port, proto), verdict in verdicts.items():
        for ev in verdict.evidence:
            state = "blocked" if verdict.blocked else "not blocked"
            evidence.append(Evidence(ev.path, ev.line, f"{port}/{proto} {state}: {ev.text}"[:300]))
    return Finding(
        check_id=check_id,
        severity=severity,
        title=title,
        evidence=evidence,
        fix=exp.fix,
        family="services",
        data={
            "service": exp.key,
            "ports": [f"{p}/{proto}" for p, proto in exp.ports],
            "addresses": exp.addresses,
            "auth": exp.auth,
            "blocked": blocked,
            "open_ports": open_ports,
            "started_by": exp.started.how,
            "unit": exp.started.unit,
        },
    )
