"""The practice library's speed at 1,000, 10,000 and 50,000 practices, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_library.py                       # both engines, 1k, 10k, 50k
    BENCH_LIBRARY_SKIP_50K=1 .venv/bin/python bench/bench_library.py   # CI: 1k and 10k only
    .venv/bin/python bench/bench_library.py --engines sqlite --sizes 1000,10000

Standalone, like bench_exports.py: each engine runs in its own process on its own database (a
temporary SQLite file; a PostgreSQL database created next to --pg-url and dropped afterwards). A
generated library (38 countries, 20 meetings of 5 sessions, titles and text in English and French
drawn from a shared vocabulary, 1-3 themes, year, level, status) grows from one size to the next;
at each size the library page is requested through Django's test client as a member of the network:

- search: `?q=` one or two words (the htmx fragment the search box asks for), words of every
  frequency, from rare to one practice in ten;
- faceted page: country + year (+ theme for half of them), the whole page with its facet counts;
- unfiltered page: the first page of the whole library.

p50 and p99 in milliseconds, and the ratio of each to the same figure at 1,000 in the same run.
Writes bench/results/library.json. Targets (issue 24) at 50,000: search p99 < 50 ms, faceted page
p99 < 100 ms, each at most 2x the time at 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Its own database beside --pg-url's; BENCH_LIBRARY_DB names another (two benches on one server).
PG_NAME = os.environ.get("BENCH_LIBRARY_DB", "facilitation_bench_library")
RESULTS = ROOT / "bench" / "results" / "library.json"
COUNTRIES = 38
MEETINGS = 20
SESSIONS = 5
EN = ("trust public institutions citizens assembly deliberation disinformation misinformation fact checking "
      "foresight scenario strategic planning budget transparency open data portal ministry parliament local "
      "regional national evaluation pilot programme survey youth participation digital platform election "
      "integrity media literacy school teachers campaign communication crisis resilience polarisation dialogue "
      "community network partnership research university evidence indicator dashboard report review law "
      "reform service delivery innovation lab design user agency government centre coordination policy").split()
FR = ("confiance institutions publiques citoyens assemblée délibération désinformation mésinformation vérification "
      "faits prospective scénario planification stratégique budget transparence données ouvertes portail ministère "
      "parlement local régional national évaluation pilote programme enquête jeunesse participation numérique "
      "plateforme élection intégrité éducation médias école enseignants campagne communication crise résilience "
      "polarisation dialogue communauté réseau partenariat recherche université preuves indicateur tableau rapport "
      "revue loi réforme services innovation laboratoire conception usagers agence gouvernement centre politique").split()
# Rare words: each practice gets one, so a search for one finds a handful whatever the size.
RARE = [f"{a}{b}" for a in ("kal", "mor", "tev", "sun", "pir", "dov", "lux", "zen") for b in ("ari", "oni", "ela", "uto", "ine")]


def setup_django(database_url: str, directory: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "facilitation.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATA_DIR"] = directory
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Library:
    """The generated library; grow(n) adds practices until there are n."""

    def __init__(self, seed: int = 24):
        from django_countries import countries

        from sessions_app.models import Delegation, LibraryAccess, LibraryTheme, Meeting, Session

        self.random = random.Random(seed)
        codes = [code for code, _name in countries][:COUNTRIES]
        self.delegations = Delegation.objects.bulk_create([Delegation(country=code) for code in codes])
        self.sessions = []
        for m in range(MEETINGS):
            language = "fr" if m % 3 == 0 else "en"
            meeting = Meeting.objects.create(
                title=f"Meeting {m + 1} of the network", slug=f"bench-{m + 1}", place="Paris", language=language,
                start_date=date(2005 + m, 3, 1), library=LibraryAccess.MEMBERS,
            )  # fmt: skip
            self.sessions += Session.objects.bulk_create(
                [Session(meeting=meeting, number=n, title=f"Session {n}: trust, foresight and participation") for n in range(1, SESSIONS + 1)]
            )
        self.themes = list(LibraryTheme.objects.all())
        self.count = 0

    def text(self, words: int, french: bool) -> str:
        vocabulary = FR if french else EN
        # A Zipf-like draw: a few words are common, most are not.
        return " ".join(vocabulary[min(int(self.random.paretovariate(0.9)) - 1, len(vocabulary) - 1)] if self.random.random() < 0.5
                        else self.random.choice(vocabulary) for _ in range(words))  # fmt: skip

    def grow(self, n: int) -> float:
        from sessions_app.library.services import rebuild_library_index
        from sessions_app.models import Practice, PracticeLevel, PracticeStatus, Visibility

        started = time.perf_counter()
        new = []
        for i in range(self.count, n):
            french = self.random.random() < 0.4
            session = self.sessions[i % len(self.sessions)]
            new.append(
                Practice(
                    session=session, delegation=self.delegations[self.random.randrange(COUNTRIES)],
                    title=self.text(6, french) + " " + RARE[i % len(RARE)] + str(i // len(RARE) % 50),
                    description=self.text(40, french), problem=self.text(15, french), results=self.text(15, french),
                    language="fr" if french else "en", visibility=Visibility.PUBLISHED,
                    year_started=self.random.randint(2000, 2025), level=self.random.choice(PracticeLevel.values),
                    status=self.random.choice(PracticeStatus.values),
                )
            )  # fmt: skip
        created = Practice.objects.bulk_create(new, batch_size=1000)
        links = []
        for practice in created:
            for theme in self.random.sample(self.themes, self.random.randint(1, 3)):
                links.append(Practice.library_themes.through(practice_id=practice.pk, librarytheme_id=theme.pk))
        Practice.library_themes.through.objects.bulk_create(links, batch_size=2000)
        self.count = n
        rebuild_library_index()
        return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


def measure(client, user, requests: list[tuple[dict, bool]], repeats: int) -> dict:
    from django.db import connection, reset_queries

    from sessions_app.library import queries as library

    timings, queries, matched, sql, capped = [], [], [], [], 0
    for _ in range(repeats):
        for params, htmx in requests:
            reset_queries()
            started = time.perf_counter()
            response = client.get("/practices/", params, headers={"HX-Request": "true"} if htmx else {})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            queries.append(len(connection.queries))
            # The database's share of the request (the rest is Django: session, template, middleware).
            sql.append(sum(float(query["time"]) for query in connection.queries) * 1000)
    for params, _htmx in requests:
        filters = {name: [value] for name, value in params.items() if name != "q"}
        found = library.search_library(user, query=params.get("q", ""), filters=filters)
        matched.append(found.total)
        capped += found.capped
    return {"p50_ms": percentile(timings, 50), "p99_ms": percentile(timings, 99), "requests": len(timings),
            "sql_p50_ms": percentile(sql, 50), "sql_p99_ms": percentile(sql, 99),
            "queries": max(queries), "median_matches": sorted(matched)[len(matched) // 2],
            # Searches with more matches than the library ranks and counts (it says so on the page).
            "capped_share": round(capped / len(requests), 2)}  # fmt: skip


def run_engine(engine: str, sizes: list[int], pg_url: str, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-library-") as directory:
        if engine == "sqlite":
            url = f"sqlite:///{directory}/library.sqlite3"
        else:
            url = pg_url.rsplit("/", 1)[0] + "/" + PG_NAME
        setup_django(url, directory)
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        from sessions_app.models import Delegation, LibraryTheme
        from tests.factories import make_delegate

        settings.DEBUG = True  # so connection.queries counts the queries
        library = Library()
        member = make_delegate(Delegation.objects.create(country="NO"), username="bench-member")
        client = Client()
        client.force_login(member)
        rnd = random.Random(7)
        words = EN[:10] + EN[-10:] + FR[:10] + FR[-10:] + RARE[:10]
        searches = [({"q": w}, True) for w in words] + [({"q": f"{rnd.choice(EN)} {rnd.choice(EN)}"}, True) for _ in range(10)]
        themes = [t.slug for t in LibraryTheme.objects.all()]
        codes = [d.code for d in library.delegations]
        faceted = [
            ({"country": rnd.choice(codes), "year": str(rnd.randint(2000, 2025)), **({"theme": rnd.choice(themes)} if i % 2 else {})}, False)
            for i in range(40)
        ]
        rows = []
        for n in sizes:
            built = library.grow(n)
            # Warm the caches of the engine and the templates, as a running server's are: one request of
            # each kind (at the first size, the first requests also compiled the templates).
            for params, htmx in (searches[0], faceted[0], ({}, False)):
                client.get("/practices/", params, headers={"HX-Request": "true"} if htmx else {})
            row = {"engine": engine, "practices": n, "build_s": round(built, 1),
                   "search": measure(client, member, searches, repeats), "faceted": measure(client, member, faceted, repeats),
                   "unfiltered": measure(client, member, [({}, False)], repeats * 10)}  # fmt: skip
            rows.append(row)
            print(f"  {engine:<10} {n:>6,}  search p50/p99 {row['search']['p50_ms']:>6} / {row['search']['p99_ms']:>6} ms"
                  f" (SQL {row['search']['sql_p50_ms']} / {row['search']['sql_p99_ms']})"
                  f"   faceted {row['faceted']['p50_ms']:>6} / {row['faceted']['p99_ms']:>6} ms"
                  f" (SQL {row['faceted']['sql_p50_ms']} / {row['faceted']['sql_p99_ms']})"
                  f"   unfiltered {row['unfiltered']['p50_ms']:>6} / {row['unfiltered']['p99_ms']:>6} ms"
                  f"   (built in {built:.1f} s)", flush=True)  # fmt: skip
        connection.close()
        if engine == "postgresql":
            drop_database(pg_url)
        return {"engine": engine, "rows": rows}


def drop_database(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def create_database(pg_url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_NAME}")
        return True
    except Exception as error:  # noqa: BLE001 - any reason PostgreSQL is not there is a reason to skip it
        print(f"  postgresql skipped: {error}")
        return False


def ratios(result: dict) -> None:
    """Each figure over the same figure at the smallest size, in the same run."""
    rows = result["rows"]
    if not rows:
        return
    first = rows[0]
    for row in rows:
        for kind in ("search", "faceted", "unfiltered"):
            for stat in ("p50_ms", "p99_ms"):
                base = first[kind][stat]
                row[kind][f"{stat[:3]}_ratio"] = round(row[kind][stat] / base, 2) if base else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_sizes = "1000,10000" if os.environ.get("BENCH_LIBRARY_SKIP_50K") else "1000,10000,50000"
    parser.add_argument("--sizes", default=default_sizes, help="numbers of practices, growing (1000,10000,50000)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=2, help="times each request is made at each size (2)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--engine-only", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",") if size]
    if options.engine_only:
        print(json.dumps(run_engine(options.engine_only, sizes, options.pg_url, options.repeats)))
        return 0
    results = []
    print(f"library benchmark: {', '.join(f'{n:,}' for n in sizes)} practices")
    for engine in options.engines.split(","):
        if engine == "postgresql" and not create_database(options.pg_url):
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--engine-only", engine, "--sizes", options.sizes, "--repeats", str(options.repeats), "--pg-url", options.pg_url],
            capture_output=True, text=True,
        )  # fmt: skip
        lines = done.stdout.strip().splitlines()
        for line in lines[:-1]:
            print(line, flush=True)
        if done.returncode != 0 or not lines:
            print(f"  {engine} failed:\n{done.stderr[-3000:]}")
            continue
        result = json.loads(lines[-1])
        ratios(result)
        results.append(result)
    print()
    print(f"{'engine':<10} {'n':>6}  {'search p50':>10} {'p99':>6} {'x1k':>5}   {'faceted p50':>11} {'p99':>6} {'x1k':>5}   {'unfiltered p99':>14} {'x1k':>5}  queries")
    for result in results:
        for row in result["rows"]:
            s, f, u = row["search"], row["faceted"], row["unfiltered"]
            print(f"{row['engine']:<10} {row['practices']:>6}  {s['p50_ms']:>10} {s['p99_ms']:>6} {s['p99_ratio']:>5}   {f['p50_ms']:>11} {f['p99_ms']:>6}"
                  f" {f['p99_ratio']:>5}   {u['p99_ms']:>14} {u['p99_ratio']:>5}  {s['queries']}/{f['queries']}/{u['queries']}")  # fmt: skip
    options.out.parent.mkdir(parents=True, exist_ok=True)
    info = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    options.out.write_text(json.dumps({"machine": info, "results": results}, indent=2) + "\n")
    print(f"\nWrote {options.out.relative_to(ROOT) if options.out.is_relative_to(ROOT) else options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
