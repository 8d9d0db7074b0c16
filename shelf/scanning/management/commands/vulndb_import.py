from django.core.management.base import BaseCommand

from shelf.scanning.services import vulndb_rescan
from shelf.scanning.vulndb import vulndb_import


class Command(BaseCommand):
    help = (
        "Load OSV vulnerability records from a directory, a JSON file or an OSV zip archive (incremental, idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--no-rescan", action="store_true", help="Do not rescan the images of listed products.")

    def handle(self, *args, path, no_rescan, **options):
        run = vulndb_import(path)
        self.stdout.write(
            f"Imported {path}: {run.added} added, {run.updated} updated, {run.unchanged} unchanged, {len(run.errors)} skipped."
        )
        for error in run.errors[:20]:
            self.stderr.write(f"  skipped {error['source']}: {error['reason']}")
        if (run.added or run.updated) and not no_rescan:
            self.stdout.write(f"Rescanning {vulndb_rescan()} image(s) of listed products.")
