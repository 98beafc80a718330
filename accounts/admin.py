"""The Django admin for people and the workspace: for looking things up. Changes that must be audited and
take effect on open sockets (roles, activation, teams, invites) are made on NovaWeb's Team pages, so
those fields are read-only here. Nothing secret is shown: invites appear without their token hash."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count

from accounts.actions import do_set_signup_policy
from accounts.models import AuditEvent, Invite, Team, User, Workspace

_SEE_TEAM_PAGES = "Change roles, activation and teams under Team → People in NovaWeb (audited, and live)."


@admin.register(User)
class NovaUserAdmin(UserAdmin):
    list_display = ("username", "role", "is_active", "date_joined", "last_seen_at")
    list_filter = ("role", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("NovaWeb", {"fields": ("role", "last_seen_at"), "description": _SEE_TEAM_PAGES}),
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("role", "is_active", "is_staff", "is_superuser", "last_seen_at", "last_login", "date_joined")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "member_count", "created_at")
    search_fields = ("name",)
    fields = ("name", "members", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, team):
        return team.member_total


@admin.register(Invite)
class InviteAdmin(ReadOnlyAdmin):
    """No token hash, and no adding: an invite's link exists only when NovaWeb makes it and shows it once."""

    list_display = (
        "pk",
        "role",
        "team",
        "note",
        "created_by",
        "created_at",
        "expires_at",
        "status",
        "used_by",
    )
    list_select_related = ("team", "created_by", "used_by")
    fields = (
        "role",
        "team",
        "note",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "used_by",
        "used_at",
    )

    @admin.display(description="Status")
    def status(self, invite):
        return invite.status_label


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    fields = ("signup_policy", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Through the action, so the change is in the audit log like one made on the Sign-up page.
        do_set_signup_policy(request.user, form.cleaned_data["signup_policy"])


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "target_type", "target_label")
    list_filter = ("action", "target_type")
    search_fields = ("actor_name", "target_label", "action")
    fields = ("created_at", "actor_name", "action", "target_type", "target_id", "target_label", "detail")

    def has_delete_permission(self, request, obj=None):
        return False
