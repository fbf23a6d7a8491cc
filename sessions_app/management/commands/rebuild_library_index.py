from django.core.management.base import BaseCommand

from sessions_app.library.services import rebuild_library_index


class Command(BaseCommand):
    help = "Rebuild the practice library's full-text index and facet counts from every practice."

    def handle(self, *args, **options):
        count = rebuild_library_index()
        self.stdout.write(f"Indexed {count} practices.")
