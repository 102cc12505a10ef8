import io
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import F

from noisebank.accounts.roles import Role, role_of
from noisebank.catalog.models import AudioFeatures, NoiseAnalysis, Recording
from noisebank.lib.bands import BAND_CENTRES

# The seeder writes through its own connection on PostgreSQL, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def seed(*args: str) -> str:
    """Seed without the audio recordings (test_demo_audio covers those)."""
    out = io.StringIO()
    call_command("seed", "--audio", "0", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seed_creates_demo_logins_with_their_roles() -> None:
    seed("--count", "0", "--password", "pw-for-test")
    roles = {
        u.username: role_of(u)
        for u in User.objects.filter(username__in=["admin", "reviewer", "researcher", "collector"])
    }
    assert roles == {
        "admin": Role.ADMIN,
        "reviewer": Role.REVIEWER,
        "researcher": Role.RESEARCHER,
        "collector": Role.COLLECTOR,
    }
    assert User.objects.get(username="researcher").check_password("pw-for-test")


def test_seeded_recordings_are_complete_and_realistic() -> None:
    assert "Seeded 2,000 recordings" in seed("--count", "2000")
    assert Recording.objects.count() == 2000
    # The demo's catalogue is accepted: researchers see and export all of it.
    assert set(Recording.objects.values_list("review_state", flat=True)) == {"accepted"}
    ready = Recording.objects.filter(status="ready")
    # Nearly all are measured; pending/failed ones have no measurements, as in real life.
    assert 1900 < ready.count() < 2000
    assert AudioFeatures.objects.count() == NoiseAnalysis.objects.count() == ready.count()
    assert not AudioFeatures.objects.exclude(recording__status="ready").exists()
    assert all(r.error for r in Recording.objects.filter(status="failed"))

    laeq = list(NoiseAnalysis.objects.values_list("laeq", flat=True))
    assert min(laeq) >= 45 and max(laeq) <= 105 and max(laeq) - min(laeq) > 35
    durations = list(AudioFeatures.objects.values_list("duration_s", flat=True))
    assert min(durations) >= 2 and max(durations) <= 120
    for a in NoiseAnalysis.objects.all()[:200]:
        assert a.lafmin <= a.la90 <= a.la50 <= a.la10 <= a.lafmax
        assert a.unit == "dB SPL"
        assert set(a.band_levels) <= set(BAND_CENTRES) and "1000" in a.band_levels
    for f in AudioFeatures.objects.all()[:200]:
        assert len(f.mfcc) == 13 and len(f.chroma) == 12
        assert abs(f.num_samples / f.sample_rate - f.duration_s) <= 0.0005


def test_seeded_text_exercises_every_export_edge_case() -> None:
    seed("--count", "1500")
    names = list(Recording.objects.values_list("name", flat=True))
    descriptions = list(Recording.objects.values_list("description", flat=True))
    text = names + descriptions
    assert any("," in t for t in text) and any('"' in t for t in text)
    assert any("\n" in t for t in descriptions) and any(d == "" for d in descriptions)
    assert any(not t.isascii() for t in text)
    assert {t[0] for t in names} >= {"=", "+", "-", "@"}
    assert Recording.objects.filter(latitude__isnull=True).exists()
    assert Recording.objects.filter(collector__username="zoë.müller").exists()


def test_noise_ids_are_unique_and_public_format() -> None:
    seed("--count", "3000")
    ids = list(Recording.objects.values_list("noise_id", flat=True))
    assert len(set(ids)) == 3000
    assert all(i.startswith("NSE-") and len(i.split("-")) == 4 for i in ids)


def test_seed_appends_and_if_empty_does_not() -> None:
    seed("--count", "300")
    assert "already holds 300" in seed("--count", "300", "--if-empty")
    seed("--count", "200")
    assert Recording.objects.count() == 500
    assert len(set(Recording.objects.values_list("noise_id", flat=True))) == 500


def test_taxonomy_is_spread_across_categories_and_regions() -> None:
    seed("--count", "2000")
    per_category = Counter(Recording.objects.values_list("category__name", flat=True))
    per_region = Counter(Recording.objects.values_list("region__name", flat=True))
    assert len(per_category) == 5 and min(per_category.values()) > 100
    assert len(per_region) == 7
    # Every recording's class belongs to its category and its community to its region.
    assert not Recording.objects.exclude(sound_class__category=F("category")).exists()
    assert not Recording.objects.exclude(community__region=F("region")).exists()


def test_demo_audio_over_the_upload_limit_is_skipped_with_a_reason(settings: Any) -> None:
    settings.NOISEBANK_MAX_UPLOAD_MB = 0
    out, err = io.StringIO(), io.StringIO()
    call_command("seed", "--count", "5", "--audio", "2", stdout=out, stderr=err)
    assert "Added 0 recordings with synthesised audio" in out.getvalue()
    assert err.getvalue().count("Demo audio not added:") == 2
    assert "upload limit" in err.getvalue()
    assert Recording.objects.count() == 5


def test_seeded_times_compare_equal_to_the_same_instant_in_a_query() -> None:
    # As a keyset cursor does: the stored text must equal Django's parameter for that instant.
    seed("--count", "40")
    for rec in Recording.objects.filter(recorded_at__isnull=False)[:10]:
        assert Recording.objects.filter(recorded_at=rec.recorded_at, pk=rec.pk).exists()
        assert Recording.objects.filter(created_at=rec.created_at, pk=rec.pk).exists()
        assert not Recording.objects.filter(recorded_at__gt=rec.recorded_at, pk=rec.pk).exists()
