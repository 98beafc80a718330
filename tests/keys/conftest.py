import pytest


@pytest.fixture(autouse=True)
def _db(db):
    """Every keys test touches the database."""
