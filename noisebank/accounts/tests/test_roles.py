from django.contrib.auth.models import User

from noisebank.accounts.roles import Role, can_export, can_upload, is_admin, role_of
from noisebank.testing import make_user


def test_roles_nest(alice: User, charlie: User, admin: User, nobody: User) -> None:
    assert (role_of(charlie), role_of(alice), role_of(admin)) == (
        Role.COLLECTOR,
        Role.RESEARCHER,
        Role.ADMIN,
    )
    assert can_upload(charlie) and not can_export(charlie)
    assert can_upload(alice) and can_export(alice) and not is_admin(alice)
    assert can_export(admin) and is_admin(admin)
    assert not can_upload(nobody) and role_of(nobody) is Role.NONE


def test_superuser_is_admin_without_group(db: None) -> None:
    boss = User.objects.create_superuser("boss", "boss@example.org", "pw")
    assert is_admin(boss)


def test_highest_group_wins(db: None) -> None:
    both = make_user("both", Role.COLLECTOR)
    both.groups.add(*make_user("tmp", Role.RESEARCHER).groups.all())
    assert role_of(both) is Role.RESEARCHER
