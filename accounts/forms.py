from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.contrib.auth.password_validation import password_validators_help_texts

from accounts.models import User


class SignUpForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The validators' rules as sentences (Django's default is an HTML list, which reads run together as text).
        self.fields["password1"].help_text = " ".join(password_validators_help_texts())


class SignInForm(AuthenticationForm):
    pass
