"""A LocMem cache that counts round trips, so tests can assert how many a page costs."""

from django.core.cache.backends.locmem import LocMemCache


class CountingCache(LocMemCache):
    """Counts each call that would be one round trip to a networked cache."""

    round_trips = 0

    def _count(self):
        type(self).round_trips += 1

    def get(self, *args, **kwargs):
        self._count()
        return super().get(*args, **kwargs)

    def set(self, *args, **kwargs):
        self._count()
        return super().set(*args, **kwargs)

    def add(self, *args, **kwargs):
        self._count()
        return super().add(*args, **kwargs)

    def incr(self, *args, **kwargs):
        self._count()
        return super().incr(*args, **kwargs)

    def touch(self, *args, **kwargs):
        self._count()
        return super().touch(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._count()
        return super().delete(*args, **kwargs)

    # LocMem builds these from get/set; a networked cache does each in one trip, so
    # count them once and keep the inner calls from counting again.
    def get_many(self, keys, version=None):
        self._count()
        return {k: v for k in keys if (v := LocMemCache.get(self, k, version=version)) is not None}

    def set_many(self, data, timeout=300, version=None):
        self._count()
        for key, value in data.items():
            LocMemCache.set(self, key, value, timeout, version=version)
        return []

    def delete_many(self, keys, version=None):
        self._count()
        for key in keys:
            LocMemCache.delete(self, key, version=version)
