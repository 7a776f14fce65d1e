"""Rename tags stored with what lowercasing added (the combining dot above of a lowercased "İ")
to the name posts.text.tag_name now gives, merging each into a tag of that name if one exists.

The rule is copied here, as migrations must not change when the code does.
"""

import re

from django.db import migrations


def tag_name(word: str) -> str:
    return re.sub(r"\W", "", word.lower())


def rename_tags(apps, schema_editor):
    Tag = apps.get_model("posts", "Tag")
    # Only a name with a character outside ASCII's lowercase words can have changed.
    for old in list(Tag.objects.filter(name__regex=r"[^a-z0-9_]")):
        name = tag_name(old.name)
        if name == old.name:
            continue
        if not name:
            old.delete()
            continue
        new, _ = Tag.objects.get_or_create(name=name)
        new.posts.add(*old.posts.all())
        old.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0002_post_submitted_once"),
    ]

    operations = [
        migrations.RunPython(rename_tags, migrations.RunPython.noop),
    ]
