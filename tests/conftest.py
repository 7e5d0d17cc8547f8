import pytest
from django.core.cache import caches

from wagtail_nanovod.testing import FakeBintu

# A made-up key: tests search pages, logs and errors for it to prove it never leaks.
TEST_KEY = "made-up-test-key-5f0c1e"


@pytest.fixture
def bintu(settings):
    """A running fake bintu, with WAGTAIL_NANOVOD pointing at it."""
    with FakeBintu(api_key=TEST_KEY) as fake:
        settings.WAGTAIL_NANOVOD = {
            **fake.settings(),
            # Short enough that fault tests stay quick, long enough for a loaded CI machine.
            "TIMEOUT": 1.5,
            "RETRY_BACKOFF": 0.01,
        }
        yield fake


@pytest.fixture(autouse=True)
def _empty_caches():
    """Every test starts with empty caches: nothing carries over between tests."""
    for cache in caches.all():
        cache.clear()
    yield
