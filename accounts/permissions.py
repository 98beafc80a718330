"""Who may open the team administration pages."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def admin_required(view):
    """Only admins reach `view`; anyone else gets 403 (login is already required by the middleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not getattr(request.user, "is_admin", False):
            raise PermissionDenied("Only an admin can open this page.")
        return view(request, *args, **kwargs)

    return wrapper
