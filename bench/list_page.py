"""Server time of the catalogue page and the list API for common filters: p50 and p95.

    .venv/bin/python -m bench.list_page --db postgres://postgres@127.0.0.1:5432/nb_23k \\
        --db postgres://postgres@127.0.0.1:5432/nb_1m [--repeat 40]

Seed each database first: `DATABASE_URL=… noisebank migrate && noisebank seed --count N --audio 0`.
Each database is measured in its own process (settings read DATABASE_URL at import), through
Django's test client as a logged-in researcher: middleware, view, queries and template, no
network. Connections are kept between requests (NOISEBANK_CONN_MAX_AGE=60, as a server would).

For each case one cold request runs first with the count cache empty (the count computed), then
--repeat warm ones (the count cached for that filter and data version, as for everyone paging or
re-sorting a selection); p50/p95 are of the warm ones (fewer than --repeat, at least 5, when a
case takes over 15 s), the cold one is shown beside them. The
deep page starts after the row half-way down the selection (its cursor found beforehand).
The page jumps (`page=N`, as typed in the page's jump box or kept in an old link) find the row
before page N with an OFFSET from the nearer end; `--case jump` (any part of a case's name,
repeatable) runs only the matching cases.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

PAGE = "/recordings/"
API = "/api/v1/recordings"


def cases(total: int) -> list[tuple[str, str, str | None]]:
    """(name, page query, API query or None when the API has no such parameter)."""
    from noisebank.api.recordings import list_cursor
    from noisebank.catalog import models as m
    from noisebank.catalog.pagination import encode_cursor

    category = m.Category.objects.order_by("name").values_list("name", flat=True).first() or ""
    dated = m.Recording.objects.filter(recorded_at__isnull=False)
    last = dated.order_by("-recorded_at").values_list("recorded_at", flat=True)[:1]
    year = last[0].year if last and last[0] else 2026
    date_range = f"recorded_from={year}-01-01&recorded_to={year}-03-31"
    half = total // 2
    deep = dated.order_by("-recorded_at", "-id").values_list("recorded_at", "id")
    at, pk = deep[half]
    by_laeq = (
        m.NoiseAnalysis.objects.filter(laeq__isnull=False)
        .order_by("-laeq", "-recording_id")
        .values_list("laeq", "recording_id")
    )
    laeq, laeq_pk = by_laeq[half]
    from urllib.parse import quote

    return [
        ("no filter", "", ""),
        (f"category={category}", f"category={quote(category)}", f"category={quote(category)}"),
        ("recorded Jan-Mar", date_range, date_range),
        ("LAeq 70-80 dB", "laeq_min=70&laeq_max=80", "laeq_min=70&laeq_max=80"),
        ("text search q=horn", "q=horn", "q=horn"),
        ("text search q=Cape Coast", "q=Cape+Coast", "q=Cape+Coast"),
        ("sorted by LAeq, high first", "sort=-laeq", None),
        (
            "deep page (half-way), newest first",
            f"after={encode_cursor(at, pk, 'recorded_at')}",
            f"cursor={list_cursor(at, pk)}",
        ),
        (
            "deep page (half-way), by LAeq",
            f"sort=-laeq&after={encode_cursor(laeq, laeq_pk, 'laeq')}",
            None,
        ),
        ("size=200, category + LAeq", f"category={quote(category)}&laeq_min=75&size=200",
         f"category={quote(category)}&laeq_min=75&size=200"),
        *paging_cases(total, laeq_cursor=encode_cursor(laeq, laeq_pk, "laeq")),
    ]  # fmt: skip


def paging_cases(total: int, *, laeq_cursor: str) -> list[tuple[str, str, str | None]]:
    """The pager's links and jumps (page only: the API pages by cursor)."""
    half = total // 2 // 50 + 1  # the page starting half-way: the deepest OFFSET from the top
    quarter = total * 3 // 4 // 50 + 1  # found from the end, a quarter of the rows away
    return [
        ("jump to page 2, newest first", "page=2", None),
        (f"jump to page {half:,} (half-way), newest first", f"page={half}", None),
        (f"jump to page {half:,} (half-way), by LAeq", f"sort=-laeq&page={half}", None),
        (f"jump to page {half:,} (half-way), by category", f"sort=category&page={half}", None),
        (f"jump to page {quarter:,} (3/4 down), by LAeq", f"sort=-laeq&page={quarter}", None),
        ("last page, by LAeq", "sort=-laeq&page=last", None),
        ("previous page from half-way, by LAeq", f"sort=-laeq&before={laeq_cursor}&page={half}",
         None),
        ("page past the last (shows the last)", f"page={total}", None),
    ]  # fmt: skip


def measure(repeat: int, only: list[str]) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    from noisebank.accounts.roles import Role, role_group
    from noisebank.catalog import models as m

    user, _ = User.objects.get_or_create(username="bench-researcher")
    user.groups.add(role_group(Role.RESEARCHER))
    client = Client()
    client.force_login(user)
    total = m.Recording.objects.count()
    client.get(PAGE)  # templates compiled, connection open
    results: list[dict[str, Any]] = []
    for name, page_query, api_query in cases(total):
        if only and not any(part in name for part in only):
            continue
        for where, path, query in (("page", PAGE, page_query), ("api", API, api_query)):
            if query is None:
                continue
            url = f"{path}?{query}" if query else path
            cache.clear()
            start = time.perf_counter()
            response = client.get(url)
            cold = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code)
            warm = []
            budget = time.perf_counter() + 15  # slow cases: fewer repeats (at least 5)
            for i in range(repeat):
                if i >= 5 and time.perf_counter() > budget:
                    break
                start = time.perf_counter()
                response = client.get(url)
                warm.append(time.perf_counter() - start)
            if where == "page":
                found = re.search(rb'id="total-count" data-count="(\d+)"', response.content)
                count = int(found.group(1)) if found else -1
            else:
                count = json.loads(response.content)["count"]
            warm.sort()
            results.append(
                {
                    "case": name,
                    "where": where,
                    "rows": count,
                    "cold_ms": cold * 1000,
                    "p50_ms": statistics.median(warm) * 1000,
                    "p95_ms": warm[max(0, round(0.95 * len(warm)) - 1)] * 1000,
                    "n": len(warm),
                }
            )
    print(json.dumps({"total": total, "results": results}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", required=True, help="a DATABASE_URL (repeat)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--case", action="append", default=[], help="only cases naming this")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.repeat, args.case)
        return
    tables = []
    for url in args.db:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "noisebank.settings",
            "NOISEBANK_CONN_MAX_AGE": "60",
            "NOISEBANK_SECRET_KEY": os.environ.get("NOISEBANK_SECRET_KEY", "bench-" + "x" * 50),
            "NOISEBANK_LOG_LEVEL": "WARNING",
        }
        out = subprocess.run(
            [sys.executable, "-m", "bench.list_page", "--child", "--repeat", str(args.repeat),
             "--db", url, *(f"--case={c}" for c in args.case)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            sys.exit(f"{url}: failed\n{out.stderr[-3000:]}")
        tables.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"Server time in ms, p50 / p95 of {args.repeat} warm requests (cold: count not cached)\n")
    for table in tables:
        print(f"{table['total']:,} recordings")
        print("| case | rows | page p50 | page p95 | page cold | API p50 | API p95 | API cold |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        by_case: dict[str, dict[str, Any]] = {}
        for r in table["results"]:
            by_case.setdefault(r["case"], {})[r["where"]] = r
        for case, got in by_case.items():
            cells = []
            for where in ("page", "api"):
                r = got.get(where)
                cells += (
                    [f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['cold_ms']:.0f}"]
                    if r
                    else ["n/a", "", ""]
                )
            rows = next(iter(got.values()))["rows"]
            print(f"| {case} | {rows:,} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
