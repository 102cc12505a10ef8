"""Trigram indexes for the text filter `q` on PostgreSQL (SQLite scans; it has no such index).

`q` is `icontains` over noise_id, name and description, which Django writes as
`UPPER(col::text) LIKE UPPER('%term%')`: no b-tree serves a pattern with a leading wildcard, so at
a million recordings every search read the whole table (3-6 s). A GIN index of trigrams on each
UPPER(col::text) serves exactly that expression; pg_trgm is a trusted extension (PostgreSQL 13+),
so the database owner may create it.
"""

from django.db import migrations

COLUMNS = ("noise_id", "name", "description")


def create(apps: object, schema_editor: object) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for col in COLUMNS:
            c.execute(
                f"CREATE INDEX IF NOT EXISTS recording_{col}_trgm ON catalog_recording "
                f"USING gin (UPPER({col}::text) gin_trgm_ops)"
            )


def drop(apps: object, schema_editor: object) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as c:
        for col in COLUMNS:
            c.execute(f"DROP INDEX IF EXISTS recording_{col}_trgm")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_catalogue_sort_indexes")]

    operations = [migrations.RunPython(create, drop)]
