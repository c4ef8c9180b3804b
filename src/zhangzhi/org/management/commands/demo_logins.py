from django.core.management.base import BaseCommand

from zhangzhi.org.checks import DEMO_USERNAMES
from zhangzhi.org.models import Person


class Command(BaseCommand):
    help = "Print the demo logins (password zhangzhi-demo)."

    def handle(self, *args, **options):
        people = {p.user.username: p for p in Person.objects.unrestricted("the demo's own logins")
                  .filter(user__username__in=DEMO_USERNAMES)
                  .select_related("user").prefetch_related("units", "posts__role")}
        self.stdout.write("Demo logins (password: zhangzhi-demo)")
        for name in DEMO_USERNAMES:
            p = people.get(name)
            if p is None:
                continue
            where = ", ".join(u.name for u in p.units.all()) or ", ".join(
                f"{post.role.name} {post.feature or post.region}" for post in p.posts.all()[:2]) or p.title
            self.stdout.write(f"  {name:<20} {p.name} · {where}")
