"""Server time of the catalogue page, the list API and /api/v1/stats for common filters, alone
and combined (a recording filter with a measurement filter or sort): p50, p95 and cold.

    .venv/bin/python -m bench.list_page --db postgres://postgres@127.0.0.1:5432/nb_23k \\
        --db postgres://postgres@127.0.0.1:5432/nb_1m [--repeat 40]

Seed each database first: `DATABASE_URL=… noisebank migrate && noisebank seed --count N --audio 0`.
Each database is measured in its own process (settings read DATABASE_URL at import), through
Django's test client as a logged-in researcher: middleware, view, queries and template, no
network. Connections are kept between requests (NOISEBANK_CONN_MAX_AGE=60, as a server would).

For each case one cold request runs first with the cache empty (the count and statistics
computed), then --repeat warm ones (the count and statistics cached for that filter and data
version, as for everyone paging or re-sorting a selection); p50/p95 are of the warm ones (fewer
than --repeat, at least --min-warm, when a case takes over 15 s), the cold one is shown beside
them. The stats column is GET /api/v1/stats with the case's filters (cases that differ only in
sort, page or size have none). The deep page starts after the row half-way down the selection
(its cursor found beforehand). The page jumps (`page=N`, as typed in the page's jump box or kept
in an old link) find the row before page N with an OFFSET from the nearer end; `--case jump`
(any part of a case's name, repeatable) runs only the matching cases.
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
STATS = "/api/v1/stats"
WHERE = {"page": PAGE, "api": API, "stats": STATS}


def cases(total: int) -> list[tuple[str, dict[str, str | None]]]:
    """(name, {where: query, or None when that endpoint has no such parameter})."""
    from urllib.parse import quote

    from noisebank.api.recordings import list_cursor
    from noisebank.catalog import models as m
    from noisebank.catalog.pagination import encode_cursor

    category = m.Category.objects.order_by("name").values_list("name", flat=True).first() or ""
    region = m.Region.objects.order_by("name").values_list("name", flat=True).first() or ""
    cat, reg = f"category={quote(category)}", f"region={quote(region)}"
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
    # A box of about 10 km around the first located recording's site.
    site = (
        dated.filter(latitude__isnull=False, longitude__isnull=False)
        .order_by("id")
        .values_list("latitude", "longitude")
        .first()
    )
    lat, lon = (float(site[0] or 0), float(site[1] or 0)) if site else (5.6, -0.2)
    bbox = f"bbox={lon - 0.05:.3f},{lat - 0.05:.3f},{lon + 0.05:.3f},{lat + 0.05:.3f}"

    def same(query: str) -> dict[str, str | None]:
        return {"page": query, "api": query, "stats": query}

    return [
        ("no filter", same("")),
        (f"category={category}", same(cat)),
        ("recorded Jan-Mar", same(date_range)),
        ("LAeq 70-80 dB", same("laeq_min=70&laeq_max=80")),
        ("text search q=horn", same("q=horn")),
        ("text search q=Cape Coast", same("q=Cape+Coast")),
        ("sorted by LAeq, high first", {"page": "sort=-laeq"}),
        ("sorted by LAFmax, high first", {"page": "sort=-lafmax"}),
        ("sorted by duration, long first", {"page": "sort=-duration"}),
        (
            "deep page (half-way), newest first",
            {"page": f"after={encode_cursor(at, pk, 'recorded_at')}",
             "api": f"cursor={list_cursor(at, pk)}"},
        ),
        (
            "deep page (half-way), by LAeq",
            {"page": f"sort=-laeq&after={encode_cursor(laeq, laeq_pk, 'laeq')}"},
        ),
        ("category + LAeq >= 75", same(f"{cat}&laeq_min=75")),
        ("category sorted by LAeq", {"page": f"{cat}&sort=-laeq"}),
        ("category + LAeq >= 75 sorted by LAeq", {"page": f"{cat}&laeq_min=75&sort=-laeq"}),
        ("size=200, category + LAeq", {"page": f"{cat}&laeq_min=75&size=200",
                                       "api": f"{cat}&laeq_min=75&size=200"}),
        ("region + unit dB SPL", same(f"{reg}&unit=dB+SPL")),
        ("region + unit dB SPL sorted by LAFmax", {"page": f"{reg}&unit=dB+SPL&sort=-lafmax"}),
        ("has_audio=yes", same("has_audio=yes")),
        ("has_audio=no", same("has_audio=no")),
        ("bbox ~10 km", same(bbox)),
        ("bbox ~10 km sorted by LAeq", {"page": f"{bbox}&sort=-laeq"}),
        *paging_cases(total, laeq_cursor=encode_cursor(laeq, laeq_pk, "laeq")),
    ]  # fmt: skip


def paging_cases(total: int, *, laeq_cursor: str) -> list[tuple[str, dict[str, str | None]]]:
    """The pager's links and jumps (page only: the API pages by cursor)."""
    half = total // 2 // 50 + 1  # the page starting half-way: the deepest OFFSET from the top
    quarter = total * 3 // 4 // 50 + 1  # found from the end, a quarter of the rows away
    return [
        ("jump to page 2, newest first", {"page": "page=2"}),
        (f"jump to page {half:,} (half-way), newest first", {"page": f"page={half}"}),
        (f"jump to page {half:,} (half-way), by LAeq", {"page": f"sort=-laeq&page={half}"}),
        (f"jump to page {half:,} (half-way), by category", {"page": f"sort=category&page={half}"}),
        (f"jump to page {quarter:,} (3/4 down), by LAeq", {"page": f"sort=-laeq&page={quarter}"}),
        ("last page, by LAeq", {"page": "sort=-laeq&page=last"}),
        ("previous page from half-way, by LAeq",
         {"page": f"sort=-laeq&before={laeq_cursor}&page={half}"}),
        ("page past the last (shows the last)", {"page": f"page={total}"}),
    ]  # fmt: skip


def measure(repeat: int, min_warm: int, only: list[str], named: list[str]) -> None:
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
    for name, queries in cases(total):
        if named and not any(part in name for part in named):
            continue
        for where, path in WHERE.items():
            query = queries.get(where)
            if query is None or where not in only:
                continue
            url = f"{path}?{query}" if query else path
            cache.clear()
            start = time.perf_counter()
            response = client.get(url)
            cold = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code)
            warm = []
            budget = time.perf_counter() + 15  # slow cases: fewer repeats (at least min_warm)
            for i in range(repeat):
                if i >= min_warm and time.perf_counter() > budget:
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
    parser.add_argument("--min-warm", type=int, default=5, help="warm requests of a slow case")
    parser.add_argument(
        "--only", default=",".join(WHERE), help="endpoints measured (default: page,api,stats)"
    )
    parser.add_argument("--case", action="append", default=[], help="only cases naming this")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.repeat, args.min_warm, args.only.split(","), args.case)
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
             "--min-warm", str(args.min_warm), "--only", args.only, "--db", url,
             *(f"--case={c}" for c in args.case)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            sys.exit(f"{url}: failed\n{out.stderr[-3000:]}")
        tables.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"Server time in ms, p50 / p95 of {args.repeat} warm requests (cold: count not cached)\n")
    for table in tables:
        print(f"{table['total']:,} recordings")
        print(
            "| case | rows | page p50 | page p95 | page cold | API p50 | API p95 | API cold "
            "| stats p50 | stats p95 | stats cold |"
        )
        print("| --- | ---: |" + " ---: |" * 9)
        by_case: dict[str, dict[str, Any]] = {}
        for r in table["results"]:
            by_case.setdefault(r["case"], {})[r["where"]] = r
        for case, got in by_case.items():
            cells = []
            for where in WHERE:
                r = got.get(where)
                cells += (
                    ["-", "", ""]
                    if where not in args.only.split(",")
                    else [f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['cold_ms']:.0f}"]
                    if r
                    else ["n/a", "", ""]
                )
            rows = next(iter(got.values()))["rows"]
            print(f"| {case} | {rows:,} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
