"""Compare the instances Shelf believes in with what the compute back end runs, and put the rows right
(shelf.compute.tasks.reconcile): a process that died makes its instance `lost`, stalled jobs run again, what the back
end holds for no live instance is terminated. `housekeeping` runs it too, so `serve` does at start and every 5 min."""

import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Reconcile instances with the compute back end (lost processes, stalled jobs, orphans)."

    def add_arguments(self, parser):
        parser.add_argument("--accel", action="store_true", help="Also boot the KVM canary again and show the result.")

    def handle(self, *args, accel, **options):
        from django.conf import settings

        from shelf.compute.backends import accel as accel_module
        from shelf.compute.tasks import reconcile

        self.stdout.write(json.dumps(reconcile()))
        if accel:
            decision = accel_module.decide(settings.DATA_DIR, settings.SHELF_COMPUTE_ACCEL, recheck=True)
            self.stdout.write(json.dumps(decision))
