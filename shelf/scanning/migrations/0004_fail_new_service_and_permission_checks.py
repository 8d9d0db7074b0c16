"""Existing scan policies also fail the new exposed-service and permission checks (new installs get them by default)."""

from django.db import migrations

NEW_FAIL_CHECKS = ["services.no_auth", "permissions.world_writable", "permissions.system_dirs", "permissions.sensitive",
                   "permissions.suid"]


def add_new_fail_checks(apps, schema_editor):
    ScanPolicy = apps.get_model("scanning", "ScanPolicy")
    for policy in ScanPolicy.objects.all():
        missing = [p for p in NEW_FAIL_CHECKS if p not in policy.fail_checks]
        if missing:
            policy.fail_checks = list(policy.fail_checks) + missing
            policy.save(update_fields=["fail_checks"])


class Migration(migrations.Migration):
    dependencies = [("scanning", "0003_yara_rule_sets")]

    operations = [migrations.RunPython(add_new_fail_checks, migrations.RunPython.noop)]
