"""Hadoop: the NameNode and JobTracker web UIs, their http-address, and Kerberos HTTP authentication."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT
from shelf.scanning.engine.checks.daemons.exposure import ANY_V4, Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence

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


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
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
