"""Forms of the shared-key pages under /team/keys/ (admins only)."""

from decimal import Decimal

from django import forms
from django.db.models import Count

from accounts.models import Team, User
from keys.forms import CredentialForm
from keys.models import Credential, Grant

MAX_MODELS = 500
MODEL_CHARS = 200


class SharedKeyForm(CredentialForm):
    """Add a shared key: the same fields and rules as a personal one; labels are unique among shared keys."""

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if Credential.objects.shared().filter(label=label).exists():
            raise forms.ValidationError("A shared key already has this label.")
        return label


class GrantLimitsForm(forms.Form):
    """What a grant allows: which models, how much per period, how fast and how many at once. An empty
    limit is no limit. On a team grant they are one pool for all the team's members."""

    models_scope = forms.ChoiceField(
        label="Models",
        choices=[("all", "All models"), ("list", "Only the models below")],
        initial="all",
        widget=forms.RadioSelect,
    )
    listed_models = forms.MultipleChoiceField(
        label="Models this key lists", required=False, widget=forms.CheckboxSelectMultiple
    )
    other_models = forms.CharField(
        label="Other models",
        required=False,
        max_length=MAX_MODELS * (MODEL_CHARS + 1),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, as the provider names them.",
    )
    budget_tokens = forms.IntegerField(label="Token budget", required=False, min_value=1, max_value=10**12)
    budget_credits = forms.DecimalField(
        label="Credit budget", required=False, min_value=Decimal("0.000001"), max_digits=14, decimal_places=6
    )
    budget_period = forms.ChoiceField(label="Budget period", choices=Grant.Period.choices, initial="month")
    rate_per_minute = forms.IntegerField(
        label="Requests per minute", required=False, min_value=1, max_value=100_000
    )
    max_concurrent = forms.IntegerField(label="Replies at once", required=False, min_value=1, max_value=1000)

    def __init__(self, *args, credential: Credential, grant: Grant | None = None, **kwargs):
        if grant is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_limits(grant, credential)
        super().__init__(*args, **kwargs)
        self.credential = credential
        self.fields["listed_models"].choices = [(m, m) for m in listed_models(credential)]

    def clean(self):
        data = super().clean()
        models: list[str] = []
        if data.get("models_scope") == "list":
            typed = [line.strip() for line in (data.get("other_models") or "").splitlines()]
            models = list(dict.fromkeys([*data.get("listed_models", []), *filter(None, typed)]))
            if not models:
                self.add_error("other_models", "Tick or type at least one model, or choose All models.")
            elif len(models) > MAX_MODELS or any(len(m) > MODEL_CHARS for m in models):
                self.add_error(
                    "other_models", f"At most {MAX_MODELS} models of {MODEL_CHARS} characters each."
                )
        data["allowed_models"] = models
        return data

    def limits(self) -> dict:
        data = self.cleaned_data
        return {
            "allowed_models": data["allowed_models"],
            "budget_tokens": data.get("budget_tokens"),
            "budget_credits": data.get("budget_credits"),
            "budget_period": data["budget_period"],
            "rate_per_minute": data.get("rate_per_minute"),
            "max_concurrent": data.get("max_concurrent"),
        }


class NewGrantForm(GrantLimitsForm):
    """Grant a shared key to a person or a team that does not have it yet."""

    grantee = forms.ChoiceField(label="Grant to")

    def __init__(self, *args, credential: Credential, **kwargs):
        super().__init__(*args, credential=credential, **kwargs)
        live = Grant.objects.live().filter(credential=credential)
        people = (
            User.objects.filter(is_active=True)
            .exclude(role=User.Role.PENDING)
            .exclude(pk__in=live.filter(user__isnull=False).values("user"))
            .order_by("username")
        )
        teams = (
            Team.objects.exclude(pk__in=live.filter(team__isnull=False).values("team"))
            .annotate(size=Count("members"))
            .order_by("name")
        )
        choices = []
        if people:
            choices.append(("People", [(f"user:{p.pk}", p.username) for p in people]))
        if teams:
            choices.append(("Teams", [(f"team:{t.pk}", f"{t.name} (team of {t.size})") for t in teams]))
        self.fields["grantee"].choices = [("", "Choose a person or a team"), *choices]
        self.order_fields(["grantee"])

    @property
    def anyone_left(self) -> bool:
        return len(self.fields["grantee"].choices) > 1

    def clean_grantee(self):
        kind, _, pk = self.cleaned_data["grantee"].partition(":")
        model = {"user": User, "team": Team}.get(kind)
        grantee = model.objects.filter(pk=int(pk)).first() if model and pk.isdigit() else None
        if grantee is None:
            raise forms.ValidationError("Choose a person or a team.")
        return grantee

    def grantee_kwargs(self) -> dict:
        grantee = self.cleaned_data["grantee"]
        return {"team": grantee} if isinstance(grantee, Team) else {"user": grantee}


def listed_models(credential: Credential) -> list[str]:
    """The model ids of the key's cached list (from its last Refresh models), in the provider's order."""
    return [
        m["id"]
        for m in credential.models_cache or ()
        if isinstance(m, dict) and isinstance(m.get("id"), str) and len(m["id"]) <= MODEL_CHARS
    ]


def initial_limits(grant: Grant, credential: Credential) -> dict:
    listed = set(listed_models(credential))
    return {
        "models_scope": "list" if grant.allowed_models else "all",
        "listed_models": [m for m in grant.allowed_models if m in listed],
        "other_models": "\n".join(m for m in grant.allowed_models if m not in listed),
        "budget_tokens": grant.budget_tokens,
        # "12.5", not "12.500000" (and "100", not "1E+2")
        "budget_credits": f"{grant.budget_credits.normalize():f}"
        if grant.budget_credits is not None
        else None,
        "budget_period": grant.budget_period,
        "rate_per_minute": grant.rate_per_minute,
        "max_concurrent": grant.max_concurrent,
    }
