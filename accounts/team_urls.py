"""The team administration area under /team/ (admins only): people, teams, invites, sign-up, audit."""

from django.urls import path

from accounts import audit_views, invite_views, people_views, team_views

app_name = "team"
urlpatterns = [
    path("", team_views.team_home, name="home"),
    path("people/", people_views.people, name="people"),
    path("people/<int:user_id>/", people_views.person, name="person"),
    path("people/<int:user_id>/role/", people_views.person_role, name="person-role"),
    path("people/<int:user_id>/approve/", people_views.person_approve, name="person-approve"),
    path("people/<int:user_id>/active/", people_views.person_active, name="person-active"),
    path("teams/", team_views.teams, name="teams"),
    path("teams/<int:team_id>/", team_views.team, name="team"),
    path("teams/<int:team_id>/rename/", team_views.team_rename, name="team-rename"),
    path("teams/<int:team_id>/delete/", team_views.team_delete, name="team-delete"),
    path("teams/<int:team_id>/members/", team_views.team_add_member, name="team-add-member"),
    path(
        "teams/<int:team_id>/members/<int:user_id>/remove/",
        team_views.team_remove_member,
        name="team-remove-member",
    ),
    path("invites/", invite_views.invites, name="invites"),
    path("invites/<int:invite_id>/revoke/", invite_views.invite_revoke, name="invite-revoke"),
    path("sign-up/", team_views.signup_policy, name="signup"),
    path("audit/", audit_views.audit_log, name="audit"),
]
