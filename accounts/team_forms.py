"""Forms of the team pages. Each declares exactly the fields it reads; anything else posted is ignored."""

from django import forms

from accounts.actions import INVITE_DAYS, INVITE_ROLES
from accounts.models import Team, User, Workspace
from accounts.team_actions import NAME_CHARS


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)


class TeamNameForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=NAME_CHARS)


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        label="Joins as",
        choices=[(role.value, role.label) for role in INVITE_ROLES],
        initial=User.Role.MEMBER,
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.all(),
        required=False,
        empty_label="No team",
        help_text="They are put in this team when they sign up.",
    )
    days = forms.TypedChoiceField(
        label="Link expires after",
        choices=[(days, f"{days} day{'s' if days > 1 else ''}") for days in INVITE_DAYS],
        coerce=int,
        initial=7,
    )
    note = forms.CharField(
        label="Note",
        max_length=200,
        required=False,
        help_text="For you: who the invite is for. Shown in the list below, never to them.",
    )


POLICY_HELP = {
    Workspace.SignupPolicy.OPEN: "Anyone who can reach NovaWeb can make an account and start chatting.",
    Workspace.SignupPolicy.APPROVAL: "Anyone can sign up, then waits on a “Waiting for approval” page until "
    "an admin approves them under People.",
    Workspace.SignupPolicy.INVITE: "Only people with an invite link can sign up. Make links under Invites.",
}


POLICY_SAVED = {
    Workspace.SignupPolicy.OPEN: "Saved: anyone can sign up now.",
    Workspace.SignupPolicy.APPROVAL: "Saved: new people wait for an admin's approval.",
    Workspace.SignupPolicy.INVITE: "Saved: only people with an invite link can sign up.",
}


class SignupPolicyForm(forms.Form):
    signup_policy = forms.ChoiceField(choices=Workspace.SignupPolicy.choices)


def policy_options(current: str) -> list[dict]:
    """The policies as the Sign-up page offers them: a short name, what it means, and which one is set."""
    return [
        {"value": value, "name": label.split(":")[0], "help": POLICY_HELP[value], "checked": value == current}
        for value, label in Workspace.SignupPolicy.choices
    ]
