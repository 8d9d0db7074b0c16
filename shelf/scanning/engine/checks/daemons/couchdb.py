"""CouchDB: the bind address of [chttpd] and whether an admin exists (no admin: the "admin party")."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import ini_values, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("couchdb.service",), ("couchdb",), ("couchdb",))
    if not started:
        return
    files = []
    for base in ("/opt/couchdb/etc", "/etc/couchdb"):
        for name in ("default.ini", "default.d", "local.ini", "local.d"):
            path = f"{base}/{name}"
            if name.endswith(".d"):
                files += [f"{path}/{n}" for n in ctx.listdir(path) if n.endswith(".ini")]
            else:
                files.append(path)
    found = ini_values(ctx, files)
    bind = found.get(("chttpd", "bind_address")) or found.get(("httpd", "bind_address"))
    if not bind:
        return  # CouchDB's default.ini binds 127.0.0.1
    addresses, listen = [bind[0]], bind[1]
    if not exposed(addresses):
        return
    port_value = (found.get(("chttpd", "port")) or ("5984", None))[0]
    port = int(port_value) if port_value.isdigit() else 5984
    admins = [(k, v) for k, v in found.items() if k[0] == "admins"]
    valid_user = found.get(("chttpd", "require_valid_user")) or found.get(("chttpd_auth", "require_valid_user"))
    fix = "Bind CouchDB to 127.0.0.1 ([chttpd] bind_address) or keep 5984 closed; create the admin at first boot with a generated password."
    if admins or (valid_user and truthy(valid_user[0])):
        at = [admins[0][1][1]] if admins else [valid_user[1]]  # type: ignore[index]
        at = [Evidence(e.path, e.line, "[admins] entry (password hidden)" if admins else e.text) for e in at]
        yield Exposure(
            "couchdb", "CouchDB", started, [(port, "tcp")], addresses, listen, True, "an admin account exists", at, fix
        )
    else:
        site = ("couchdb", "CouchDB", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, False, "no [admins]: everyone is an administrator (admin party)", [], fix)
