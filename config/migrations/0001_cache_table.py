"""The shared cache's table, made by migrate so no deploy step can forget it; made by name, so
that a site that started on REDIS_URL (whose CACHES name no table) can later drop it."""

from django.core.management import call_command
from django.db import migrations

from config.secrets import CACHE_TABLE


def cache_table_create(apps, schema_editor):
    call_command(
        "createcachetable", CACHE_TABLE, database=schema_editor.connection.alias, verbosity=0
    )


class Migration(migrations.Migration):
    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]
