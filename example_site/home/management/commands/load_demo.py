"""Create the demo's front page and an admin login; safe to run again."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from wagtail.models import Page, Site

from home.models import HomePage

ADMIN_USERNAME = "admin"
# A local demo on 127.0.0.1: a fixed, printed password is the convenient choice.
ADMIN_PASSWORD = "nanovod-demo"  # noqa: S105

INTRO = (
    "<p>Recordings of nanoStream Cloud live streams, resolved through bintu by "
    "wagtail-nanovod. Each row is one demo stream.</p>"
)


class Command(BaseCommand):
    help = "Create the demo content and an admin login (admin / nanovod-demo)."

    def handle(self, *args, **options):
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)

        if not HomePage.objects.exists():
            root = Page.get_first_root_node()
            # Wagtail's initial migration makes a placeholder page; the demo replaces it.
            for placeholder in root.get_children().exact_type(Page):
                placeholder.delete()
            home = root.add_child(
                instance=HomePage(title="Recorded live streams", slug="home", intro=INTRO)
            )
            Site.objects.update_or_create(
                is_default_site=True,
                defaults={"hostname": "localhost", "port": 8000, "root_page": home},
            )
        self.stdout.write(f"Demo content ready. Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
