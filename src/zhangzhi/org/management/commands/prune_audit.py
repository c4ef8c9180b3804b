"""`zhangzhi prune_audit`: drop audit records older than ZHANGZHI_AUDIT_RETENTION_DAYS (≥ 180).

Safe on several workers: each batch deletes by id and age, and the database's own trigger refuses
any row younger than 180 days whatever this command is told.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zhangzhi.org import audit


class Command(BaseCommand):
    help = "Delete audit-log records older than the retention (ZHANGZHI_AUDIT_RETENTION_DAYS, at least 180 days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help=f"keep this many days (default {settings.AUDIT_RETENTION_DAYS}; at least "
                                 f"{settings.AUDIT_MIN_RETENTION_DAYS})")

    def handle(self, *args, days=None, **options):
        try:
            with audit.acting(via="command"):
                deleted = audit.prune(days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"deleted {deleted} audit records older than "
                          f"{days or settings.AUDIT_RETENTION_DAYS} days")
