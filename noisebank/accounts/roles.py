"""Who may do what: the one place that answers it.

Roles are Django groups and nest: a researcher can do all a collector can, a reviewer all a
researcher can, an admin all a reviewer can. Superusers are admins. ACTIONS names every action
and the least role that may do it; pages and the API ask `may(user, "export")` (or the helpers
below, which do), and the README's role-by-action table is `permission_table()` (a test checks
both, and walks every URL of the site for every role against it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import wraps
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from noisebank.catalog.filters import ReviewAccess


class Role(IntEnum):
    NONE = 0
    COLLECTOR = 1
    RESEARCHER = 2
    REVIEWER = 3
    ADMIN = 4

    @property
    def group_name(self) -> str:
        return self.name.lower()


ROLE_GROUPS = {r.group_name: r for r in Role if r is not Role.NONE}


@dataclass(frozen=True)
class Action:
    name: str
    role: Role  # the least role that may do it
    what: str  # for people: the README's table


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "account",
            Role.NONE,
            "log in, sign up (as `NOISEBANK_SIGNUP` allows), verify an e-mail address, reset a "
            "password; `/healthz`",
        ),
        Action(
            "browse",
            Role.COLLECTOR,
            "the catalogue of accepted recordings: list, pages, audio, list API, columns",
        ),
        Action("upload", Role.COLLECTOR, "upload recordings (page, bulk page, API, CLI)"),
        Action(
            "calibrate",
            Role.COLLECTOR,
            "calibrate a recording device from a recording of its calibrator (page, CLI); its "
            "recordings from then on are measured again in dB SPL",
        ),
        Action(
            "own",
            Role.COLLECTOR,
            "one's own recordings in every review state (My recordings, their pages); edit them "
            "(which sends them back to review)",
        ),
        Action(
            "dashboard",
            Role.RESEARCHER,
            "the dashboard (their home page): totals, charts, processing status, recent uploads "
            "and exports of the catalogue they see",
        ),
        Action(
            "export",
            Role.RESEARCHER,
            "exports: downloads, export jobs and their history, the original's batch API",
        ),
        Action(
            "review",
            Role.REVIEWER,
            "the review queue: accept, reject, request changes (not for one's own uploads); "
            "see and export recordings in every review state",
        ),
        Action(
            "curate",
            Role.REVIEWER,
            "edit any recording, bulk changes from the catalogue, re-process, delete",
        ),
        Action(
            "administer",
            Role.ADMIN,
            "invitations, the processing status page, everyone's export jobs",
        ),
    )
}

# A User, an AnonymousUser or whatever request.user holds.
AnyUser = Any


def role_group(role: Role) -> Group:
    """The group that grants `role` (created by a migration; recreated if someone deleted it)."""
    return Group.objects.get_or_create(name=role.group_name)[0]


def role_of(user: AnyUser) -> Role:
    if not user.is_authenticated:
        return Role.NONE
    cached = getattr(user, "_noisebank_role", None)
    if cached is not None:
        return cached
    if getattr(user, "is_superuser", False):
        role = Role.ADMIN
    else:
        names = user.groups.values_list("name", flat=True)
        role = max((ROLE_GROUPS[n] for n in names if n in ROLE_GROUPS), default=Role.NONE)
    user._noisebank_role = role
    return role


def has_role(user: AnyUser, role: Role) -> bool:
    return role_of(user) >= role


def may(user: AnyUser, action: str) -> bool:
    """Whether `user`'s role allows `action` (a name in ACTIONS)."""
    return has_role(user, ACTIONS[action].role)


def can_upload(user: AnyUser) -> bool:
    return may(user, "upload")


def can_browse(user: AnyUser) -> bool:
    return may(user, "browse")


def can_export(user: AnyUser) -> bool:
    return may(user, "export")


def can_review(user: AnyUser) -> bool:
    return may(user, "review")


def can_curate(user: AnyUser) -> bool:
    return may(user, "curate")


def is_admin(user: AnyUser) -> bool:
    return may(user, "administer")


def review_access(user: AnyUser) -> ReviewAccess:
    """The review states `user` may select in the catalogue, the API and exports."""
    if can_review(user):
        return ReviewAccess.everything()
    if role_of(user) is Role.COLLECTOR:  # researchers, who export, see accepted ones only
        return ReviewAccess.own_recordings(user.pk)
    return ReviewAccess()


def _owns(user: AnyUser, recording: Any) -> bool:
    owner = recording.collector_id
    return bool(may(user, "own") and owner is not None and owner == user.pk)


def can_view_recording(user: AnyUser, recording: Any) -> bool:
    """Accepted recordings: anyone who may browse. Others: their collector and reviewers."""
    if not can_browse(user):
        return False
    return recording.review_state == "accepted" or can_review(user) or _owns(user, recording)


def can_edit_recording(user: AnyUser, recording: Any) -> bool:
    """Its collector, or a curator (reviewers, admins)."""
    return can_curate(user) or _owns(user, recording)


def can_delete_recording(user: AnyUser) -> bool:
    return can_curate(user)


def can_reprocess_recording(user: AnyUser) -> bool:
    return can_curate(user)


def _refuse(user: AnyUser, action: str) -> None:
    if not may(user, action):
        needed = ACTIONS[action].role.group_name
        raise PermissionDenied(f"This needs the {needed} role (or more).")


def action_required(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: 403 unless the logged-in user may do `action` (a name in ACTIONS)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse(request.user, action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: 403 unless the logged-in user has at least `role` (prefer
    action_required, which names the row of the table)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role.group_name} role (or more).")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


TABLE_ROLES = (Role.NONE, Role.COLLECTOR, Role.RESEARCHER, Role.REVIEWER, Role.ADMIN)


def permission_table() -> str:
    """The README's role-by-action table (Markdown), made from ACTIONS."""
    heads = ["anonymous" if r is Role.NONE else r.group_name for r in TABLE_ROLES]
    lines = [
        "| action | " + " | ".join(heads) + " |",
        "| --- | " + " | ".join(":-:" for _ in heads) + " |",
    ]
    for a in ACTIONS.values():
        marks = ["✔" if r >= a.role else "—" for r in TABLE_ROLES]
        lines.append(f"| **{a.name}**: {a.what} | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
