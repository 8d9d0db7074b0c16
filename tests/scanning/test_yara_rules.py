"""Operators' malware rule sets: managed in the console (compile-checked), sent with every scan job to the scanner
process, and found in a real image through scan_run."""

import pytest

from shelf.audit.models import AuditEvent
from shelf.images.models import Image
from shelf.scanning.models import Scan, YaraRuleSet
from shelf.scanning.runner import ScannerProcess
from shelf.scanning.services import scan_run
from tests.images.builders import TREE_TOOLS, debian12_tree, ext4_from_tree, tools_missing, write

if tools_missing(TREE_TOOLS):
    pytest.skip("image tools missing", allow_module_level=True)

RULE = """rule Acme_Backdoor_Marker
{
    meta:
        category = "backdoor"
    strings:
        $m = "ACME-BACKDOOR-7731"
    condition:
        $m
}
"""
URL = "/operator/yara-rules/"


@pytest.fixture(scope="module")
def marked_disk(tmp_path_factory):
    root = tmp_path_factory.mktemp("yara-images")
    tree = debian12_tree(root / "tree")
    write(tree, "usr/local/bin/sysupdate", "#!/bin/sh\n# ACME-BACKDOOR-7731\nexec /bin/true\n", 0o755)
    return ext4_from_tree(tree, root / "marked.raw")


@pytest.fixture
def marked_image(alice, marked_disk):
    from shelf.storage import get_storage

    image = Image.objects.create(
        organization=alice.organizations.get(),
        region_id=1,
        name="marked",
        disk_format="raw",
        status="available",
        stored_size=marked_disk.stat().st_size,
    )
    get_storage().write(image.storage_key, iter([marked_disk.read_bytes()]))
    return image


@pytest.fixture
def scanner():
    process = ScannerProcess(memory_limit=2 * 1024**3, cpu_limit=300)
    yield process
    process.stop()


def malware_findings(scan):
    return list(scan.findings.filter(family="malware"))


def test_operator_rule_set_is_used_by_the_next_scan(olivia, web, marked_image, scanner):
    client = web(olivia)
    page = client.get(URL)
    assert page.status_code == 200 and "Malware rules" in page.content.decode()
    response = client.post(URL, {"name": "Acme backdoor", "source": RULE, "is_active": "on"})
    assert response.status_code == 302
    rule_set = YaraRuleSet.objects.get(name="Acme backdoor")
    assert rule_set.is_active and rule_set.updated_by == olivia
    assert AuditEvent.objects.filter(action="scan.yara_rules_add", actor=olivia).exists()
    assert "Acme backdoor" in client.get(URL).content.decode()

    scan = scan_run(scan=Scan.objects.create(image=marked_image), scanner=scanner)
    assert scan.status == "done" and scan.verdict == "failed", (scan.error, scan.incomplete)
    (finding,) = malware_findings(scan)
    assert finding.check_id == "malware.detected" and finding.blocking
    assert finding.data["rules"] == ["operator1:Acme_Backdoor_Marker"]
    assert finding.evidence[0]["path"] == "/usr/local/bin/sysupdate" and finding.evidence[0]["line"] == 2
    assert scan.stats["malware"]["rules"]["operator_sets"] == 1

    # Deactivated: the next job carries no operator rules and the file is no finding.
    assert client.post(f"{URL}{rule_set.pk}/active/", {"active": "0"}).status_code == 302
    assert not YaraRuleSet.objects.get(pk=rule_set.pk).is_active
    again = scan_run(scan=Scan.objects.create(image=marked_image), scanner=scanner)
    assert again.status == "done" and malware_findings(again) == []


def test_syntax_error_is_shown_with_its_line_and_not_saved(olivia, web):
    client = web(olivia)
    broken = RULE.replace("$m\n}", "$m and and\n}")
    response = client.post(URL, {"name": "Broken", "source": broken, "is_active": "on"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "The rules do not compile: line 8: syntax error" in text and "Broken" in text  # the form keeps the input
    assert not YaraRuleSet.objects.filter(name="Broken").exists()
    include = client.post(URL, {"name": "Include", "source": 'include "/etc/passwd"\n' + RULE})
    assert include.status_code == 422 and "includes are disabled" in include.content.decode()


def test_editing_keeps_the_old_rules_when_the_new_ones_do_not_compile(olivia, web):
    client = web(olivia)
    client.post(URL, {"name": "Acme", "source": RULE, "is_active": "on"})
    rule_set = YaraRuleSet.objects.get(name="Acme")
    response = client.post(
        f"{URL}{rule_set.pk}/", {"name": "Acme", "source": "rule x { condition: }", "is_active": "on"}
    )
    assert response.status_code == 422 and "line 1" in response.content.decode()
    assert YaraRuleSet.objects.get(pk=rule_set.pk).source == RULE
    assert client.post(f"{URL}{rule_set.pk}/", {"name": "Acme v2", "source": RULE}).status_code == 302
    changed = YaraRuleSet.objects.get(pk=rule_set.pk)
    assert changed.name == "Acme v2" and not changed.is_active


def test_model_save_and_admin_compile_the_rules(olivia, admin_client):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        YaraRuleSet(name="bad", source="rule x {").save()
    response = admin_client.post(
        "/admin/scanning/yararuleset/add/", {"name": "bad", "source": "rule x {", "is_active": "on"}
    )
    assert response.status_code == 200 and "do not compile" in response.content.decode()
    assert not YaraRuleSet.objects.exists()


def test_only_operators_see_the_rules(alice, bruce, web, client):
    rule_set = YaraRuleSet.objects.create(name="Acme", source=RULE)
    for user in (alice, bruce):
        c = web(user)
        assert c.get(URL).status_code == 404
        assert c.post(URL, {"name": "x", "source": RULE}).status_code == 404
        assert c.get(f"{URL}{rule_set.pk}/").status_code == 404
        assert c.post(f"{URL}{rule_set.pk}/active/", {"active": "0"}).status_code == 404
    assert client.get(URL).status_code == 302  # anonymous: to the login page
    assert YaraRuleSet.objects.count() == 1 and YaraRuleSet.objects.get().is_active


def test_operator_nav_lists_malware_rules(olivia, web):
    page = web(olivia).get(URL).content.decode()
    assert f'href="{URL}"' in page and "Malware rules" in page
