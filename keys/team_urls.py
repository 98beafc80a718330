"""Shared keys, their grants and the team's usage, under /team/ (admins only)."""

app_name = "team_keys"
urlpatterns = []
