"""Django's `flush`, aware of the append-only audit log.

`flush` empties every table; the audit log's triggers refuse that (as they should). Tests that
flush (live_server, transactional tests) and development resets lift the guard for the flush and
put it back; in production the command refuses, because it would erase the audit trail.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush

from zhangzhi.org import audit


class Command(flush.Command):
    def handle(self, **options):
        if settings.PRODUCTION:
            raise CommandError("flush would erase the audit log (kept at least 180 days); refused in production")
        with audit.guard_lifted(options["database"]):
            return super().handle(**options)
