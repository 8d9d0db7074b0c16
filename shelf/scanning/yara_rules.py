"""Writes on the operators' malware rule sets (YARA): add, edit, activate/deactivate, each compile-checked and audited.

The active sets' sources go with every scan job (`scan_run` → runner → engine), on top of Shelf's built-in rules.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from shelf.audit.services import audit_record
from shelf.errors import Violation, raise_if
from shelf.scanning.models import YaraRuleSet, yara_source_problem


def active_yara_sources() -> list[str]:
    return list(YaraRuleSet.objects.filter(is_active=True).order_by("pk").values_list("source", flat=True))


@transaction.atomic
def yara_rule_save(
    *, actor, rule_set: YaraRuleSet | None = None, name: str, source: str, is_active: bool = True
) -> YaraRuleSet:
    """Create (rule_set None) or change a rule set. Every problem at once as RuleViolations (422); nothing half-saved."""
    name = (name or "").strip()
    source = (source or "").replace("\r\n", "\n")
    violations = []
    if not name:
        violations.append(Violation("name", "required", _("Give the rule set a name.")))
    elif len(name) > 100:
        violations.append(Violation("name", "too_long", _("A name is at most 100 characters.")))
    elif YaraRuleSet.objects.filter(name=name).exclude(pk=rule_set.pk if rule_set else None).exists():
        violations.append(Violation("name", "taken", _("Another rule set has this name.")))
    problem = yara_source_problem(source)
    if problem:
        violations.append(Violation("source", "syntax", problem))
    raise_if(violations)
    created = rule_set is None
    rule_set = rule_set or YaraRuleSet()
    rule_set.name, rule_set.source, rule_set.is_active, rule_set.updated_by = name, source, is_active, actor
    rule_set.save()
    audit_record(
        actor=actor,
        target=rule_set,
        action="scan.yara_rules_add" if created else "scan.yara_rules_change",
        data={"name": name, "active": is_active, "bytes": len(source.encode())},
    )
    return rule_set


@transaction.atomic
def yara_rule_set_active(*, actor, rule_set: YaraRuleSet, active: bool) -> YaraRuleSet:
    if rule_set.is_active != active:
        rule_set.is_active, rule_set.updated_by = active, actor
        rule_set.save(update_fields=["is_active", "updated_by", "updated_at"])
        audit_record(
            actor=actor,
            target=rule_set,
            action="scan.yara_rules_activate" if active else "scan.yara_rules_deactivate",
            data={"name": rule_set.name},
        )
    return rule_set
