"""SQL statements per request, counted on the wire (shared.pgproxy) in a short separate pass:
each server is started once more with its DATABASE_URL through the counting proxy and sent a
few requests of each kind one at a time. Used when the database has no pg_stat_statements
(the embedded PostgreSQL ships no contrib modules); it counts statements, not their time."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bench.dataset import Dataset
from bench.scenarios import API, Scenario, kind_weights, static_requests
from bench.servers import BenchServer, Target
from shared.pgproxy import CountingProxy

SAMPLES = 4
LOGIN_SAMPLES = 2


def _probe(proxy: CountingProxy, send: Callable[[int], None], samples: int) -> float:
    """Statements per request: one request to warm up, then `samples` counted ones."""
    send(0)
    proxy.settle()
    before = proxy.count
    for index in range(1, samples + 1):
        send(index)
    proxy.settle()
    return (proxy.count - before) / samples


def count(
    target: Target,
    database_url: str,
    dataset: Dataset,
    points: list[Scenario],
    token: str,
    check_slot: int,
    cpus: list[int] | None,
) -> dict[str, float]:
    """Statements per request for every measurement point, on a server of `target`."""
    with (
        CountingProxy(database_url) as proxy,
        BenchServer(target, proxy.url, cpus=cpus) as server,
        httpx.Client(
            base_url=server.base_url, timeout=60.0, headers={"Authorization": f"Bearer {token}"}
        ) as client,
    ):
        per_kind: dict[tuple[str, str], float] = {}

        def expect(response: httpx.Response) -> None:
            if not 200 <= response.status_code < 300:
                raise RuntimeError(
                    f"{target.name}: {response.request.method} "
                    f"{response.request.url.path} answered "
                    f"{response.status_code} while counting statements"
                )

        for point in points:
            static = static_requests(dataset, point)
            for kind in dict.fromkeys(point.pattern):
                key = (kind, point.list_project if kind == "list" else "")
                if key in per_kind:
                    continue
                if kind == "patch":
                    per_kind[key] = _count_patches(proxy, client, dataset, check_slot, expect)
                    continue
                requests = static[kind]

                def send(index: int, requests: list = requests) -> None:
                    request = requests[index % len(requests)]
                    headers = (
                        {"Content-Type": request["content_type"]}
                        if "content_type" in request
                        else {}
                    )
                    if request.get("no_auth"):
                        headers["Authorization"] = ""
                    expect(
                        client.request(
                            request["method"],
                            request["path"],
                            content=request.get("body"),
                            headers=headers,
                        )
                    )

                samples = LOGIN_SAMPLES if kind == "login" else SAMPLES
                per_kind[key] = _probe(proxy, send, samples)
        return {
            point.name: round(
                sum(
                    weight * per_kind[(kind, point.list_project if kind == "list" else "")]
                    for kind, weight in kind_weights(point).items()
                ),
                2,
            )
            for point in points
        }


def _count_patches(
    proxy: CountingProxy,
    client: httpx.Client,
    dataset: Dataset,
    slot: int,
    expect: Callable[[httpx.Response], None],
) -> float:
    """PATCH with If-Match on the server's check task; the GET that learns the ETag is outside
    the count."""
    task = f"{API}/tasks/{dataset.check_task(slot)}"
    total = 0
    for index in range(SAMPLES + 1):
        current = client.get(task)
        expect(current)
        proxy.settle()
        before = proxy.count
        expect(
            client.patch(
                task,
                json={"title": f"Counted patch {index}"},
                headers={"If-Match": current.headers["etag"]},
            )
        )
        proxy.settle()
        if index:  # the first one warms up
            total += proxy.count - before
    return total / SAMPLES
