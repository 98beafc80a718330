"""Fetching credentials always goes through here, and here always checks who is asking.

Three questions, three functions: may this person manage the key (their own personal key), chat with it
(personal, or shared and granted to them), or administer it (a shared key, and they are an admin)? Every
other answer is 404, never revealing that the key exists.
"""

from django.http import Http404

from keys.models import Credential, Grant


def _get(queryset, credential_id) -> Credential:
    try:
        return queryset.get(pk=int(credential_id))
    except (Credential.DoesNotExist, TypeError, ValueError):
        raise Http404("No such key") from None


def access_own_credential(user, credential_id) -> Credential:
    """`user`'s own personal key (Settings → Keys). Never a shared key, never someone else's."""
    return _get(Credential.objects.managed_by(user), credential_id)


def access_usable_credential(user, credential_id) -> Credential:
    """A key `user` may chat with: their own, or a shared key with a live grant to them or their team.

    Their own keys are looked up first: most sends use one, and that lookup costs a third of the grant
    query's (a send checks its key twice: docs/benchmarks.md)."""
    try:
        return _get(Credential.objects.managed_by(user), credential_id)
    except Http404:
        return _get(Credential.objects.usable_by(user), credential_id)


def access_shared_credential(user, credential_id) -> Credential:
    """A shared key, for an admin to manage (its secret is never shown, only its last four characters)."""
    if not getattr(user, "is_admin", False):
        raise Http404("No such key")
    return _get(Credential.objects.shared(), credential_id)


def access_grant(user, credential: Credential, grant_id) -> Grant:
    """A grant of the shared key `credential` (already checked with access_shared_credential), for an admin."""
    if not getattr(user, "is_admin", False):
        raise Http404("No such grant")
    try:
        return Grant.objects.select_related("user", "team").get(pk=int(grant_id), credential=credential)
    except (Grant.DoesNotExist, TypeError, ValueError):
        raise Http404("No such grant") from None
