"""The library's kept facet counts (library/facets.py), filled from the existing practices."""

from django.db import migrations, models


def fill(apps, schema_editor):
    from sessions_app.library import facets

    Practice = apps.get_model("sessions_app", "Practice")
    rows = Practice.objects.select_related("session__meeting").prefetch_related("library_themes")
    facets.rebuild(rows.iterator(chunk_size=500))


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0009_merge_synthesis_library'),
    ]

    operations = [
        migrations.CreateModel(
            name='LibraryFacetCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('access', models.CharField(max_length=10)),
                ('filter_facet', models.CharField(blank=True, max_length=10)),
                ('filter_value', models.CharField(blank=True, max_length=20)),
                ('facet', models.CharField(max_length=10)),
                ('value', models.CharField(max_length=20)),
                ('n', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('filter_facet', 'filter_value', 'access', 'facet', 'value'), name='unique_library_facet_count')],
            },
        ),
        migrations.CreateModel(
            name='LibraryFacetValue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('practice_id', models.BigIntegerField()),
                ('access', models.CharField(max_length=10)),
                ('facet', models.CharField(max_length=10)),
                ('value', models.CharField(max_length=20)),
            ],
            options={
                'indexes': [models.Index(fields=['facet', 'value', 'access', 'practice_id'], name='library_facet_by_value'), models.Index(fields=['practice_id', 'facet', 'value', 'access'], name='library_facet_by_practice')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
