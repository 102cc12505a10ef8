"""Pages of curation: the review queue (reviewers) and a collector's own recordings."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from noisebank.accounts.roles import action_required, can_review, is_admin
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import BadCursor, keyset_page
from noisebank.curation.services import (
    DECISIONS,
    NOTE_REQUIRED,
    ReviewRefused,
    recordings_review,
)
from noisebank.ingest.api import DETAIL_RELATIONS
from noisebank.ingest.views import charts_of

Review = Recording.Review
QUEUE_SIZE = 50
MINE_SIZE = 100
QUEUE_FIELDS = (
    "noise_id", "name", "created_at", "status", "review_state", "review_note",
    "collector__username", "collector__first_name", "collector__last_name",
)  # fmt: skip


class BadState(ValueError):
    pass


def _state(request: HttpRequest, default: str | None) -> str | None:
    raw = (request.GET.get("state") or "").strip()
    if not raw:
        return default
    if raw not in Review.values:
        raise BadState(f"state={raw[:40]}: use one of {', '.join(Review.values)}.")
    return raw


def _bad_state(request: HttpRequest, template: str, e: BadState) -> HttpResponse:
    return render(request, template, {"rows": [], "states": [], "error": str(e)}, status=400)


def review_counts() -> dict[str, int]:
    """Recordings waiting or decided against, by state (accepted ones are the catalogue)."""
    found = dict(
        Recording.objects.exclude(review_state=Review.ACCEPTED)
        .values_list("review_state")
        .annotate(n=Count("id"))
        .values_list("review_state", "n")
    )
    return {s: found.get(s, 0) for s in Review.values if s != Review.ACCEPTED}


@action_required("review")
def review_queue(request: HttpRequest) -> HttpResponse:
    """The recordings in one review state (submitted first), oldest upload first, beside the
    one being reviewed: player, plots, levels, metadata, history and the decision."""
    try:
        state = _state(request, Review.SUBMITTED) or Review.SUBMITTED
    except BadState as e:
        return _bad_state(request, "curation/review_queue.html", e)
    cursor = request.GET.get("after", "").strip() or None
    listed = Recording.objects.filter(review_state=state).select_related("collector")
    try:
        page = keyset_page(
            listed.only(*QUEUE_FIELDS), field="created_at", descending=False, cursor=cursor,
            size=QUEUE_SIZE, value_types=(datetime,), tag="queue",
        )  # fmt: skip
    except BadCursor as e:
        messages.error(request, str(e))
        return redirect(f"{reverse('review-queue')}?{urlencode({'state': state})}")
    rows = list(page.items)
    wanted = request.GET.get("current", "").strip()
    current = None
    if wanted:
        current = (
            Recording.objects.select_related(*DETAIL_RELATIONS, "reviewed_by")
            .filter(noise_id=wanted)
            .first()
        )
        if current is None:
            messages.warning(request, f"{wanted} was deleted meanwhile.")
    if current is None and rows:
        current = (
            Recording.objects.select_related(*DETAIL_RELATIONS, "reviewed_by")
            .filter(pk=rows[0].pk)
            .first()
        )
    position = next((i for i, r in enumerate(rows) if current and r.pk == current.pk), None)
    following = rows[position + 1] if position is not None and position + 1 < len(rows) else None
    previous = rows[position - 1] if position else None
    here = {"state": state, **({"after": cursor} if cursor else {})}
    context: dict[str, Any] = {
        "state": state,
        "state_label": Review(state).label,
        "states": [(s, Review(s).label, n) for s, n in review_counts().items()],
        "rows": rows,
        "current": current,
        "next_id": following.noise_id if following else "",
        "previous_id": previous.noise_id if previous else "",
        "next_page": f"?{urlencode({'state': state, 'after': page.next_cursor})}"
        if page.next_cursor
        else None,
        "here": urlencode(here),
        "decisions": [(d, Review(d).label) for d in DECISIONS],
        "note_required": [str(d) for d in NOTE_REQUIRED],
        # A reviewer's own upload is for another reviewer (admins may decide anything).
        "own_upload": bool(
            current and current.collector_id == request.user.pk and not is_admin(request.user)
        ),
    }
    if current is not None:
        context.update(
            {
                "features": getattr(current, "features", None),
                "analysis": getattr(current, "analysis", None),
                "charts": charts_of(getattr(current, "analysis", None)),
                "audio_url": reverse("recording-audio", args=[current.noise_id])
                if current.audio
                else None,
                "history": list(current.changes.select_related("user")[:20]),
            }
        )
    return render(request, "curation/review_queue.html", context)


@require_POST
@action_required("review")
def review_decide(request: HttpRequest) -> HttpResponse:
    """One decision for the ticked recordings, or for the one on screen when none is ticked."""
    state = request.POST.get("state") or Review.SUBMITTED
    selected = [s for s in request.POST.getlist("selected") if s.strip()]
    current = request.POST.get("current", "").strip()
    noise_ids = selected or ([current] if current else [])
    decision = request.POST.get("decision", "")
    back = {"state": state if state in Review.values else Review.SUBMITTED}
    try:
        result = recordings_review(
            noise_ids=noise_ids,
            decision=decision,
            note=request.POST.get("note", ""),
            reviewer=request.user,  # type: ignore[arg-type]
        )
    except ReviewRefused as e:
        messages.error(request, str(e))
        if current:
            back["current"] = current
        return redirect(f"{reverse('review-queue')}?{urlencode(back)}")
    for i, line in enumerate(result.summary()):
        # The first line says what was decided; any others, what was not.
        messages.add_message(
            request, messages.SUCCESS if result.decided and i == 0 else messages.WARNING, line
        )
    following = request.POST.get("next", "").strip()
    stays = {*result.unchanged, *result.own} if decision != state else set(noise_ids)
    if current in stays:
        back["current"] = current
    elif following and following not in noise_ids:
        back["current"] = following
    return redirect(f"{reverse('review-queue')}?{urlencode(back)}")


@action_required("own")
def my_recordings(request: HttpRequest) -> HttpResponse:
    """Everything the user uploaded, in every review state, newest first, with the reviewers'
    notes: where a collector learns what was decided."""
    try:
        state = _state(request, None)
    except BadState as e:
        return _bad_state(request, "curation/my_recordings.html", e)
    own = Recording.objects.filter(collector_id=request.user.pk)
    counts = dict(
        own.order_by()
        .values_list("review_state")
        .annotate(n=Count("id"))
        .values_list("review_state", "n")
    )
    listed = own.filter(review_state=state) if state else own
    cursor = request.GET.get("after", "").strip() or None
    try:
        page = keyset_page(
            listed.select_related("reviewed_by").only(
                "noise_id", "name", "created_at", "status", "error", "review_state",
                "review_note", "reviewed_at", "reviewed_by__username",
            ),
            field="created_at", descending=True, cursor=cursor, size=MINE_SIZE,
            value_types=(datetime,), tag="mine",
        )  # fmt: skip
    except BadCursor as e:
        messages.error(request, str(e))
        return redirect("my-recordings")
    query = {"state": state} if state else {}
    return render(
        request,
        "curation/my_recordings.html",
        {
            "state": state,
            "states": [(s, Review(s).label, counts.get(s, 0)) for s in Review.values],
            "total": sum(counts.values()),
            "rows": page.items,
            "next_page": f"?{urlencode({**query, 'after': page.next_cursor})}"
            if page.next_cursor
            else None,
            "can_review": can_review(request.user),
        },
    )
