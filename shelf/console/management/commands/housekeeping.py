"""Put right what dead workers and abandoned clients leave behind: stalled image jobs and scans, expired
uploads, webhook deliveries that are due; and refresh the vulnerability database from SHELF_VULNDB_URLS. Safe to run anywhere, any time; `manage.py serve` runs it every
5 minutes, and at scale a cron job or one `--every 300` process does."""

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Requeue stalled image jobs and scans, expire abandoned uploads, send due webhook deliveries."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds instead of once.")

    def handle(self, *args, every, **options):
        from django.db import close_old_connections

        while True:
            self.run_once()
            if not every:
                return
            time.sleep(every)
            close_old_connections()  # a long-lived loop must not keep a stale connection

    def run_once(self):
        from shelf.accounts.throttle import prune_failures
        from shelf.billing.tasks import billing_run_quietly
        from shelf.compute.tasks import reconcile_quietly
        from shelf.images.tasks import housekeeping as images_housekeeping
        from shelf.scanning.models import VulnDbImport
        from shelf.scanning.services import scans_housekeeping
        from shelf.scanning.tasks import import_vulndb
        from shelf.scanning.vulndb import vulndb_sources_due
        from shelf.webhooks.services import deliveries_due, delivery_attempt

        prune_failures()
        reconcile_quietly()
        images = images_housekeeping()
        scans = scans_housekeeping()
        billing_run_quietly()  # metered hours, arrears, prepaid terms (shelf.billing)
        sent = [delivery_attempt(delivery).status for delivery in deliveries_due()]
        for url in vulndb_sources_due():
            # The import itself runs as a job; the row it creates marks the source as fresh.
            VulnDbImport.objects.create(source=url[:500])
            import_vulndb.enqueue(url)
        if images["requeued"] or images["expired"] or scans or sent:
            self.stdout.write(
                f"requeued images {len(images['requeued'])}, expired uploads {len(images['expired'])}, "
                f"requeued scans {len(scans)}, webhook deliveries {len(sent)}"
            )
