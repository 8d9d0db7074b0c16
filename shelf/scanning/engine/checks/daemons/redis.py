"""Redis: `bind`, `port`, `requirepass`, ACL users (inline or an aclfile) and protected mode."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, command, major_version, options, split_words, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.text import mask_setting


def _redis_directives(
    ctx: ScanContext, path: str, found: dict[str, tuple[list[str], Evidence]], depth: int = 0
) -> None:
    text = ctx.read_text(path, CONF_LIMIT)
    if text is None or depth > 4:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        words = split_words(line)
        if not words:
            continue
        key = words[0].lower()
        if key == "include" and len(words) > 1:
            for included in ctx.glob(words[1]) if any(c in words[1] for c in "*?[") else [words[1]]:
                _redis_directives(ctx, included, found, depth + 1)
            continue
        shown = mask_setting(line.strip(), "requirepass") if key in ("requirepass", "masterauth") else line.strip()
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


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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
