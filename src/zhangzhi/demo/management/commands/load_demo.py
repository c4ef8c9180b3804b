import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from zhangzhi.demo.build import build
from zhangzhi.org import reference


class Command(BaseCommand):
    help = "Build the Yangquan demo through the same actions users take (once; --reset rebuilds)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="empty the database first, then build")
        parser.add_argument("--seed", type=int, default=20261122)

    def handle(self, *args, reset=False, seed=20261122, **options):
        from django.conf import settings

        if settings.PRODUCTION:
            raise CommandError("refusing to load the demo into a production database (ZHANGZHI_PRODUCTION=1)")
        if get_user_model().objects.filter(username="city-office").exists():
            if not reset:
                self.stdout.write("The demo is already loaded (use --reset to rebuild it).")
                return
            call_command("flush", "--no-input", verbosity=0)
        reference.ensure_all()
        start = time.monotonic()
        demo = build(seed)
        for line in demo.log:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Demo built in {time.monotonic() - start:.1f} s.")
