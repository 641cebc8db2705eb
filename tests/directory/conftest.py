"""The catalogue fixtures are shared with the directory tests."""

from tests.catalogue.conftest import make_service  # noqa: F401 - re-exported fixture
