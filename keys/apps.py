from django.apps import AppConfig
from django.conf import settings
from django.core.signals import setting_changed

from providers import egress


def configure_egress() -> None:
    """Hand the provider layer (which has no Django) its egress policy from the settings."""
    allowed = settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS
    egress.configure(egress.EgressPolicy(allow_private=allowed, allow_http=allowed))


def _follow_setting(setting, **kwargs) -> None:
    # Tests override the setting; the connections and the key form must follow it.
    if setting == "NOVAWEB_ALLOW_PRIVATE_ENDPOINTS":
        configure_egress()


class KeysConfig(AppConfig):
    name = "keys"

    def ready(self):
        from keys.ledger import default_credits_per_token

        configure_egress()
        default_credits_per_token()  # a malformed setting stops start-up, not a send later
        setting_changed.connect(_follow_setting, dispatch_uid="keys.egress")
