"""What one request of the crowd costs (bench/crowd.py): its database queries and its
round trips to Redis, sent back in response headers.

The crowd's server runs several threads per process, and background refreshes run in
threads of their own, so both counts belong to the thread serving the request.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache
from django.db import connection
from redis.connection import Connection

#: The request header that asks for the counts; the timed runs never send it.
ASK_HEADER = "HTTP_X_BENCH_COUNT"
QUERIES_HEADER = "X-Bench-Queries"
CACHE_TRIPS_HEADER = "X-Bench-Cache-Trips"

_counted = threading.local()


def cache_trips() -> int:
    """Round trips to Redis made so far by the calling thread."""
    return getattr(_counted, "trips", 0)


class CountingConnection(Connection):
    """A redis-py connection that counts what it sends to the server.

    Counted on the wire rather than per cache method (as tests/counting_cache.py does
    for LocMem): RedisCache's ``incr`` costs two trips (EXISTS, then INCRBY), a pipeline
    one, and a new connection's handshake is paid where it happens.
    """

    def send_packed_command(self, command, check_health=True):
        _counted.trips = cache_trips() + 1
        return super().send_packed_command(command, check_health)


class CountingRedisCache(RedisCache):
    """Django's RedisCache, on connections that count round trips per thread."""

    def __init__(self, server, params):
        options = {**params.get("OPTIONS", {}), "connection_class": CountingConnection}
        super().__init__(server, {**params, "OPTIONS": options})


class CountingMiddleware:
    """Answers ``X-Bench-Count`` requests with their queries and cache round trips.

    Put first, so that the counts include every middleware. Requests that do not ask
    are passed through untouched.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if ASK_HEADER not in request.META:
            return self.get_response(request)
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        trips = cache_trips()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response[QUERIES_HEADER] = str(queries)
        response[CACHE_TRIPS_HEADER] = str(cache_trips() - trips)
        return response
