from typing import Any

from django.http import HttpRequest

from noisebank.accounts.roles import (
    can_curate,
    can_export,
    can_review,
    can_upload,
    is_admin,
    may,
    role_of,
)


def role_flags(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "role": role_of(user).group_name,
        "can_upload": can_upload(user),
        "can_calibrate": may(user, "calibrate"),
        "can_export": can_export(user),
        "can_dashboard": may(user, "dashboard"),
        "can_review": can_review(user),
        "can_curate": can_curate(user),
        "is_admin": is_admin(user),
    }
