from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.contrib.auth.password_validation import password_validators_help_texts

from accounts.models import User

_FIRST_FIELD = "password1"


class SignUpForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The validators' rules as sentences (Django's default is an HTML list, which reads run together as text).
        self.fields["password1"].help_text = " ".join(password_validators_help_texts())

    def validate_password_for_user(self, user, **kwargs):
        # Django checks the rules on the confirmation, so two passwords that differ skip them: a short one
        # and a typo then cost two tries. When they differ, the first is checked instead, and both are said.
        if not kwargs and "password2" in self.errors:
            kwargs = {"password_field_name": _FIRST_FIELD}
        super().validate_password_for_user(user, **kwargs)


class SignInForm(AuthenticationForm):
    pass
