"""Every write on scans: request, run, record the verdict, exceptions, the policy, rescans after a database update."""

import logging
from collections.abc import Iterable
from uuid import UUID

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.audit.services import audit_record
from shelf.errors import Conflict, Violation, raise_if
from shelf.images.models import Image
from shelf.notifications.services import notify_organization
from shelf.scanning import policy as verdicts
from shelf.scanning.engine.severity import VULN_SEVERITIES
from shelf.scanning.models import Finding, FindingException, Scan, ScanPolicy, VulnDbImport
from shelf.scanning.signals import scan_finished, vulndb_updated
from shelf.scanning.vulndb import match_packages, uncovered_ecosystems, vulndb_updated_at
from shelf.storage import get_storage
from shelf.webhooks.services import emit

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # a crash or timeout is retried once, then the scan is `error`


@transaction.atomic
def scan_request(*, image: Image, trigger: str = Scan.Trigger.RESCAN, actor=None) -> Scan:
    """Queue a scan of an available image; an already queued or running one is returned instead of a duplicate."""
    image = Image.objects.select_for_update().get(pk=image.pk)
    if image.status != Image.Status.AVAILABLE:
        raise Conflict(
            _("Only an available image can be scanned; this one is %(status)s.")
            % {"status": image.get_status_display()},
            code="not_available",
        )
    pending = Scan.objects.filter(image=image, status__in=(Scan.Status.QUEUED, Scan.Status.RUNNING)).first()
    if pending is not None:
        return pending
    scan = Scan.objects.create(
        image=image, trigger=trigger, requested_by=actor if actor and actor.is_authenticated else None
    )
    audit_record(actor=actor, target=image, action="scan.request", data={"scan": str(scan.pk), "trigger": trigger})
    transaction.on_commit(lambda: _enqueue(scan.pk))
    return scan


def _enqueue(scan_id) -> None:
    from shelf.scanning.tasks import run_scan

    run_scan.enqueue(str(scan_id))


def current_policy(image: Image) -> verdicts.Policy:
    stored = ScanPolicy.current()
    today = timezone.localdate()
    exceptions = FindingException.objects.filter(image=image, revoked_at__isnull=True, expires_at__gte=today)
    return verdicts.Policy(
        fail_checks=tuple(stored.fail_checks),
        fail_vuln_severities=tuple(stored.fail_vuln_severities),
        fail_unfixed_vulns=stored.fail_unfixed_vulns,
        exceptions={(e.check_id, e.key) for e in exceptions},
    )


def scan_run(*, scan: Scan, scanner=None, resume: bool = False) -> Scan:
    """Run a queued scan in the scanner process and record the outcome. Idempotent for a finished scan.
    `resume`: the queue runs this scan's job again because its worker died, so a running scan is this job's."""
    from shelf.scanning.runner import ScanFailed
    from shelf.scanning.runner import scanner as default_scanner
    from shelf.scanning.yara_rules import active_yara_sources

    with transaction.atomic():
        scan = Scan.objects.select_for_update().select_related("image__region").get(pk=scan.pk)
        if scan.status != Scan.Status.QUEUED and not (resume and scan.status == Scan.Status.RUNNING):
            return scan
        scan.status, scan.started_at, scan.attempts = Scan.Status.RUNNING, timezone.now(), scan.attempts + 1
        scan.save()
    image = scan.image
    scanner = scanner or default_scanner()
    try:
        with get_storage().local_copy(image.storage_key, f"disk.{image.disk_format}") as path:
            yara = active_yara_sources()
            kwargs = {"yara": yara} if yara else {}  # a job without operator rules keeps the original protocol
            reply = scanner.scan(str(path), image.disk_format, timeout=scanner.cpu_limit, **kwargs)
    except (ScanFailed, OSError) as exc:
        return _scan_failed(scan, str(exc))
    return scan_record(scan=scan, result=reply["result"], sbom=reply.get("sbom"))


def _scan_failed(scan: Scan, error: str) -> Scan:
    with transaction.atomic():
        scan = Scan.objects.select_for_update().get(pk=scan.pk)
        scan.error = error[:2000]
        if scan.attempts < MAX_ATTEMPTS:
            scan.status = Scan.Status.QUEUED
            scan.save()
            transaction.on_commit(lambda: _enqueue(scan.pk))
        else:
            scan.status, scan.finished_at = Scan.Status.ERROR, timezone.now()
            scan.save()
            audit_record(
                actor=None, target=scan.image, action="scan.error", reason=scan.error, data={"scan": str(scan.pk)}
            )
    return scan


@transaction.atomic
def scan_record(*, scan: Scan, result: dict, sbom: dict | None = None) -> Scan:
    """Store the engine's result, match vulnerabilities, apply the policy and finish the scan."""
    scan = Scan.objects.select_for_update().select_related("image__organization", "image__region").get(pk=scan.pk)
    image = scan.image
    os_info = result.get("os") or {}
    packages = result.get("packages") or []
    findings = list(result.get("findings") or [])
    findings += verdicts.vulnerability_findings(match_packages(packages), os_info.get("family", ""))
    incomplete = list(result.get("incomplete") or [])
    if ScanPolicy.current().require_vulndb:
        incomplete += [
            _(
                "No vulnerability data for %(ecosystem)s: its packages could not be checked. "
                "An operator imports OSV records with `manage.py vulndb_import`."
            )
            % {"ecosystem": ecosystem}
            for ecosystem in uncovered_ecosystems(packages)
        ]
        if not any(p.get("ecosystem") for p in packages):
            incomplete.append(
                _("No package inventory was found: the image's software could not be checked for vulnerabilities.")
            )
    verdict, findings = verdicts.evaluate(findings, incomplete, current_policy(image))
    exceptions = {
        (e.check_id, e.key): e
        for e in FindingException.objects.filter(
            image=image, revoked_at__isnull=True, expires_at__gte=timezone.localdate()
        ).order_by("created_at")
    }
    Finding.objects.bulk_create(
        Finding(
            scan=scan,
            check_id=f["check_id"],
            family=f["family"],
            severity=f["severity"],
            title=f["title"][:300],
            evidence=f.get("evidence") or [],
            fix=f.get("fix", ""),
            data=f.get("data") or {},
            key=f["key"][:300],
            blocking=f["blocking"],
            excepted_by=exceptions.get((f["check_id"], f["key"])) if f["excepted"] else None,
        )
        for f in findings
    )
    previous = (
        Scan.objects.filter(image=image, status=Scan.Status.DONE).exclude(pk=scan.pk).order_by("-finished_at").first()
    )
    scan.os, scan.packages = os_info, packages
    scan.incomplete, scan.stats = incomplete, {**(result.get("stats") or {}), "sbom": sbom or {}}
    scan.engine_version = str(result.get("engine_version", ""))
    scan.vulndb_updated_at = vulndb_updated_at()
    scan.status, scan.verdict, scan.finished_at, scan.error = Scan.Status.DONE, verdict, timezone.now(), ""
    scan.save()
    audit_record(
        actor=None,
        target=image,
        action="scan.finish",
        to_status=verdict,
        data={"scan": str(scan.pk), "findings": len(findings)},
    )
    scan_finished.send(sender=Scan, scan=scan, image=image)
    if previous is not None and previous.verdict != verdict:
        notify_organization(
            organization=image.organization,
            event="scan.verdict_changed",
            title=_("Scan verdict of image “%(name)s” changed: %(old)s → %(new)s")
            % {"name": image.name, "old": previous.verdict, "new": verdict},
            body=_(
                "A new scan of image “%(name)s” in %(region)s finished with verdict %(new)s. Open the report to see why."
            )
            % {"name": image.name, "region": image.region.code, "new": verdict},
            url=reverse("scanning:report", kwargs={"scan_id": scan.pk}),
        )
        emit(
            organization=image.organization,
            event="scan.verdict_changed",
            data={
                "image": str(image.pk),
                "region": image.region.code,
                "scan": str(scan.pk),
                "previous_verdict": previous.verdict,
                "verdict": verdict,
            },
        )
    return scan


@transaction.atomic
def exception_grant(
    *, actor, image: Image, check_id: str, key: str, justification: str, expires_at
) -> FindingException:
    """An operator accepts one finding on one image until a date; the next scans do not fail on it."""
    violations = []
    if not (justification or "").strip():
        violations.append(Violation("justification", "required", _("Say why this finding is acceptable.")))
    if expires_at is None:
        violations.append(Violation("expires_at", "required", _("Give an expiry date.")))
    elif expires_at <= timezone.localdate():
        violations.append(Violation("expires_at", "past", _("The expiry date must be in the future.")))
    if not check_id:
        violations.append(Violation("check_id", "required", _("Name the finding's check.")))
    elif len(check_id) > FindingException._meta.get_field("check_id").max_length:
        violations.append(Violation("check_id", "too_long", _("This is not a check id.")))
    if len(key or "") > verdicts.KEY_MAX_LENGTH:
        violations.append(
            Violation(
                "key",
                "too_long",
                _("The finding key may be at most %(max)d characters long.") % {"max": verdicts.KEY_MAX_LENGTH},
            )
        )
    raise_if(violations)
    exception = FindingException.objects.create(
        image=image,
        check_id=check_id,
        key=key or "",
        justification=justification.strip(),
        expires_at=expires_at,
        granted_by=actor,
    )
    audit_record(
        actor=actor,
        target=image,
        action="scan.exception_grant",
        reason=justification,
        data={"check_id": check_id, "key": key, "expires_at": str(expires_at)},
    )
    return exception


@transaction.atomic
def exception_revoke(*, actor, exception: FindingException) -> FindingException:
    if exception.revoked_at is None:
        exception.revoked_at = timezone.now()
        exception.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            target=exception.image,
            action="scan.exception_revoke",
            data={"check_id": exception.check_id, "key": exception.key},
        )
    return exception


@transaction.atomic
def policy_update(
    *,
    actor,
    fail_checks: list[str],
    fail_vuln_severities: list[str],
    fail_unfixed_vulns: bool,
    require_vulndb: bool = True,
) -> ScanPolicy:
    allowed = set(VULN_SEVERITIES)
    violations = []
    if not set(fail_vuln_severities) <= allowed:
        violations.append(
            Violation("fail_vuln_severities", "invalid", _("Severities are critical, high, medium, low or unknown."))
        )
    if any(not p.strip() for p in fail_checks):
        violations.append(Violation("fail_checks", "blank", _("A check pattern cannot be empty.")))
    raise_if(violations)
    policy = ScanPolicy.current()
    policy.fail_checks, policy.fail_vuln_severities = [p.strip() for p in fail_checks], list(fail_vuln_severities)
    policy.fail_unfixed_vulns, policy.require_vulndb, policy.updated_by = fail_unfixed_vulns, require_vulndb, actor
    policy.save()
    audit_record(
        actor=actor,
        target=policy,
        action="scan.policy_update",
        data={
            "fail_checks": policy.fail_checks,
            "fail_vuln_severities": policy.fail_vuln_severities,
            "fail_unfixed_vulns": fail_unfixed_vulns,
            "require_vulndb": require_vulndb,
        },
    )
    return policy


def vulndb_rescan() -> int:
    """After a vulnerability database update, queue the rescans the apps above ask for; how many were queued.

    Scanning cannot know which images matter: receivers of `vulndb_updated` choose (products: every image a
    listed product sells) and call `images_rescan`.
    """
    return sum(count for _receiver, count in vulndb_updated.send(sender=VulnDbImport) if count)


def images_rescan(*, image_ids: Iterable[UUID]) -> int:
    """Queue a rescan after a vulnerability database update of each available image of `image_ids`; how many."""
    count = 0
    for image in Image.objects.filter(pk__in=image_ids, status=Image.Status.AVAILABLE):
        scan_request(image=image, trigger=Scan.Trigger.VULNDB)
        count += 1
    return count


def scans_housekeeping() -> list[str]:
    """A scan left running by a worker that died is queued again (or ends as `error` after its last attempt).
    Not on RQ, which runs the dead worker's job again itself: that job takes the scan over (scan_run)."""
    from datetime import timedelta

    from django.conf import settings

    if settings.SHELF_JOBS_RERUN_BY_QUEUE:
        return []
    cutoff = timezone.now() - timedelta(seconds=2 * settings.SHELF_SCAN_TIMEOUT + 60)
    touched = []
    for scan in Scan.objects.filter(status=Scan.Status.RUNNING, started_at__lt=cutoff):
        with transaction.atomic():
            scan = Scan.objects.select_for_update().get(pk=scan.pk)
            if scan.status != Scan.Status.RUNNING:
                continue
            _scan_failed(scan, "the worker running this scan stopped before it finished")
        touched.append(str(scan.pk))
    return touched
