"""Teams: names, members, and the audit trail of each change."""

import pytest

from accounts.actions import ActionError
from accounts.models import AuditEvent, Team
from accounts.team_actions import (
    do_add_member,
    do_create_team,
    do_delete_team,
    do_remove_member,
    do_rename_team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("root")


def test_a_team_is_made_renamed_and_deleted_with_each_step_in_the_audit_log(admin, make_user):
    team = do_create_team(admin, "  Research   and  Development ")
    assert team.name == "Research and Development"
    do_rename_team(admin, team, "R&D")
    do_add_member(admin, team, make_user("alice"))
    do_delete_team(admin, team)
    assert not Team.objects.exists()
    log = list(AuditEvent.objects.filter(target_type="team").order_by("id").values_list("action", "detail"))
    assert log == [
        ("team.created", {}),
        ("team.renamed", {"from": "Research and Development", "to": "R&D"}),
        ("team.member_added", {"person": "alice", "person_id": log[2][1]["person_id"]}),
        ("team.deleted", {"members": 1}),
    ]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "Give the team a name"),
        ("   ", "Give the team a name"),
        ("x" * 81, "at most 80"),
        ("research", "already"),
    ],
)
def test_bad_team_names_are_refused_in_words(admin, name, words):
    do_create_team(admin, "Research")
    with pytest.raises(ActionError, match=words):
        do_create_team(admin, name)
    assert Team.objects.count() == 1


def test_renaming_to_a_taken_name_is_refused_but_changing_case_is_fine(admin):
    research, design = do_create_team(admin, "Research"), do_create_team(admin, "Design")
    with pytest.raises(ActionError, match="already"):
        do_rename_team(admin, design, "RESEARCH")
    do_rename_team(admin, research, "RESEARCH")
    assert set(Team.objects.values_list("name", flat=True)) == {"RESEARCH", "Design"}


def test_adding_and_removing_members_twice_is_harmless(admin, make_user):
    team = do_create_team(admin, "Research")
    alice = make_user("alice")
    assert do_add_member(admin, team, alice) is True
    assert do_add_member(admin, team, alice) is False
    assert list(team.members.all()) == [alice]
    assert do_remove_member(admin, team, alice) is True
    assert do_remove_member(admin, team, alice) is False
    assert not team.members.exists()
    actions = list(AuditEvent.objects.filter(target_type="team").values_list("action", flat=True))
    assert actions.count("team.member_added") == 1 and actions.count("team.member_removed") == 1
