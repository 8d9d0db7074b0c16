"""Settle every metered hour not yet settled up to --until (default now), then evaluate arrears and prepaid
terms (notices, auto-renew, isolation, release). Idempotent: run it as often as you like, also to catch up."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from shelf.billing.tasks import billing_run


class Command(BaseCommand):
    help = "Settle metered postpaid hours up to --until (ISO 8601, default now), then arrears and prepaid terms."

    def add_arguments(self, parser):
        parser.add_argument("--until", help="Settle hours that ended by this time, e.g. 2026-12-01T18:00:00Z.")

    def handle(self, *args, until=None, **options):
        limit = None
        if until:
            try:
                limit = datetime.fromisoformat(until.replace("Z", "+00:00"))
            except ValueError as exc:
                raise CommandError(f"--until: not an ISO 8601 time: {until!r}") from exc
            if limit.tzinfo is None:
                limit = limit.replace(tzinfo=UTC)
        result = billing_run(until=limit)
        usage = result["usage"]
        self.stdout.write(
            f"hours settled {usage['hours']}, charged {usage['charged']}; arrears {result['arrears']}; "
            f"terms opened {result['terms_opened']}, steps {result['terms']}; holds stopped {result['holds_stopped']}"
        )
