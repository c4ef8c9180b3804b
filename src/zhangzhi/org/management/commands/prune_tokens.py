"""`zhangzhi prune_tokens`: delete API tokens revoked or expired more than ZHANGZHI_API_TOKEN_KEEP_DAYS ago.

Until then they stay listed (GET /api/v1/auth/tokens?all=true) as revoked or expired. Run it daily
(cron or a systemd timer); it is one DELETE, safe beside the server and on several workers. With
--lockouts it also drops django-axes' lock-out records whose cool-off has passed.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zhangzhi.org import actions


class Command(BaseCommand):
    help = "Delete API tokens revoked or expired more than ZHANGZHI_API_TOKEN_KEEP_DAYS ago."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="keep revoked and expired tokens this many "
                            f"days (default {settings.API_TOKEN_KEEP_DAYS})")
        parser.add_argument("--lockouts", action="store_true",
                            help="also drop failed-login records past their cool-off")

    def handle(self, *args, days=None, lockouts=False, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more")
        deleted = actions.prune_tokens(keep_days=days)
        self.stdout.write(f"deleted {deleted} revoked or expired API tokens")
        if lockouts:
            from axes.models import AccessAttempt
            from django.utils import timezone

            cutoff = timezone.now() - settings.AXES_COOLOFF_TIME
            n, _ = AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()
            self.stdout.write(f"deleted {n} failed-login records past their cool-off")
