from django.contrib import admin

from noisebank.accounts.models import ApiToken, EmailVerification, Invitation, Profile


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]

    def has_add_permission(self, request: object) -> bool:
        # The raw token must be shown once to its owner: `noisebank token create USERNAME`.
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "organisation"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "invited_by", "created_at", "expires_at", "used_at"]
    list_select_related = ["invited_by"]
    search_fields = ["email"]
    readonly_fields = ["token_digest", "used_at", "user"]

    def has_add_permission(self, request: object) -> bool:
        # The link must be e-mailed with its token: send invitations from /accounts/invitations/.
        return False


@admin.register(EmailVerification)
class EmailVerificationAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "expires_at", "verified_at", "failures", "locked_until"]
    list_select_related = ["user"]
    search_fields = ["email", "user__username"]
    readonly_fields = ["salt", "code_digest", "link_digest"]
