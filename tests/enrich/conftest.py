"""Fixtures shared with the provider tests."""

from tests.providers.conftest import *  # noqa: F403
