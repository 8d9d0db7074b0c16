"""Send every webhook delivery whose next attempt is due.

Retries are normally scheduled on the task queue with run_after; run this from cron when the task
backend cannot defer jobs, or after an outage to catch up.
"""

from django.core.management.base import BaseCommand

from shelf.webhooks.services import deliveries_due, delivery_attempt


class Command(BaseCommand):
    help = "Send the webhook deliveries whose next attempt is due."

    def handle(self, *args, **options):
        counts: dict[str, int] = {}
        for delivery in deliveries_due():
            status = delivery_attempt(delivery).status
            counts[status] = counts.get(status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"
        self.stdout.write(summary)
