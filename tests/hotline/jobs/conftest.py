"""Job-queue fixtures: a real Redis, and queues of each implementation for the shared tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hotline.jobs import DatabaseJobQueue, JobSettings, RedisJobQueue
from tests.conftest import require_service


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service(f"Redis at {url} unavailable: {exc}")
    finally:
        client.close()
    return url


QueueFactory = Callable[[JobSettings], Any]


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def make_queue(request: pytest.FixtureRequest) -> Iterator[QueueFactory]:
    """Queues of one implementation (the shared tests run against each)."""
    created: list[Any] = []
    key = f"hotline:test:jobs:{os.getpid()}:{time.monotonic_ns()}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def factory(settings: JobSettings) -> Any:
        if url is None:
            queue: Any = DatabaseJobQueue(settings)
        else:
            redis_settings = settings.model_copy(update={"redis_url": url, "redis_key": key})
            queue = RedisJobQueue.from_url(redis_settings, url)
        created.append(queue)
        return queue

    yield factory
    for queue in created:
        if isinstance(queue, RedisJobQueue):
            queue.client.delete(key)
        queue.close()
