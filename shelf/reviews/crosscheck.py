"""The integrated-software cross-check: is each declared software really in the image?

The seed asks providers to declare the software list truthfully; reviewers see, for each declared
name, the package that proves it (found), a package of the same software under its distribution
name (found under another name), or nothing (not found).
"""

import re
from dataclasses import dataclass

# Declared names → distribution package names that provide the software.
ALIASES = {
    "apache": ["apache2", "httpd"],
    "httpd": ["apache2", "httpd"],
    "nginx": ["nginx", "nginx-core", "nginx-full", "nginx-light"],
    "mysql": ["mysql-server", "mysql-community-server", "mariadb-server", "percona-server-server"],
    "mariadb": ["mariadb-server"],
    "postgresql": ["postgresql"],
    "postgres": ["postgresql"],
    "redis": ["redis-server", "redis"],
    "mongodb": ["mongodb-org-server", "mongodb-server"],
    "php": ["php", "php-fpm", "php-cli"],
    "python": ["python3"],
    "node": ["nodejs"],
    "node.js": ["nodejs"],
    "nodejs": ["nodejs"],
    "java": ["openjdk", "default-jre", "java"],
    "jdk": ["openjdk"],
    "docker": ["docker-ce", "docker.io", "moby-engine"],
    "tomcat": ["tomcat"],
    "memcached": ["memcached"],
    "elasticsearch": ["elasticsearch"],
    "wordpress": ["wordpress"],
    "git": ["git"],
    "openssl": ["openssl"],
    "openssh": ["openssh-server"],
    "ssh": ["openssh-server"],
    "vsftpd": ["vsftpd"],
    "pure-ftpd": ["pure-ftpd"],
    "rabbitmq": ["rabbitmq-server"],
    "haproxy": ["haproxy"],
    "varnish": ["varnish"],
    "supervisor": ["supervisor"],
}
VERSION_RE = re.compile(r"\s*v?(\d+(?:\.\d+)*)\s*$")


@dataclass(frozen=True)
class SoftwareCheck:
    declared: str
    result: str  # found | found_as | not_found | unknown (no scan inventory)
    package: str = ""
    version: str = ""
    note: str = ""


def _split(declared: str) -> tuple[str, str]:
    match = VERSION_RE.search(declared)
    version = match.group(1) if match else ""
    name = declared[: match.start()] if match else declared
    return name.strip().lower(), version


def crosscheck(declared: list[str], packages: list[dict] | None) -> list[SoftwareCheck]:
    if packages is None:
        return [SoftwareCheck(name, "unknown", note="no finished scan with a package inventory") for name in declared]
    by_name = {p["name"].lower(): p for p in packages}
    in_order = sorted(by_name.items())  # once, not per declared name
    results = []
    for item in declared:
        name, version = _split(item)
        slug = name.replace(" ", "-")
        exact = by_name.get(slug)
        if exact is not None:
            results.append(
                _with_version(SoftwareCheck(item, "found", exact["name"], exact.get("version", "")), version)
            )
            continue
        candidates = ALIASES.get(name, []) + ALIASES.get(slug, [])
        alias = next((by_name[c] for c in candidates if c in by_name), None)
        if alias is None:
            # Versioned package names: php8.2, postgresql-15, openjdk-17-jre…
            versioned = re.compile("(?:" + "|".join(re.escape(x) for x in [slug, *candidates]) + r")[-.\d]")
            alias = next((p for n, p in in_order if versioned.match(n)), None)
        if alias is not None:
            results.append(
                _with_version(SoftwareCheck(item, "found_as", alias["name"], alias.get("version", "")), version)
            )
        else:
            results.append(SoftwareCheck(item, "not_found", note="no installed package provides it"))
    return results


def _with_version(check: SoftwareCheck, declared_version: str) -> SoftwareCheck:
    if not declared_version or not check.version:
        return check
    upstream = re.sub(r"^\d+:", "", check.version)
    if upstream.startswith(declared_version) or check.package.endswith(declared_version):
        return check
    return SoftwareCheck(
        check.declared,
        check.result,
        check.package,
        check.version,
        note=f"declared version {declared_version}, installed {check.version}",
    )
