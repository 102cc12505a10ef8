"""Who may do what: the one place that answers it.

Roles are Django groups and nest: a researcher can do all a collector can, a reviewer all a
researcher can, an admin all a reviewer can. Superusers are admins.
"""

from collections.abc import Callable
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


def can_upload(user: AnyUser) -> bool:
    return has_role(user, Role.COLLECTOR)


def can_browse(user: AnyUser) -> bool:
    return has_role(user, Role.COLLECTOR)


def can_export(user: AnyUser) -> bool:
    return has_role(user, Role.RESEARCHER)


def is_admin(user: AnyUser) -> bool:
    return has_role(user, Role.ADMIN)


def can_review(user: AnyUser) -> bool:
    return has_role(user, Role.REVIEWER)


def review_access(user: AnyUser) -> ReviewAccess:
    """The review states `user` may select in the catalogue, the API and exports."""
    if can_review(user):
        return ReviewAccess.everything()
    if role_of(user) is Role.COLLECTOR:  # researchers, who export, see accepted ones only
        return ReviewAccess.own_recordings(user.pk)
    return ReviewAccess()


def can_view_recording(user: AnyUser, recording: Any) -> bool:
    """Accepted recordings: anyone who may browse. Others: their collector and reviewers."""
    if not can_browse(user):
        return False
    if recording.review_state == "accepted" or can_review(user):
        return True
    return recording.collector_id is not None and recording.collector_id == user.pk


def can_edit_recording(user: AnyUser, recording: Any) -> bool:
    """Its collector (while still a collector or more) or an admin."""
    if is_admin(user):
        return True
    owner = recording.collector_id
    return bool(can_upload(user) and owner is not None and owner == user.pk)


def can_delete_recording(user: AnyUser) -> bool:
    return is_admin(user)


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: 403 unless the logged-in user has at least `role`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role.group_name} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
