"""Family `services`: high-risk services started at boot, where they listen, authentication, the firewall's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.builders import link, write

ANY = "0.0.0.0"  # noqa: S104  (what the images under test listen on)
REDIS_DEBIAN = (
    "# Redis configuration file example.\nbind 127.0.0.1 -::1\nprotected-mode yes\nport 6379\ndaemonize yes\n"
)
MY_CNF = (
    "# The MariaDB configuration file\n[client-server]\nsocket = /run/mysqld/mysqld.sock\n\n"
    "!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/\n"
)
SERVER_CNF = (
    "[server]\n\n[mysqld]\nuser = mysql\npid-file = /run/mysqld/mysqld.pid\n"
    "# Instead of skip-networking the default is now to listen only on\n# localhost which is more compatible.\n"
    "bind-address            = 127.0.0.1\n"
)
MONGOD_CONF = "storage:\n  dbPath: /var/lib/mongodb\nnet:\n  port: 27017\n  bindIp: 127.0.0.1\nprocessManagement:\n  timeZoneInfo: /usr/share/zoneinfo\n"
TOMCAT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server port="8005" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="8080" protocol="HTTP/1.1"
               connectionTimeout="20000"
               {address}redirectPort="8443" />
    <!--
    <Connector port="8080" protocol="HTTP/1.1" />
    -->
    <Engine name="Catalina" defaultHost="localhost"/>
  </Service>
</Server>
"""


def unit(
    tree: Path, name: str, exec_start: str = "/bin/true", *, enable: bool = True, target: str = "multi-user.target"
) -> None:
    write(
        tree,
        f"lib/systemd/system/{name}",
        f"[Unit]\nDescription={name}\n\n[Service]\nExecStart={exec_start}\n\n[Install]\nWantedBy={target}\n",
    )
    if enable:
        link(tree, f"etc/systemd/system/{target}.wants/{name}", f"/lib/systemd/system/{name}")


def no_firewall(tree: Path) -> None:
    (tree / "etc/nftables.conf").unlink()
    (tree / "etc/systemd/system/sysinit.target.wants/nftables.service").unlink()


def redis(tree: Path, conf: str) -> None:
    unit(
        tree, "redis-server.service", "/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd --daemonize no"
    )
    write(tree, "etc/redis/redis.conf", conf)


def mariadb(tree: Path, *extra: tuple[str, str]) -> None:
    unit(tree, "mariadb.service", "/usr/sbin/mariadbd $MYSQLD_OPTS")
    write(tree, "etc/mysql/my.cnf", MY_CNF)
    write(tree, "etc/mysql/mariadb.conf.d/50-server.cnf", SERVER_CNF)
    for name, text in extra:
        write(tree, f"etc/mysql/mariadb.conf.d/{name}", text)


def memcached(tree: Path, listen: str) -> None:
    unit(tree, "memcached.service", "/usr/share/memcached/scripts/systemd-memcached-wrapper /etc/memcached.conf")
    write(
        tree,
        "etc/memcached.conf",
        f"# memcached default config file\n-d\nlogfile /var/log/memcached.log\n-m 64\n-p 11211\n-u memcache\n{listen}\n",
    )


def mongod(tree: Path, conf: str) -> None:
    unit(tree, "mongod.service", "/usr/bin/mongod --config /etc/mongod.conf")
    write(tree, "etc/mongod.conf", conf)


def open_services(tree: Path) -> None:
    """Every service of the standard's list, listening beyond loopback, most without authentication; no firewall."""
    no_firewall(tree)
    plant_open_services(tree)


def plant_open_services(tree: Path) -> None:
    redis(tree, "bind 0.0.0.0\nprotected-mode yes\nport 6379\n")
    mariadb(tree, ("60-remote.cnf", "[mysqld]\nbind-address = 0.0.0.0\n"))
    mongod(tree, MONGOD_CONF.replace("127.0.0.1", ANY))
    memcached(tree, "-l 0.0.0.0")
    unit(tree, "docker.service", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock")
    write(
        tree,
        "etc/systemd/system/docker.service.d/override.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n",
    )
    unit(
        tree, "elasticsearch.service", "/usr/share/elasticsearch/bin/systemd-entrypoint -p ${PID_DIR}/elasticsearch.pid"
    )
    write(
        tree,
        "etc/elasticsearch/elasticsearch.yml",
        "cluster.name: shop\nnetwork.host: 0.0.0.0\nhttp.port: 9200\nxpack.security.enabled: false\n",
    )
    unit(tree, "rsync.service", "/usr/bin/rsync --daemon --no-detach")
    write(tree, "etc/rsyncd.conf", "uid = nobody\n\n[backup]\npath = /srv/backup\nread only = no\n")
    unit(tree, "couchdb.service", "/opt/couchdb/bin/couchdb")
    write(
        tree,
        "opt/couchdb/etc/local.ini",
        "[chttpd]\nbind_address = 0.0.0.0\nport = 5984\n\n[admins]\nadmin = -pbkdf2-0f1e2d3c4b5a69788796a5b4c3d2e1f0,aa,10\n",
    )
    unit(tree, "tomcat9.service", "/usr/libexec/tomcat9/tomcat-start.sh")
    write(tree, "etc/tomcat9/server.xml", TOMCAT_XML.format(address=""))
    unit(tree, "smbd.service", "/usr/sbin/smbd --foreground --no-process-group")
    unit(tree, "nmbd.service", "/usr/sbin/nmbd --foreground --no-process-group")
    write(
        tree,
        "etc/samba/smb.conf",
        "[global]\n   workgroup = WORKGROUP\n   map to guest = bad user\n\n[public]\n   path = /srv/public\n   guest ok = yes\n",
    )
    unit(tree, "mssql-server.service", "/opt/mssql/bin/sqlservr")
    unit(tree, "hadoop-hdfs-namenode.service", "/usr/lib/hadoop/sbin/hadoop-daemon.sh start namenode")
    unit(tree, "xinetd.service", "/usr/sbin/xinetd -dontfork")
    write(
        tree,
        "etc/xinetd.d/rlogin",
        "service login\n{\n\tsocket_type = stream\n\tuser = root\n\tserver = /usr/sbin/in.rlogind\n\tdisable = no\n}\n",
    )


def by_service(result) -> dict[str, object]:
    found = {}
    for f in result.findings:
        if f.family == "services":
            assert f.data["service"] not in found, f.data["service"]
            found[f.data["service"]] = f
    return found


@pytest.fixture(scope="module")
def opened(image_factory):
    return by_service(image_factory.scan("svc-open", open_services))


@pytest.mark.parametrize(
    ("service", "check_id", "severity", "ports"),
    [
        ("redis", "services.no_auth", "critical", ["6379/tcp"]),
        ("mysql", "services.exposed", "medium", ["3306/tcp"]),
        ("mongodb", "services.no_auth", "critical", ["27017/tcp"]),
        ("memcached", "services.no_auth", "critical", ["11211/tcp"]),
        ("docker", "services.no_auth", "critical", ["2375/tcp"]),
        ("elasticsearch", "services.no_auth", "critical", ["9200/tcp"]),
        ("rsync", "services.no_auth", "critical", ["873/tcp"]),
        ("couchdb", "services.exposed", "medium", ["5984/tcp"]),
        ("tomcat", "services.exposed", "medium", ["8080/tcp"]),
        ("samba", "services.no_auth", "critical", ["139/tcp", "445/tcp", "137/udp"]),
        ("mssql", "services.exposed", "medium", ["1433/tcp"]),
        ("hadoop", "services.no_auth", "critical", ["50070/tcp"]),
        ("rlogin", "services.exposed", "medium", ["513/tcp"]),
    ],
)
def test_exposed_services_without_a_firewall(opened, service, check_id, severity, ports):
    finding = opened[service]
    assert (finding.check_id, finding.severity, finding.data["ports"]) == (check_id, severity, ports)
    assert finding.data["blocked"] is False and finding.fix
    assert any("no firewall" in e.text for e in finding.evidence)


def test_exposed_evidence_names_the_deciding_lines(opened):
    redis = opened["redis"]
    assert (redis.evidence[0].path, redis.evidence[0].line, redis.evidence[0].text) == (
        "/etc/redis/redis.conf",
        1,
        "bind 0.0.0.0",
    )
    assert "protected mode does not apply" in " ".join(e.text for e in redis.evidence)  # bind set, version unknown
    assert any(e.path == "/etc/systemd/system/multi-user.target.wants/redis-server.service" for e in redis.evidence)
    mysql = opened["mysql"]  # !includedir: 60-remote.cnf is read after 50-server.cnf and wins
    assert (mysql.evidence[0].path, mysql.evidence[0].line) == ("/etc/mysql/mariadb.conf.d/60-remote.cnf", 2)
    docker = opened["docker"]  # the drop-in's ExecStart replaces the unit's
    assert docker.evidence[0].path == "/etc/systemd/system/docker.service.d/override.conf"
    assert opened["samba"].evidence[1].text.startswith("[public]")
    assert "pbkdf2" not in str([e.text for e in opened["couchdb"].evidence])


def loopback_services(tree: Path) -> None:
    """The packaged defaults: everything bound to loopback (or commented out), no firewall needed."""
    no_firewall(tree)
    redis(tree, REDIS_DEBIAN)
    mariadb(tree, ("60-comment.cnf", "[mysqld]\n# bind-address = 0.0.0.0\n#skip-grant-tables\n"))
    mongod(tree, MONGOD_CONF.replace("  bindIp: 127.0.0.1\n", ""))  # MongoDB 3.6+ binds to localhost by default
    memcached(tree, "-l 127.0.0.1,::1")
    unit(tree, "docker.service", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock")
    write(tree, "etc/docker/daemon.json", '{"hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"]}\n')
    unit(tree, "elasticsearch.service", "/usr/share/elasticsearch/bin/systemd-entrypoint")
    write(tree, "etc/elasticsearch/elasticsearch.yml", "cluster.name: shop\n#network.host: 0.0.0.0\n")
    unit(tree, "rsync.service", "/usr/bin/rsync --daemon --no-detach")
    write(tree, "etc/rsyncd.conf", "address = 127.0.0.1\n[backup]\npath = /srv/backup\n")
    unit(tree, "couchdb.service", "/opt/couchdb/bin/couchdb")
    write(tree, "opt/couchdb/etc/local.ini", "[chttpd]\n;bind_address = 0.0.0.0\nport = 5984\n")
    unit(tree, "tomcat9.service", "/usr/libexec/tomcat9/tomcat-start.sh")
    write(tree, "etc/tomcat9/server.xml", TOMCAT_XML.format(address='address="127.0.0.1" '))
    unit(tree, "smbd.service", "/usr/sbin/smbd --foreground --no-process-group")
    write(
        tree,
        "etc/samba/smb.conf",
        "[global]\n   interfaces = lo 127.0.0.1\n   bind interfaces only = yes\n[public]\n   guest ok = yes\n",
    )
    unit(tree, "mssql-server.service", "/opt/mssql/bin/sqlservr")
    write(tree, "var/opt/mssql/mssql.conf", "[network]\nipaddress = 127.0.0.1\n")
    unit(tree, "hadoop-hdfs-namenode.service", "/usr/lib/hadoop/sbin/hadoop-daemon.sh start namenode")
    write(
        tree,
        "etc/hadoop/conf/hdfs-site.xml",
        "<configuration>\n<property>\n<name>dfs.namenode.http-address</name>\n<value>127.0.0.1:50070</value>\n</property>\n</configuration>\n",
    )


def test_services_bound_to_loopback_give_no_finding(image_factory):
    result = image_factory.scan("svc-loopback", loopback_services)
    assert by_service(result) == {}


def firewalled(tree: Path) -> None:
    """The benign nftables ruleset (policy drop, 22 open) plus 3306 open and 27017 open to 10.0.0.0/8 only."""
    rules = (tree / "etc/nftables.conf").read_text()
    rules = rules.replace(
        "\t\ttcp dport 22 accept\n",
        "\t\ttcp dport 22 accept\n\t\ttcp dport { 3306, 8443 } counter accept\n"
        "\t\tip saddr 10.0.0.0/8 tcp dport 27017 accept\n",
    )
    write(tree, "etc/nftables.conf", rules)
    redis(tree, "bind 0.0.0.0 ::\nrequirepass Kx9-very-secret-pass\n")
    memcached(tree, "-l 0.0.0.0")
    mariadb(tree, ("60-remote.cnf", "[mysqld]\nbind-address = *\n"))
    mongod(tree, MONGOD_CONF.replace("127.0.0.1", ANY))


def test_firewall_verdicts_with_nftables(image_factory):
    result = image_factory.scan("svc-nft", firewalled)
    found = by_service(result)
    redis = found["redis"]  # password and firewall: a note
    assert (redis.check_id, redis.severity, redis.data["auth"], redis.data["blocked"]) == (
        "services.exposed",
        "info",
        True,
        True,
    )
    assert "Kx9" not in str(list(found.values())) and any("requirepass ****" in e.text for e in redis.evidence)
    assert any(e.path == "/etc/nftables.conf" and e.line == 7 and "policy drop" in e.text for e in redis.evidence)
    memcached = found["memcached"]  # no authentication, but blocked
    assert (memcached.check_id, memcached.severity) == ("services.exposed", "low")
    mysql = found["mysql"]  # auth on, 3306 opened by an explicit rule
    assert (mysql.check_id, mysql.severity, mysql.data["open_ports"]) == ("services.exposed", "medium", ["3306/tcp"])
    assert any(e.line == 11 and "tcp dport { 3306, 8443 } counter accept" in e.text for e in mysql.evidence)
    mongodb = found["mongodb"]  # open to 10.0.0.0/8 only: blocked for the internet
    assert (mongodb.check_id, mongodb.severity, mongodb.data["blocked"]) == ("services.exposed", "low", True)


def test_redis_protected_mode(image_factory):
    def redis7(tree: Path) -> None:
        no_firewall(tree)
        status = tree / "var/lib/dpkg/status"
        status.write_text(
            status.read_text() + "\nPackage: redis-server\nStatus: install ok installed\nArchitecture: amd64\n"
            "Version: 5:7.0.15-1~deb12u1\nDescription: Persistent key-value database\n"
        )
        redis(tree, "bind * -::*\nport 6379\n")

    finding = by_service(image_factory.scan("svc-redis7", redis7))["redis"]
    assert (finding.check_id, finding.severity, finding.data["auth"]) == ("services.exposed", "medium", True)
    assert any("protected mode: Redis 7 refuses" in e.text for e in finding.evidence)


def boot_variants(tree: Path) -> None:
    no_firewall(tree)
    # enabled only by a preset (applied at first boot), no bind: protected mode refuses remote clients
    unit(tree, "redis-server.service", "/usr/bin/redis-server /etc/redis/redis.conf", enable=False)
    write(tree, "etc/redis/redis.conf", "port 6379\n")
    write(tree, "lib/systemd/system-preset/80-redis.preset", "enable redis-server.service\n")
    write(tree, "lib/systemd/system-preset/99-default.preset", "disable *\n")
    # enabled, then masked
    mariadb(tree, ("60-remote.cnf", "[mysqld]\nbind-address = 0.0.0.0\nskip-grant-tables\n"))
    link(tree, "etc/systemd/system/mariadb.service", "/dev/null")
    # started by a SysV rc link
    write(tree, "etc/init.d/memcached", "#!/bin/sh\n", 0o755)
    link(tree, "etc/rc2.d/S01memcached", "../init.d/memcached")
    write(tree, "etc/memcached.conf", "-m 64\n-p 11211\n")
    # installed, not enabled (and the default preset disables everything else)
    unit(tree, "mongod.service", "/usr/bin/mongod --config /etc/mongod.conf", enable=False)
    write(tree, "etc/mongod.conf", MONGOD_CONF.replace("127.0.0.1", ANY))
    # enabled but refuses to start without its configuration
    unit(tree, "rsync.service", "/usr/bin/rsync --daemon --no-detach")


def test_what_starts_at_boot(image_factory):
    found = by_service(image_factory.scan("svc-boot", boot_variants))
    assert set(found) == {"redis", "memcached"}
    redis = found["redis"]
    assert (redis.check_id, redis.severity, redis.data["started_by"]) == ("services.exposed", "medium", "preset")
    assert any(e.path == "/lib/systemd/system-preset/80-redis.preset" and e.line == 1 for e in redis.evidence)
    memcached = found["memcached"]  # no -l: all interfaces
    assert (memcached.check_id, memcached.data["started_by"]) == ("services.no_auth", "sysv")
    assert memcached.evidence[0].text == "no -l option: memcached listens on all interfaces"


def two_services(tree: Path) -> None:
    no_firewall(tree)
    redis(tree, "bind 0.0.0.0\nprotected-mode no\n")
    memcached(tree, "-l 0.0.0.0")


def test_iptables_persistent_verdicts(image_factory):
    def iptables(tree: Path) -> None:
        two_services(tree)
        write(
            tree,
            "etc/iptables/rules.v4",
            "# Generated by iptables-save\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n"
            ":OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 80,443,6379 -j ACCEPT\nCOMMIT\n",
        )
        unit(tree, "netfilter-persistent.service", "/usr/sbin/netfilter-persistent start")

    found = by_service(image_factory.scan("svc-iptables", iptables))
    redis = found["redis"]
    assert (redis.check_id, redis.severity) == ("services.no_auth", "critical")
    assert any(e.path == "/etc/iptables/rules.v4" and e.line == 9 for e in redis.evidence)
    memcached = found["memcached"]
    assert (memcached.check_id, memcached.severity) == ("services.exposed", "low")
    assert any(e.line == 3 and "INPUT policy DROP" in e.text for e in memcached.evidence)


def test_ufw_verdicts(image_factory):
    def ufw(tree: Path) -> None:
        two_services(tree)
        write(tree, "etc/ufw/ufw.conf", "ENABLED=yes\nLOGLEVEL=low\n")
        write(tree, "etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n')
        write(
            tree,
            "etc/ufw/user.rules",
            "*filter\n:ufw-user-input - [0:0]\n### RULES ###\n\n"
            "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n"
            "### tuple ### allow tcp 6379 0.0.0.0/0 any 10.0.0.0/8 in\n-A ufw-user-input -p tcp --dport 6379 -s 10.0.0.0/8 -j ACCEPT\n\n"
            "### tuple ### allow any 11211 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 11211 -j ACCEPT\n"
            "\n### END RULES ###\nCOMMIT\n",
        )

    found = by_service(image_factory.scan("svc-ufw", ufw))
    assert (found["redis"].check_id, found["redis"].severity) == ("services.exposed", "low")  # 10.0.0.0/8 only
    assert any(e.path == "/etc/default/ufw" and e.line == 2 for e in found["redis"].evidence)
    memcached = found["memcached"]
    assert (memcached.check_id, memcached.severity) == ("services.no_auth", "critical")
    assert any(e.path == "/etc/ufw/user.rules" and e.line == 11 for e in memcached.evidence)


def test_firewalld_verdicts(image_factory):
    def firewalld(tree: Path) -> None:
        two_services(tree)
        unit(tree, "firewalld.service", "/usr/sbin/firewalld --nofork --nopid")
        write(tree, "etc/firewalld/firewalld.conf", "DefaultZone=public\n")
        write(
            tree,
            "etc/firewalld/zones/public.xml",
            '<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n'
            '  <service name="ssh"/>\n  <service name="memcache"/>\n  <!-- <port protocol="tcp" port="6379"/> -->\n</zone>\n',
        )

    found = by_service(image_factory.scan("svc-firewalld", firewalld))
    assert (found["redis"].check_id, found["redis"].severity) == ("services.exposed", "low")
    memcached = found["memcached"]
    assert (memcached.check_id, memcached.severity) == ("services.no_auth", "critical")
    assert any(e.path == "/etc/firewalld/zones/public.xml" and e.line == 5 for e in memcached.evidence)


def test_only_the_unauthenticated_open_case_fails_by_default(opened):
    from shelf.scanning.policy import DEFAULT_FAIL_CHECKS, Policy, is_blocking

    assert "services.no_auth" in DEFAULT_FAIL_CHECKS and "services.exposed" not in DEFAULT_FAIL_CHECKS
    for finding in opened.values():
        as_dict = {"check_id": finding.check_id, "family": finding.family, "data": finding.data}
        assert is_blocking(as_dict, Policy()) == (finding.check_id == "services.no_auth")
