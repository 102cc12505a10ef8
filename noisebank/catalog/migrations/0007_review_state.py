import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_long_term_indicators'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='recording',
            name='review_note',
            field=models.TextField(blank=True),
        ),
        # Recordings already in an install counted before reviews existed: they stay in the
        # catalogue and the exports as accepted. The column is added with that default (filled
        # in by the database), then new rows default to submitted.
        migrations.AddField(
            model_name='recording',
            name='review_state',
            field=models.CharField(choices=[('submitted', 'Submitted'), ('accepted', 'Accepted'), ('rejected', 'Rejected'), ('changes_requested', 'Changes requested')], default='accepted', max_length=20),
        ),
        migrations.AlterField(
            model_name='recording',
            name='review_state',
            field=models.CharField(choices=[('submitted', 'Submitted'), ('accepted', 'Accepted'), ('rejected', 'Rejected'), ('changes_requested', 'Changes requested')], default='submitted', max_length=20),
        ),
        migrations.AddField(
            model_name='recording',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='recording',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(condition=models.Q(('review_state', 'accepted'), _negated=True), fields=['review_state', 'created_at', 'id'], name='recording_review_idx'),
        ),
    ]
