"""Exit 0 when PostgreSQL and Redis answer at the given URLs; otherwise print why and exit 1."""

import sys
from urllib.parse import urlparse

import psycopg
import redis


def main(database_url: str, redis_url: str) -> int:
    try:
        with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means "not available here"
        print(f"PostgreSQL not reachable at {urlparse(database_url).netloc}: {error}".strip())
        return 1
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as error:  # noqa: BLE001
        print(f"Redis not reachable at {urlparse(redis_url).netloc}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
