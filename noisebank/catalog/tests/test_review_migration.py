"""Migration 0005: an install that had recordings before reviews existed keeps them all in the
catalogue and its exports (accepted); recordings made afterwards start submitted."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0006_long_term_indicators")]
AFTER = [("catalog", "0007_review_state")]


@pytest.mark.django_db(transaction=True)
def test_existing_recordings_are_accepted_and_new_ones_submitted() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        OldRecording = old.get_model("catalog", "Recording")
        for i in range(3):
            OldRecording.objects.create(noise_id=f"NSE-OLD-{i}", name=f"old {i}")

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Recording = new.get_model("catalog", "Recording")
        assert set(Recording.objects.values_list("review_state", flat=True)) == {"accepted"}
        made = Recording.objects.create(noise_id="NSE-NEW-1", name="new")
        assert Recording.objects.get(pk=made.pk).review_state == "submitted"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
