"""Family `services`: high-risk services of the standard's port list started at boot and listening beyond loopback.

For each service (Redis, MySQL/MariaDB, MongoDB, Memcached, Elasticsearch, Docker API, rsync, CouchDB, Tomcat,
rlogin, Hadoop, Samba, SQL Server) the check asks, from the image's files only:
1. does it start at boot (systemd links, aliases, presets; SysV rc links; OpenRC; inetd/xinetd)?
2. where does its configuration make it listen (the service's own defaults when nothing is set)?
3. does it require authentication?
4. would the firewall started at boot block its ports (see `netfilter.py`)?

Findings:
    services.no_auth  critical  listens beyond loopback, no authentication, the firewall does not block it
    services.exposed  medium    listens beyond loopback and the firewall does not block it; authentication is on
                                (or not applicable: Tomcat, rlogin)
                      low       the same without authentication, but the firewall blocks every port
                      info      authentication on and the firewall blocks every port (a note for the reviewer)
A service bound to loopback only gives no finding.
"""

from __future__ import annotations

import ipaddress
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shelf.scanning.engine import boot, netfilter
from shelf.scanning.engine.boot import Boot, Started
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

CONF_LIMIT = 1024 * 1024
ALL = "all interfaces"
ANY_V4 = "0.0.0.0"  # noqa: S104  (an address to recognise, not one Shelf binds)


@dataclass
class Exposure:
    key: str
    name: str
    started: Started
    ports: list[tuple[int, str]]
    addresses: list[str]
    listen: Evidence
    auth: bool | None  # True: on; False: anyone may connect; None: not applicable or unknown
    auth_text: str
    auth_at: list[Evidence] = field(default_factory=list)
    fix: str = ""


# ---- addresses ----------------------------------------------------------------------------------------------
def is_loopback(address: str) -> bool:
    a = address.strip().strip('"').lstrip("-").strip("[]")
    if a.lower() in ("localhost", "lo", "lo0", "ip6-localhost", "ip6-loopback"):
        return True
    a = a.split("%", 1)[0]
    if "/" in a:
        a = a.split("/", 1)[0]
    try:
        return ipaddress.ip_address(a).is_loopback
    except ValueError:
        return False


def is_wildcard(address: str) -> bool:
    a = address.strip().strip('"').lstrip("-").strip("[]")
    return a in ("", "*", ANY_V4, "::", "::*", "0", "0:0:0:0:0:0:0:0", "any", "*:*")


def exposed(addresses: list[str]) -> bool:
    return any(not is_loopback(a) for a in addresses)


def where(addresses: list[str]) -> str:
    if any(is_wildcard(a) for a in addresses):
        return ALL
    return ", ".join(a for a in addresses if not is_loopback(a))


def major_version(ctx: ScanContext, names: tuple[str, ...]) -> tuple[int, int] | None:
    """(major, minor) of the first installed package of `names`, epoch and revision ignored."""
    for package in ctx.packages:
        if package.name in names:
            m = re.match(r"^(?:\d+:)?(\d+)(?:\.(\d+))?", package.version)
            if m:
                return int(m.group(1)), int(m.group(2) or 0)
    return None


def truthy(value: Any) -> bool:
    return str(value).strip().strip("\"'").lower() in ("1", "yes", "true", "on", "enabled")


def find_line(text: str, pattern: str) -> int | None:
    """The 1-based line of the last uncommented line matching `pattern` (case-insensitive)."""
    found = None
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(pattern, line.split("#", 1)[0], re.IGNORECASE):
            found = number
    return found


def mask(text: str, keyword: str) -> str:
    """A configuration line with the value after `keyword` replaced: passwords never reach the evidence."""
    m = re.match(rf"^(\s*\S*{keyword}\S*[\s=:]+)(.*)$", text, re.IGNORECASE)
    return f"{m.group(1)}****" if m else f"{keyword} ****"


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def options(argv: list[str]) -> dict[str, str | None]:
    """`--key value`, `--key=value` and bare `--flag` options of a command line (later ones win)."""
    result: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.startswith("--"):
            key, sep, value = word[2:].partition("=")
            key = key.replace("-", "_").lower()
            if sep:
                result[key] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                result[key] = argv[i + 1]
                i += 1
            else:
                result[key] = None
        i += 1
    return result


def command(b: Boot, started: Started) -> tuple[list[str], Evidence | None]:
    if started.how in ("systemd", "preset"):
        found = b.exec_start(started.unit)
        if found:
            argv, ev = found
            instance = started.unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in started.unit else ""
            return [a.replace("%i", instance).replace("%I", instance) for a in argv], ev
    return [], None


# ---- Redis --------------------------------------------------------------------------------------------------
def _redis_directives(
    ctx: ScanContext, path: str, found: dict[str, tuple[list[str], Evidence]], depth: int = 0
) -> None:
    text = ctx.read_text(path, CONF_LIMIT)
    if text is None or depth > 4:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        words = _split(line)
        if not words:
            continue
        key = words[0].lower()
        if key == "include" and len(words) > 1:
            for included in ctx.glob(words[1]) if any(c in words[1] for c in "*?[") else [words[1]]:
                _redis_directives(ctx, included, found, depth + 1)
            continue
        shown = mask(line.strip(), "requirepass") if key in ("requirepass", "masterauth") else line.strip()
        if key == "user":
            shown = " ".join(w if not w.startswith((">", "#", "<")) else w[0] + "****" for w in words)
            if len(words) > 1 and words[1] == "default":
                found["user default"] = (words[2:], Evidence(path, number, shown[:200]))
            continue
        found[key] = (words[1:], Evidence(path, number, shown[:200]))


def _acl_default_user(words: list[str]) -> bool | None:
    """True: the default user needs a password (or is off); False: `nopass`; None: says nothing."""
    if "off" in words:
        return True
    has_password = any(w.startswith((">", "#")) for w in words)
    if "nopass" in words and not has_password:
        return False
    return True if has_password else None


def redis(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(
        ("redis-server.service", "redis.service", "redis-server@.service", "redis@.service"),
        ("redis-server", "redis"),
        ("redis",),
    )
    if not started:
        return
    argv, argv_at = command(b, started)
    args = argv[1:]
    conf = args[0] if args and not args[0].startswith("-") else None
    instance = started.unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in started.unit else ""
    candidates = [conf] if conf else [f"/etc/redis/redis-{instance}.conf"] if instance else []
    candidates += ["/etc/redis/redis.conf", "/etc/redis.conf", "/etc/redis/6379.conf"]
    path = next((p for p in candidates if ctx.is_file(p)), None)
    found: dict[str, tuple[list[str], Evidence]] = {}
    if path:
        _redis_directives(ctx, path, found)
    if argv_at:  # redis-server's own command line overrides the file
        for key, value in options(args[1:] if conf else args).items():
            if value is not None:
                found[key.replace("_", "-")] = (value.split(), argv_at)
    config = path or "/etc/redis/redis.conf"
    port_words = found.get("port", (["6379"], None))[0]
    port = int(port_words[0]) if port_words and port_words[0].isdigit() else 6379
    if port == 0:
        return
    if "bind" in found:
        addresses, listen = found["bind"]
    else:
        addresses = ["*"]
        listen = Evidence(config, None, "no `bind` directive: Redis listens on all interfaces")
    if not exposed(addresses):
        return
    auth_at: list[Evidence] = []
    password = False
    if found.get("requirepass", ([], None))[0] and found["requirepass"][0][0] != "":
        password = True
        auth_at.append(found["requirepass"][1])
    acl = found.get("user default")
    if acl and _acl_default_user(acl[0]) is not None:
        password = bool(_acl_default_user(acl[0]))
        auth_at.append(acl[1])
    if "aclfile" in found and found["aclfile"][0]:
        acl_text = ctx.read_text(found["aclfile"][0][0], CONF_LIMIT) or ""
        for number, line in enumerate(acl_text.splitlines(), start=1):
            words = line.split()
            if words[:2] == ["user", "default"] and _acl_default_user(words[2:]) is not None:
                password = bool(_acl_default_user(words[2:]))
                auth_at.append(Evidence(found["aclfile"][0][0], number, "user default ... (ACL file)"))
    version = major_version(ctx, ("redis-server", "redis", "redis-tools", "redis7", "redis6"))
    protected_words, protected_at = found.get("protected-mode", (["yes"], None))
    protected = truthy(protected_words[0] if protected_words else "yes")
    fix = (
        "Bind Redis to loopback (`bind 127.0.0.1 -::1` in redis.conf, the packaged default), or set a password "
        "generated at first boot (`requirepass`, or an ACL user) and keep 6379 closed in the firewall."
    )
    name = "Redis"
    ports = [(port, "tcp")]
    if password:
        yield Exposure("redis", name, started, ports, addresses, listen, True, "a password is required", auth_at, fix)
        return
    if protected and ((version and version[0] >= 7) or "bind" not in found):
        why = "Redis 7 refuses" if version and version[0] >= 7 else "with no `bind` directive Redis refuses"
        text = f"protected mode: {why} clients not on loopback while the default user has no password"
        at = [protected_at] if protected_at else [Evidence(config, None, "protected-mode yes (the default)")]
        yield Exposure("redis", name, started, ports, addresses, listen, True, text, at, fix)
        return
    if protected_at and not protected:
        auth_at.append(protected_at)
    elif protected:
        auth_at.append(
            Evidence(
                config,
                None,
                "protected mode does not apply: `bind` is set and Redis is older than 7 or of unknown version",
            )
        )
    text = "no `requirepass` and no ACL password for the default user"
    yield Exposure("redis", name, started, ports, addresses, listen, False, text, auth_at, fix)


# ---- MySQL / MariaDB ----------------------------------------------------------------------------------------
MYSQL_SECTIONS = re.compile(r"^(mysqld|server|mariadb|mariadbd)(-[\d.]+)?$|^client-server$|^galera$")


def _mysql_options(ctx: ScanContext, path: str, found: dict[str, tuple[str | None, Evidence]], depth: int = 0) -> None:
    text = ctx.read_text(path, CONF_LIMIT)
    if text is None or depth > 6:
        return
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("!includedir"):
            directory = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
            for name in ctx.listdir(directory):
                if name.endswith(".cnf"):
                    _mysql_options(ctx, posixpath.join(directory, name), found, depth + 1)
            continue
        if line.startswith("!include"):
            parts = line.split(None, 1)
            if len(parts) > 1:
                _mysql_options(ctx, parts[1].strip(), found, depth + 1)
            continue
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
            continue
        if not MYSQL_SECTIONS.match(section):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower().replace("-", "_")
        key = key.removeprefix("loose_")
        if sep:
            value = re.split(r"\s+#", value.strip(), maxsplit=1)[0].strip().strip("\"'")
        found[key] = (value if sep else None, Evidence(path, number, line[:200]))


def mysql(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(
        ("mariadb.service", "mysql.service", "mysqld.service", "mariadb@.service", "mysql@.service"),
        ("mariadb", "mysql", "mysqld"),
        ("mariadb", "mysql"),
    )
    if not started:
        return
    argv, argv_at = command(b, started)
    cli = options(argv[1:])
    found: dict[str, tuple[str | None, Evidence]] = {}
    files = [cli["defaults_file"]] if cli.get("defaults_file") else ["/etc/my.cnf", "/etc/mysql/my.cnf"]
    for path in files:
        if path:
            _mysql_options(ctx, path, found)
    if argv_at:
        for key, value in cli.items():
            found[key.removeprefix("loose_")] = (value, argv_at)
    skip = found.get("skip_networking")
    if skip and (skip[0] is None or truthy(skip[0])):
        return
    port = int(found["port"][0]) if found.get("port") and str(found["port"][0]).isdigit() else 3306
    if "bind_address" in found and found["bind_address"][0]:
        addresses = [a.strip() for a in str(found["bind_address"][0]).split(",")]
        listen = found["bind_address"][1]
    else:
        addresses = ["*"]
        listen = Evidence(
            files[0] if ctx.is_file(files[0] or "") else "/etc/mysql/my.cnf",
            None,
            "bind-address is not set: the server listens on all interfaces",
        )
    if not exposed(addresses):
        return
    fix = (
        "Set `bind-address = 127.0.0.1` in the [mysqld] section (Debian's 50-server.cnf does), or keep 3306 closed "
        "in the firewall and let buyers open it; never run with skip-grant-tables."
    )
    grants = found.get("skip_grant_tables")
    if grants and (grants[0] is None or truthy(grants[0])):
        site = ("mysql", "MySQL/MariaDB", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, False, "skip-grant-tables: every client is let in without a password", [grants[1]], fix)
        return
    site = ("mysql", "MySQL/MariaDB", started, [(port, "tcp")], addresses, listen)
    yield Exposure(*site, True, "the server checks account passwords", [], fix)


# ---- MongoDB ------------------------------------------------------------------------------------------------
def mongodb(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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


# ---- Memcached ----------------------------------------------------------------------------------------------
def memcached(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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
            for word in _split(line):
                words.append((word, Evidence(path, number, line.strip()[:200])))
    if not argv:
        env = boot.read_env_file(ctx, "/etc/sysconfig/memcached")
        for word in _split(env.get("OPTIONS", "")) + (["-p", env["PORT"]] if env.get("PORT") else []):
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


# ---- Elasticsearch ------------------------------------------------------------------------------------------
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


def elasticsearch(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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


# ---- Docker API ---------------------------------------------------------------------------------------------
def docker(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("docker.service",), ("docker",), ("docker",))
    if not started:
        return
    argv, argv_at = command(b, started)
    hosts: list[tuple[str, Evidence]] = []
    tlsverify: Evidence | None = None
    words = argv[1:]
    if not argv:
        env = boot.read_env_file(ctx, "/etc/default/docker")
        words = _split(env.get("DOCKER_OPTS", ""))
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


# ---- inetd / xinetd -----------------------------------------------------------------------------------------
def inetd(ctx: ScanContext, b: Boot, names: tuple[str, ...]) -> tuple[Started, list[str]] | None:
    """(how, addresses) when inetd or xinetd serves one of `names` (the /etc/services name of the port)."""
    if b.started(
        ("inetd.service", "openbsd-inetd.service", "inetutils-inetd.service"),
        ("openbsd-inetd", "inetutils-inetd", "inetd"),
        ("inetd",),
    ):
        text = ctx.read_text("/etc/inetd.conf", CONF_LIMIT) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if fields and not line.lstrip().startswith("#") and fields[0].split(":")[-1] in names:
                address = fields[0].rsplit(":", 1)[0] if ":" in fields[0] else "*"
                return Started("inetd", fields[0], Evidence("/etc/inetd.conf", number, line.strip()[:200])), [address]
    if b.started(("xinetd.service",), ("xinetd",), ("xinetd",)):
        files = ["/etc/xinetd.conf"] + [f"/etc/xinetd.d/{n}" for n in ctx.listdir("/etc/xinetd.d")]
        for path in files:
            text = ctx.read_text(path, CONF_LIMIT) or ""
            for m in re.finditer(r"^\s*service\s+(\S+)\s*\{(.*?)\}", text, re.MULTILINE | re.DOTALL):
                if m.group(1) not in names:
                    continue
                body = m.group(2)
                if re.search(r"^\s*disable\s*=\s*yes", body, re.MULTILINE | re.IGNORECASE):
                    continue
                bind = re.search(r"^\s*(?:bind|interface)\s*=\s*(\S+)", body, re.MULTILINE)
                line = text.count("\n", 0, m.start()) + 1
                ev = Evidence(path, line, f"service {m.group(1)} (xinetd, not disabled)")
                return Started("xinetd", m.group(1), ev), [bind.group(1) if bind else "*"]
    return None


# ---- rsync --------------------------------------------------------------------------------------------------
def rsync(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    path = "/etc/rsyncd.conf"
    text = ctx.read_text(path, CONF_LIMIT)
    started = b.started(("rsync.service", "rsyncd.service", "rsyncd.socket", "rsyncd@.service"), (), ("rsyncd",))
    if not started and b.sysv(("rsync",)):
        env = boot.read_env_file(ctx, "/etc/default/rsync")
        if env.get("RSYNC_ENABLE", "false").lower() == "true":
            started = b.sysv(("rsync",))
    addresses = ["*"]
    if not started:
        via = inetd(ctx, b, ("rsync",))
        if via:
            started, addresses = via
    if not started or text is None:
        return  # the daemon refuses to start without its configuration (Debian's unit has ConditionPathExists)
    glob: dict[str, tuple[str, Evidence]] = {}
    modules: dict[str, dict[str, tuple[str, Evidence]]] = {}
    headers: dict[str, Evidence] = {}
    current = glob
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            current = modules.setdefault(m.group(1).strip(), {})
            headers.setdefault(m.group(1).strip(), Evidence(path, number, f"{line} has no `auth users`"))
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[" ".join(key.lower().split())] = (value.strip(), Evidence(path, number, line[:200]))
    port = int(glob["port"][0]) if "port" in glob and glob["port"][0].isdigit() else 873
    listen = Evidence(path, None, "no `address`: rsync listens on all interfaces")
    if "address" in glob:
        addresses = [glob["address"][0]]
        listen = glob["address"][1]
    if not exposed(addresses):
        return
    open_modules = []
    for name, params in modules.items():
        allow = params.get("hosts allow") or glob.get("hosts allow")
        hosts = allow[0].replace(",", " ").split() if allow else []
        restricted = bool(hosts) and not any(is_wildcard(h) or h.endswith("/0") for h in hosts)
        if "auth users" not in params and "auth users" not in glob and not restricted:
            open_modules.append(name)
    fix = "Set `auth users` and a `secrets file` for every module in /etc/rsyncd.conf, bind it to loopback (`address = 127.0.0.1`), or do not enable the rsync daemon."
    if open_modules:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(
            *site,
            False,
            f"module(s) without `auth users` or `hosts allow`: {', '.join(open_modules)}",
            [headers[n] for n in open_modules[:5]],
            fix,
        )
    else:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, True, "every module requires `auth users` or is limited by `hosts allow`", [], fix)


# ---- CouchDB ------------------------------------------------------------------------------------------------
def _ini(ctx: ScanContext, files: list[str]) -> dict[tuple[str, str], tuple[str, Evidence]]:
    found: dict[tuple[str, str], tuple[str, Evidence]] = {}
    for path in files:
        section = ""
        for number, raw in enumerate((ctx.read_text(path, CONF_LIMIT) or "").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith((";", "#")):
                continue
            if line.startswith("["):
                section = line.strip("[]").strip().lower()
                continue
            key, sep, value = line.partition("=")
            if sep:
                found[(section, key.strip().lower())] = (value.strip(), Evidence(path, number, line[:200]))
    return found


def couchdb(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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
    found = _ini(ctx, files)
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


# ---- Tomcat -------------------------------------------------------------------------------------------------
TOMCAT_UNITS = ("tomcat10.service", "tomcat9.service", "tomcat8.service", "tomcat7.service", "tomcat.service")


def tomcat(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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


# ---- rlogin -------------------------------------------------------------------------------------------------
def rlogin(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.systemd(("rlogin.socket", "rlogin@.service"))
    addresses = ["*"]
    if not started:
        via = inetd(ctx, b, ("login", "rlogin"))
        if not via:
            return
        started, addresses = via
    if not exposed(addresses):
        return
    listen = Evidence(started.evidence.path, started.evidence.line, "rlogin listens on all interfaces")
    fix = "Remove rsh-server / rlogind: rlogin sends passwords in clear text and trusts .rhosts; use SSH."
    site = ("rlogin", "rlogin", started, [(513, "tcp")], addresses, listen)
    yield Exposure(*site, None, "rlogin trusts .rhosts/hosts.equiv and sends passwords in clear text", [], fix)


# ---- Hadoop -------------------------------------------------------------------------------------------------
HADOOP_CONF_DIRS = ("/etc/hadoop/conf", "/etc/hadoop", "/opt/hadoop/etc/hadoop", "/usr/local/hadoop/etc/hadoop")


def _hadoop_properties(ctx: ScanContext, name: str) -> dict[str, tuple[str, Evidence]]:
    for directory in HADOOP_CONF_DIRS:
        path = f"{directory}/{name}"
        text = ctx.read_text(path, CONF_LIMIT)
        if text is None:
            continue
        text = re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.DOTALL)
        found = {}
        for m in re.finditer(
            r"<property>.*?<name>\s*([^<]+?)\s*</name>.*?<value>\s*([^<]*?)\s*</value>.*?</property>", text, re.DOTALL
        ):
            line = text.count("\n", 0, m.start()) + 1
            found[m.group(1)] = (m.group(2), Evidence(path, line, f"{m.group(1)} = {m.group(2)}"[:200]))
        return found
    return {}


def hadoop(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    core = None
    for units, key, old_key, default, name in (
        (
            ("hadoop-hdfs-namenode.service", "hadoop-namenode.service"),
            "dfs.namenode.http-address",
            "dfs.http.address",
            50070,
            "Hadoop NameNode",
        ),
        (
            ("hadoop-0.20-mapreduce-jobtracker.service", "hadoop-jobtracker.service"),
            "mapred.job.tracker.http.address",
            "mapreduce.jobtracker.http.address",
            50030,
            "Hadoop JobTracker",
        ),
    ):
        started = b.started(units, tuple(u.rsplit(".", 1)[0] for u in units))
        if not started:
            continue
        props = _hadoop_properties(ctx, "hdfs-site.xml" if default == 50070 else "mapred-site.xml")
        value = props.get(key) or props.get(old_key)
        address, port = ANY_V4, default
        listen = Evidence(HADOOP_CONF_DIRS[0], None, f"{key} not set: Hadoop's default is 0.0.0.0:{default}")
        if value:
            host, _, port_text = value[0].rpartition(":")
            address, port = host or ANY_V4, int(port_text) if port_text.isdigit() else default
            listen = value[1]
        if not exposed([address]):
            continue
        if core is None:
            core = _hadoop_properties(ctx, "core-site.xml")
        http_auth = core.get("hadoop.http.authentication.type")
        fix = "Bind the web UI to loopback or keep its port closed; enable Kerberos (hadoop.http.authentication.type kerberos)."
        if http_auth and http_auth[0].lower() == "kerberos":
            site = ("hadoop", name, started, [(port, "tcp")], [address], listen)
            yield Exposure(*site, True, "Kerberos HTTP authentication", [http_auth[1]], fix)
        else:
            site = ("hadoop", name, started, [(port, "tcp")], [address], listen)
            yield Exposure(
                *site,
                False,
                "simple (pseudo) authentication: anyone can claim any user",
                [http_auth[1]] if http_auth else [],
                fix,
            )


# ---- Samba --------------------------------------------------------------------------------------------------
def samba(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    smbd = b.started(
        ("smbd.service", "smb.service", "samba.service", "samba-ad-dc.service"), ("smbd", "samba"), ("samba",)
    )
    nmbd = b.started(("nmbd.service", "nmb.service"), ("nmbd",))
    started = smbd or nmbd
    if not started:
        return
    path = "/etc/samba/smb.conf"
    text = ctx.read_text(path, CONF_LIMIT) or ""
    section = ""
    glob: dict[str, tuple[str, Evidence]] = {}
    guest_shares: list[Evidence] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = m.group(1).strip().lower()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = " ".join(key.lower().split())
        if section == "global":
            glob[key] = (value.strip(), Evidence(path, number, line[:200]))
        elif key in ("guest ok", "public") and truthy(value):
            guest_shares.append(Evidence(path, number, f"[{section}] {line}"[:200]))
    addresses = ["*"]
    listen = Evidence(path, None, "`bind interfaces only` is not set: Samba listens on all interfaces")
    if "bind interfaces only" in glob and truthy(glob["bind interfaces only"][0]) and "interfaces" in glob:
        addresses = glob["interfaces"][0].replace(",", " ").split()
        listen = glob["interfaces"][1]
    if not exposed(addresses):
        return
    ports = ([(139, "tcp"), (445, "tcp")] if smbd else []) + ([(137, "udp")] if nmbd else [])
    fix = "Set `interfaces = lo` and `bind interfaces only = yes` in [global], or keep 137/139/445 closed; do not offer guest shares."
    security = glob.get("security")
    if guest_shares or (security and security[0].lower() == "share"):
        yield Exposure(
            "samba",
            "Samba (SMB)",
            started,
            ports,
            addresses,
            listen,
            False,
            "guest access to shares without a password",
            guest_shares[:5] or [security[1]],
            fix,
        )  # type: ignore[index]
    else:
        site = ("samba", "Samba (SMB)", started, ports, addresses, listen)
        yield Exposure(*site, True, "shares require a user and password", [], fix)


# ---- SQL Server ---------------------------------------------------------------------------------------------
def mssql(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(("mssql-server.service",), ("mssql-server",))
    if not started:
        return
    found = _ini(ctx, ["/var/opt/mssql/mssql.conf"])
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


DETECTORS: tuple[Callable[[ScanContext, Boot], Iterator[Exposure]], ...] = (
    redis,
    mysql,
    mongodb,
    memcached,
    elasticsearch,
    docker,
    rsync,
    couchdb,
    tomcat,
    rlogin,
    hadoop,
    samba,
    mssql,
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
