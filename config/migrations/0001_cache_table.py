"""The shared cache's table, made by migrate so no deploy step can forget it."""

from django.core.management import call_command
from django.db import migrations


def cache_table_create(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]
