"""Family `firewall`: nftables, iptables-persistent, ufw or firewalld must be configured and started at boot."""

from __future__ import annotations

from pathlib import Path

from tests.images.builders import NFTABLES_CONF, link, write
from tests.scanning.conftest import ids, only

DEBIAN_DEFAULT_NFT = """\
#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
"""


def no_nft(tree: Path) -> None:
    (tree / "etc/nftables.conf").unlink()
    (tree / "etc/systemd/system/sysinit.target.wants/nftables.service").unlink()


def test_nftables_configured_is_fine(benign):
    assert "firewall.none" not in ids(benign)


def test_no_firewall(image_factory):
    finding = only(image_factory.scan("no-firewall", no_nft), "firewall.none")
    assert finding.severity == "medium"


def test_default_nftables_conf_has_no_rules(image_factory):
    def default(tree: Path) -> None:
        write(tree, "etc/nftables.conf", DEBIAN_DEFAULT_NFT)

    finding = only(image_factory.scan("nft-default", default), "firewall.none")
    assert finding.evidence[0].path == "/etc/nftables.conf" and "0 rule(s)" in finding.evidence[0].text


def test_nftables_rules_but_service_disabled(image_factory):
    def disabled(tree: Path) -> None:
        (tree / "etc/systemd/system/sysinit.target.wants/nftables.service").unlink()

    finding = only(image_factory.scan("nft-disabled", disabled), "firewall.none")
    assert "not enabled" in finding.evidence[0].text


def test_nftables_rules_in_included_files(image_factory):
    def included(tree: Path) -> None:
        write(tree, "etc/nftables.conf", DEBIAN_DEFAULT_NFT + 'include "/etc/nftables.d/*.nft"\n')
        write(tree, "etc/nftables.d/ssh.nft", NFTABLES_CONF.replace("flush ruleset", ""))

    assert "firewall.none" not in ids(image_factory.scan("nft-include", included))


def test_iptables_persistent(image_factory):
    def iptables(tree: Path) -> None:
        no_nft(tree)
        write(
            tree, "etc/iptables/rules.v4", "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
        )
        write(tree, "lib/systemd/system/netfilter-persistent.service", "[Unit]\n")
        link(
            tree,
            "etc/systemd/system/multi-user.target.wants/netfilter-persistent.service",
            "/lib/systemd/system/netfilter-persistent.service",
        )

    assert "firewall.none" not in ids(image_factory.scan("iptables", iptables))


def test_ufw_enabled_and_disabled(image_factory):
    def ufw(enabled: str):
        def mutate(tree: Path) -> None:
            no_nft(tree)
            write(tree, "etc/ufw/ufw.conf", f"# /etc/ufw/ufw.conf\nENABLED={enabled}\nLOGLEVEL=low\n")

        return mutate

    assert "firewall.none" not in ids(image_factory.scan("ufw-yes", ufw("yes")))
    finding = only(image_factory.scan("ufw-no", ufw("no")), "firewall.none")
    assert finding.evidence[0].path == "/etc/ufw/ufw.conf"


def test_firewalld_enabled(image_factory):
    def firewalld(tree: Path) -> None:
        no_nft(tree)
        write(tree, "usr/lib/systemd/system/firewalld.service", "[Unit]\n")
        link(
            tree,
            "etc/systemd/system/multi-user.target.wants/firewalld.service",
            "/usr/lib/systemd/system/firewalld.service",
        )

    assert "firewall.none" not in ids(image_factory.scan("firewalld", firewalld))


def test_masked_nftables_is_not_enabled(image_factory):
    def masked(tree: Path) -> None:
        link(tree, "etc/systemd/system/nftables.service", "/dev/null")

    assert "firewall.none" in ids(image_factory.scan("nft-masked", masked))
