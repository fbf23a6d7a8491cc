"""The library's index with stemming: FTS5's porter tokenizer and bm25 weights on SQLite, the
practice's language configuration beside `simple` on PostgreSQL. The index is rebuilt from the
practices, so every existing practice stays findable. And a covering index for the facet counts."""

from django.db import migrations, models

from sessions_app.library import search


def recreate_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in search.drop_sql(vendor) + search.create_sql(vendor):
        schema_editor.execute(sql)
    Practice = apps.get_model("sessions_app", "Practice")
    rows = Practice.objects.select_related("delegation", "session__meeting").prefetch_related("themes", "library_themes")
    for practice in rows.iterator(chunk_size=500):
        search.index_practice(practice)


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0007_merge_deployment")]

    operations = [
        migrations.RunPython(recreate_index, migrations.RunPython.noop),
        # The library's filter and facet columns: its counts read this index, not the practices' text.
        migrations.AddIndex(
            model_name="practice",
            index=models.Index(
                fields=["visibility", "retired", "merged_into", "session", "delegation", "year_started", "level", "status"],
                name="practice_library",
            ),
        ),
    ]
