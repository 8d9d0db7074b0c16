from django.core.management.base import BaseCommand

from shelf.storefront.services import REBUILD_BATCH, catalog_rebuild


class Command(BaseCommand):
    help = "Rebuild the public catalog and its search index from the listed revisions (idempotent, in batches)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=REBUILD_BATCH, help="Products per transaction.")

    def handle(self, *args, batch_size: int, **options):
        result = catalog_rebuild(batch_size=max(1, batch_size))
        self.stdout.write(f"{result['listed']} listed products indexed, {result['removed']} stale entries removed.")
