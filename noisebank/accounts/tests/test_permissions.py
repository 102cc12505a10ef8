"""Every URL of the site, for every role, against the role-by-action table of accounts/roles.py.

Each URL is a Case naming the action (a row of the table) it belongs to and the answer a role
that may do it gets; a role that may not gets 403 (anonymous: a redirect to the login page, or
401 from the API). Ownership is the only thing the table does not say (a collector's own
recording, a researcher's own export job): those answers are spelt out per role. The walk fails
if the resolver knows a URL no Case covers, so a new page cannot go unchecked. Every request
runs in a savepoint rolled back afterwards, so a delete or a decision for one role leaves the
site as it was for the next.
"""

import json as json_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from noisebank.accounts.models import EmailVerification, Invitation, Profile, token_create
from noisebank.accounts.roles import ACTIONS, Role, permission_table, role_group
from noisebank.catalog import models as m
from noisebank.catalog.models import Recording
from noisebank.curation.models import BulkChange
from noisebank.exports.models import ExportJob
from noisebank.ingest.models import ChunkedUpload
from noisebank.ingest.tasks import process_recording
from noisebank.testing import make_recording, make_user, write_audio

ROOT = Path(__file__).resolve().parents[3]
ROLES = {
    "anonymous": Role.NONE,
    "collector": Role.COLLECTOR,
    "researcher": Role.RESEARCHER,
    "reviewer": Role.REVIEWER,
    "admin": Role.ADMIN,
}
LOGGED_IN = ("collector", "researcher", "reviewer", "admin")


def everyone_but_anonymous(status: int) -> dict[str, int]:
    return dict.fromkeys(LOGGED_IN, status)


@dataclass(frozen=True)
class Case:
    route: str  # the pattern as the resolver lists it: how the walk knows what it covered
    method: str
    path: str  # with {acc}, {sub}, {job}, {upload} for the site's objects
    action: str  # the row of the table
    ok: int  # the answer to a role that may
    data: Any = None
    json: bool = False
    only: dict[str, int] = field(default_factory=dict)  # what ownership changes, per role


# The collector owns {acc} (accepted, with audio) and {sub} (submitted); the researcher owns the
# export job {job}; the collector the chunked upload {upload}; the reviewer the bulk change
# {bulk} (an admin sees everyone's).
OWN_SUBMITTED = {"researcher": 404}  # not accepted: hidden from researchers
OWN_JOB = {"reviewer": 404}  # someone else's job is a 404 (an admin sees all)
OWN_UPLOAD = {"researcher": 404, "reviewer": 404, "admin": 404}
LOGGED_IN_REDIRECT = everyone_but_anonymous(302)  # login and sign-up pages send them home

CASES = [
    Case("", "GET", "/", "account", 302),
    Case("healthz", "GET", "/healthz", "account", 200),
    Case("metrics", "GET", "/metrics", "account", 404),  # off unless NOISEBANK_METRICS_TOKEN
    Case("accounts/login/", "GET", "/accounts/login/", "account", 200, only=LOGGED_IN_REDIRECT),
    Case("accounts/logout/", "POST", "/accounts/logout/", "account", 302),
    Case("accounts/signup/", "GET", "/accounts/signup/", "account", 200, only=LOGGED_IN_REDIRECT),
    Case("accounts/verify/", "GET", "/accounts/verify/", "account", 200),
    Case("accounts/verify/resend/", "POST", "/accounts/verify/resend/", "account", 302,
         data={"email": "nobody@example.org"}),
    Case("accounts/verify/<str:token>/", "GET", "/accounts/verify/not-a-token/", "account", 400),
    Case("accounts/invitations/", "GET", "/accounts/invitations/", "administer", 200),
    Case("accounts/password/reset/", "GET", "/accounts/password/reset/", "account", 200),
    Case("accounts/password/reset/sent/", "GET", "/accounts/password/reset/sent/", "account", 200),
    Case("accounts/password/reset/<uidb64>/<token>/", "GET",
         "/accounts/password/reset/MQ/set-password/", "account", 200),
    Case("accounts/password/reset/done/", "GET", "/accounts/password/reset/done/", "account", 200),
    # The API: its documentation is for anyone logged in.
    Case("api/v1/openapi.json", "GET", "/api/v1/openapi.json", "browse", 200),
    Case("api/v1/docs", "GET", "/api/v1/docs", "browse", 200),
    Case("api/v1/", "GET", "/api/v1/", "browse", 404),
    Case("api/v1/me", "GET", "/api/v1/me", "browse", 200),
    Case("api/v1/recordings", "GET", "/api/v1/recordings", "browse", 200),
    Case("api/v1/recordings", "POST", "/api/v1/recordings", "upload", 400),  # no file sent
    *(
        Case(f"api/v1/recordings/export.{fmt}", "GET", f"/api/v1/recordings/export.{fmt}",
             "export", 200)
        for fmt in ("csv", "xlsx", "parquet", "jsonl", "geojson", "zip")
    ),
    Case("api/v1/recordings/dataset.zip", "GET", "/api/v1/recordings/dataset.zip", "export", 200),
    Case("api/v1/recordings/export.<fmt>", "GET", "/api/v1/recordings/export.xls", "export", 404),
    Case("api/v1/columns", "GET", "/api/v1/columns", "browse", 200),
    Case("api/v1/stats", "GET", "/api/v1/stats", "browse", 200),
    Case("api/v1/recordings/<slug:noise_id>", "GET", "/api/v1/recordings/{acc}", "browse", 200),
    Case("api/v1/recordings/<slug:noise_id>", "GET", "/api/v1/recordings/{sub}", "own", 200,
         only=OWN_SUBMITTED),
    Case("api/v1/uploads/manifest", "POST", "/api/v1/uploads/manifest", "upload", 200,
         data={"manifest": ("manifest.csv", b"file,name\na.wav,A\n")}),
    Case("api/v1/uploads", "POST", "/api/v1/uploads", "upload", 201,
         data={"filename": "a.wav", "size": 100}, json=True),
    Case("api/v1/uploads/<uuidstr:upload_id>", "GET", "/api/v1/uploads/{upload}", "upload", 200,
         only=OWN_UPLOAD),
    Case("api/v1/uploads/<uuidstr:upload_id>", "PUT", "/api/v1/uploads/{upload}", "upload", 400,
         only=OWN_UPLOAD),  # no Content-Range
    Case("api/v1/uploads/<uuidstr:upload_id>", "DELETE", "/api/v1/uploads/{upload}", "upload",
         204, only=OWN_UPLOAD),
    Case("api/v1/uploads/<uuidstr:upload_id>/finish", "POST", "/api/v1/uploads/{upload}/finish",
         "upload", 409, only=OWN_UPLOAD),  # not all bytes arrived
    Case("api/v1/exports", "POST", "/api/v1/exports", "export", 202, data={"format": "csv"},
         json=True),
    Case("api/v1/exports", "GET", "/api/v1/exports", "export", 200),
    Case("api/v1/exports/<job_id>", "GET", "/api/v1/exports/{job}", "export", 200, only=OWN_JOB),
    Case("api/v1/exports/<job_id>/cancel", "POST", "/api/v1/exports/{job}/cancel", "export", 409,
         only=OWN_JOB),  # it has ended
    Case("api/v1/exports/<job_id>/download", "GET", "/api/v1/exports/{job}/download", "export",
         200, only=OWN_JOB),
    Case("api/export-data/", "GET", "/api/export-data/", "export", 200),
    # Pages.
    Case("columns/", "GET", "/columns/", "browse", 200),
    Case("recordings/", "GET", "/recordings/", "browse", 200),
    Case("dashboard/", "GET", "/dashboard/", "dashboard", 200),
    Case("map/", "GET", "/map/", "browse", 200),
    Case("datasetlist/", "GET", "/datasetlist/", "browse", 301),
    Case("review/", "GET", "/review/", "review", 200),
    Case("review/decide/", "POST", "/review/decide/", "review", 302,
         data={"decision": "accepted", "current": "{sub}"}),
    Case("recordings/mine/", "GET", "/recordings/mine/", "own", 200),
    Case("recordings/upload/", "GET", "/recordings/upload/", "upload", 200),
    Case("recordings/upload/", "POST", "/recordings/upload/", "upload", 400),  # no file sent
    Case("recordings/upload/bulk/", "GET", "/recordings/upload/bulk/", "upload", 200),
    Case("calibrations/", "GET", "/calibrations/", "calibrate", 200),
    Case("calibrations/", "POST", "/calibrations/", "calibrate", 422),  # no file sent
    Case("recordings/processing/", "GET", "/recordings/processing/", "administer", 200),
    Case("recordings/<slug:noise_id>/", "GET", "/recordings/{acc}/", "browse", 200),
    Case("recordings/<slug:noise_id>/", "GET", "/recordings/{sub}/", "own", 200,
         only=OWN_SUBMITTED),
    Case("recordings/<slug:noise_id>/audio", "GET", "/recordings/{acc}/audio", "browse", 200),
    Case("recordings/<slug:noise_id>/audio", "GET", "/recordings/{sub}/audio", "own", 200,
         only=OWN_SUBMITTED),
    # Editing: its collector (the "own" row) or a curator.
    Case("recordings/<slug:noise_id>/edit/", "GET", "/recordings/{acc}/edit/", "curate", 200,
         only={"collector": 200}),
    Case("recordings/<slug:noise_id>/edit/", "GET", "/recordings/{sub}/edit/", "curate", 200,
         only={"collector": 200}),
    Case("recordings/<slug:noise_id>/delete/", "POST", "/recordings/{acc}/delete/", "curate", 302),
    Case("recordings/<slug:noise_id>/reprocess/", "POST", "/recordings/{acc}/reprocess/",
         "curate", 302),
    Case("recordings/bulk/", "GET", "/recordings/bulk/?scope=all", "curate", 200),
    Case("recordings/bulk/preview/", "POST", "/recordings/bulk/preview/", "curate", 200,
         data={"scope": "selected", "noise_id": "{acc}", "operation": "reprocess"}),
    Case("recordings/bulk/apply/", "POST", "/recordings/bulk/apply/", "curate", 302,
         data={"scope": "selected", "noise_id": "{acc}", "operation": "reprocess",
               "max_id": "{max_id}"}),
    Case("recordings/bulk/<uuid:bulk_id>/", "GET", "/recordings/bulk/{bulk}/", "curate", 200),
    Case("exports/", "GET", "/exports/", "export", 200),
    Case("exports/<uuid:job_id>/rerun/", "POST", "/exports/{job}/rerun/", "export", 302,
         only=OWN_JOB),
    Case("exports/<uuid:job_id>/delete/", "POST", "/exports/{job}/delete/", "export", 302,
         only=OWN_JOB),
]  # fmt: skip


def expected(case: Case, role: str) -> int:
    if role in case.only:
        return case.only[role]
    if ROLES[role] >= ACTIONS[case.action].role:
        return case.ok
    if role == "anonymous":
        return 401 if case.path.startswith("/api/") else 302
    return 403


# --- the site ------------------------------------------------------------------------------


@dataclass
class Site:
    clients: dict[str, Client]
    ids: dict[str, str]


@pytest.fixture
def site(db: None, settings: Any, tmp_path: Path) -> Site:
    settings.NOISEBANK_SIGNUP = "open"
    settings.EXPORT_ROOT = tmp_path / "exports"
    users = {
        "collector": make_user("cora", Role.COLLECTOR),
        "researcher": make_user("rhea", Role.RESEARCHER),
        "reviewer": make_user("rita", Role.REVIEWER),
        # The demo's admin: an admin who is also staff, so the Django admin opens.
        "admin": make_user("adam", Role.ADMIN, is_staff=True, is_superuser=True),
    }
    audio = Path(settings.MEDIA_ROOT) / "audio" / "walk.wav"
    audio.parent.mkdir(parents=True)
    write_audio(audio)
    acc = make_recording(collector=users["collector"], audio="audio/walk.wav")
    sub = make_recording(
        collector=users["collector"],
        audio="audio/walk.wav",
        review_state=Recording.Review.SUBMITTED,
    )
    export = Path(settings.EXPORT_ROOT) / "jobs" / "walk.csv"
    export.parent.mkdir(parents=True)
    export.write_text("noise_id\r\n")
    job = ExportJob.objects.create(
        owner=users["researcher"], format="csv", status=ExportJob.Status.DONE,
        file_name="jobs/walk.csv", download_name="walk.csv", rows_total=0, bytes=10,
        fingerprint="walk", created_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    upload = ChunkedUpload.objects.create(owner=users["collector"], filename="a.wav", size=100)
    upload.path.parent.mkdir(parents=True, exist_ok=True)
    upload.path.write_bytes(b"x" * 10)
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    change = BulkChange.objects.create(user=users["reviewer"], operation="reprocess")
    ids = {"acc": acc.noise_id, "sub": sub.noise_id, "job": str(job.pk), "upload": str(upload.pk),
           "bulk": str(change.pk), "max_id": str(sub.pk)}  # fmt: skip
    return Site(clients, ids)


def answer(client: Client, method: str, path: str, data: Any = None, json: bool = False) -> int:
    """The status of one request, in a savepoint rolled back afterwards (and the client's
    cookies put back: a logout must not log the next request out)."""
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    with transaction.atomic():
        if json:
            response = client.generic(
                method, path, json_module.dumps(data), content_type="application/json"
            )
        elif isinstance(data, dict) and any(isinstance(v, tuple) for v in data.values()):
            files = {k: SimpleUploadedFile(*v) for k, v in data.items()}
            response = client.post(path, files)
        elif method == "POST":
            response = client.post(path, data or {})
        else:
            response = client.generic(method, path)
        if getattr(response, "streaming", False):  # read to the end: the export's snapshot ends
            b"".join(getattr(response, "streaming_content", []))
        transaction.set_rollback(True)
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies[name] = value
    return int(response.status_code)


def walk(patterns: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def test_every_url_answers_every_role_as_the_table_says(site: Site) -> None:
    wrong = []
    for case in CASES:
        path = case.path.format(**site.ids)
        data = case.data
        if isinstance(data, dict):
            data = {k: v.format(**site.ids) if isinstance(v, str) else v for k, v in data.items()}
        for role in ROLES:
            got = answer(site.clients[role], case.method, path, data, case.json)
            want = expected(case, role)
            if got != want:
                wrong.append(f"{case.method} {path} as {role}: {got}, the table says {want}")
    assert not wrong, "\n".join(wrong)
    routes = {route for route, _ in walk(get_resolver().url_patterns)}
    site_routes = {r for r in routes if not r.startswith("admin/")}
    assert site_routes == {c.route for c in CASES}, site_routes ^ {c.route for c in CASES}


def admin_objects(site: Site) -> dict[type[Model], Any]:
    """One object of every model the Django admin shows, made where the site has none."""
    cora = User.objects.get(username="cora")
    token_create(user=cora, name="walk")
    Profile.objects.create(user=cora, organisation="Walkers")
    Invitation.objects.create(
        email="new@example.org", role=int(Role.COLLECTOR), token_digest="0" * 64,
        expires_at=timezone.now(),
    )  # fmt: skip
    EmailVerification.objects.create(user=cora, email=cora.email, expires_at=timezone.now())
    for model in (m.MicrophoneType, m.TimeOfDay, m.DatasetType, m.Device):
        model.objects.create(name="Walk")
    process_recording.enqueue(0)  # a task row (never run here)
    objects = {
        model: model._default_manager.order_by("pk").first() for model in admin.site._registry
    }
    assert all(objects.values()), [k for k, v in objects.items() if v is None]
    return objects


def allowed_by_model_admin(model_admin: Any, name: str, request: Any, obj: Any) -> bool:
    """What the model's admin class allows staff (some models are read-only there)."""
    if name.endswith("_add"):
        return bool(model_admin.has_add_permission(request))
    if name.endswith("_delete"):
        return bool(model_admin.has_delete_permission(request, obj))
    if name.endswith("_changelist"):
        return bool(model_admin.has_view_or_change_permission(request))
    return bool(model_admin.has_view_or_change_permission(request, obj))


def admin_cases(site: Site) -> Iterator[tuple[str, str, int]]:
    """(route, path, the staff admin's answer) for every URL of the Django admin site."""
    objects = admin_objects(site)
    by_prefix = {f"admin/{o._meta.app_label}/{o._meta.model_name}/": o for o in objects}
    adam = User.objects.get(username="adam")
    request = RequestFactory().get("/admin/")
    request.user = adam
    recording = objects[Recording]
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("admin/"):
            continue
        name = pattern.name
        model = next((mod for prefix, mod in by_prefix.items() if route.startswith(prefix)), None)
        path = "/" + route
        answer_ = 200
        if name == "auth_user_password_change":
            path = path.replace("<id>", str(adam.pk))
        elif model is not None:
            obj = objects[model]
            path = path.replace("<path:object_id>", str(obj.pk))
            if name is None:
                answer_ = 302  # the bare object URL redirects to its change page
            elif not allowed_by_model_admin(admin.site._registry[model], name, request, obj):
                answer_ = 403
        elif name == "app_list":
            path = "/admin/catalog/"
        elif name == "view_on_site":
            ct = ContentType.objects.get_for_model(Recording)
            path = f"/admin/r/{ct.pk}/{recording.pk}/"
            answer_ = 404  # a recording has no URL of its own for the admin to send to
        elif name is None:  # the catch-all after every admin URL
            path = "/admin/no-such-page/"
            answer_ = 404
        elif name == "login":
            answer_ = 302  # staff already logged in: on to the index
        elif name == "logout":
            answer_ = 405  # POST only
        elif name == "autocomplete":
            answer_ = 403  # without a field to complete
        yield route, path, answer_


def test_the_django_admin_opens_for_staff_only(site: Site) -> None:
    """The Django admin keeps Django's own rule: staff accounts (the demo's admin is one)."""
    wrong = []
    walked = set()
    for route, path, staff_answer in admin_cases(site):
        walked.add(route)
        for role in ROLES:
            got = answer(site.clients[role], "GET", path)
            want = staff_answer if role == "admin" else 200 if route == "admin/login/" else 302
            if got != want:
                wrong.append(f"GET {path} as {role}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)
    routes = {r for r, _ in walk(get_resolver().url_patterns) if r.startswith("admin/")}
    assert walked == routes


def test_the_readme_holds_the_table_of_roles_py() -> None:
    readme = (ROOT / "README.md").read_text()
    assert permission_table() in readme


def test_an_unknown_action_is_a_mistake_caught_at_import() -> None:
    from noisebank.accounts.roles import action_required

    with pytest.raises(ValueError, match="unknown action"):
        action_required("teleport")


def test_groups_exist_for_every_role(db: None) -> None:
    assert {role_group(r).name for r in Role if r is not Role.NONE} == {
        "collector", "researcher", "reviewer", "admin",
    }  # fmt: skip
