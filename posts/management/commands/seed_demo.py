from django.core.management.base import BaseCommand

from posts.demo import PEOPLE, demo_seed


class Command(BaseCommand):
    help = "Fill the site with demo people, photos, follows, likes and comments."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-password-123", help="for every demo user")
        parser.add_argument("--posts", type=int, default=3, help="posts per person")

    def handle(self, *args, password: str, posts: int, **options):
        people = demo_seed(password=password, posts_each=posts)
        names = ", ".join(person.username for person in people)
        self.stdout.write(f"Demo people: {names}. Log in as {PEOPLE[0][0]} / {password}.")
