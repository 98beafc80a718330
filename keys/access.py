"""Fetching credentials always goes through here, and here always checks who is asking."""

from django.http import Http404

from keys.models import Credential


def access_credential(user, credential_id) -> Credential:
    """The credential `credential_id` if `user` may use it; 404 otherwise (never reveal that it exists)."""
    try:
        return Credential.objects.for_user(user).get(pk=int(credential_id))
    except (Credential.DoesNotExist, TypeError, ValueError):
        raise Http404("No such key") from None
