"""Demo content: people, landscape pictures drawn with Pillow, follows, likes and comments.

Everything goes through the same services as the pages (image pipeline, storage, rows), so
the demo also exercises the real path. Used by ``manage.py seed_demo`` and the README's
screenshots.
"""

import io
import random

from PIL import Image, ImageDraw, ImageFilter

from members.models import User
from members.services import follow_create, profile_update
from posts import services
from posts.forms import Photo
from posts.images import avatar_rendition
from posts.models import Post

PEOPLE = [
    ("mina.k", "Mina Kim", "Seoul · film and coffee"),
    ("leo_travels", "Leo Martin", "Chasing sunsets, one coast at a time"),
    ("aiko", "Aiko Tanaka", "Mountains > everything"),
    ("sam.cooks", "Sam Okafor", "Home cook. Bad at plating."),
    ("noor", "Noor Haddad", ""),
]
PALETTES = [
    ((255, 183, 94), (237, 117, 57), (88, 52, 89), (52, 36, 71)),
    ((135, 206, 235), (176, 224, 230), (70, 110, 90), (40, 70, 60)),
    ((255, 214, 165), (253, 158, 161), (98, 80, 140), (60, 50, 100)),
    ((20, 30, 70), (60, 70, 130), (30, 40, 60), (15, 20, 35)),
    ((250, 240, 200), (240, 200, 150), (160, 110, 80), (110, 70, 50)),
]
CAPTIONS = [
    "Golden hour never gets old #sunset #travel",
    "Made it to the top before the clouds rolled in #hiking #mountains",
    "Quiet morning by the water with @{friend} #nofilter",
    "This view was worth the 5am alarm #sunrise",
    "Weekend escape #roadtrip #nature",
    "Colours you can't make up #sky",
]
COMMENTS = [
    "Wow!",
    "Where is this?",
    "Stunning!",
    "Take me with you next time",
    "#goals",
    "Love the colours",
]


def landscape(width: int, height: int, seed: int) -> bytes:
    """A flat-style landscape: a sky gradient, a sun and layered hills, as a JPEG."""
    rng = random.Random(seed)
    top, bottom, near, far = rng.choice(PALETTES)
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", sky.size, bottom), Image.new("RGB", sky.size, top), sky
    )
    draw = ImageDraw.Draw(image)
    radius = rng.randint(height // 14, height // 8)
    sun = (rng.randint(radius, width - radius), rng.randint(height // 6, height // 2))
    draw.ellipse(
        (sun[0] - radius, sun[1] - radius, sun[0] + radius, sun[1] + radius), fill=(255, 244, 214)
    )
    for layer in range(3):
        colour = tuple(int(f + (n - f) * layer / 2) for f, n in zip(far, near, strict=True))
        base = int(height * (0.55 + 0.15 * layer))
        points = [(0, height)]
        for x in range(0, width + 1, width // 8):
            points.append((x, base - rng.randint(0, height // 5)))
        points.append((width, height))
        draw.polygon(points, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def avatar(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (400, 400), rng.choice(PALETTES)[0])
    draw = ImageDraw.Draw(image)
    draw.ellipse((120, 70, 280, 230), fill=(60, 45, 40))
    draw.ellipse((60, 250, 340, 520), fill=rng.choice(PALETTES)[2])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def demo_seed(*, password: str, posts_each: int = 3) -> list[User]:
    """Create the demo people (skipping any that exist) with photos, follows, likes, comments."""
    rng = random.Random(7)
    people = []
    for number, (username, name, bio) in enumerate(PEOPLE):
        person, created = User.objects.get_or_create(
            username=username,
            # example.com takes no mail: the demo people count as confirmed.
            defaults={
                "email": f"{username}@example.com",
                "email_verified": True,
                "full_name": name,
                "bio": bio,
            },
        )
        if not created:
            people.append(person)
            continue
        person.set_password(password)
        profile_update(user=person, photo=avatar_rendition(avatar(number)), remove_photo=False)
        people.append(person)
        for index in range(posts_each):
            photos = []
            for extra in range(1 + (index % 2)):
                seed = number * 100 + index * 10 + extra
                size = rng.choice([(1600, 1200), (1200, 1500), (1400, 1400)])
                photos.append(Photo(source=landscape(*size, seed), alt_text=""))
            friend = PEOPLE[(number + 1) % len(PEOPLE)][0]
            caption = rng.choice(CAPTIONS).format(friend=friend)
            services.post_create(author=person, photos=photos, caption=caption)
    for person in people:
        for other in people:
            if other != person and rng.random() < 0.7:
                follow_create(follower=person, following=other)
    for post in Post.objects.filter(author__in=people):
        for person in rng.sample(people, rng.randint(1, len(people))):
            services.like_create(user=person, post=post)
        for person in rng.sample(people, rng.randint(0, 3)):
            services.comment_create(author=person, post=post, text=rng.choice(COMMENTS))
    return people
