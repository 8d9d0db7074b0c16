"""Existing scan policies also fail a package file changed since installation (new installs get it by default)."""

from django.db import migrations


def add_fail_check(apps, schema_editor):
    ScanPolicy = apps.get_model("scanning", "ScanPolicy")
    for policy in ScanPolicy.objects.all():
        if "malware.package_modified" not in policy.fail_checks and "malware.*" not in policy.fail_checks:
            policy.fail_checks = [*policy.fail_checks, "malware.package_modified"]
            policy.save(update_fields=["fail_checks"])


class Migration(migrations.Migration):
    dependencies = [("scanning", "0004_fail_new_service_and_permission_checks")]

    operations = [migrations.RunPython(add_fail_check, migrations.RunPython.noop)]
