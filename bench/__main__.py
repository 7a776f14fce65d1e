"""Run the benchmarks, print one table and write bench/results/*.json.

    bench/run [images] [pages] [readers] [throughput] [presign] [server] [client_resize]
              [bombs] [search] [memory]      (all of them when none is named)
    bench/run --markdown     (all of them, then the README's performance table is rewritten)
    bench/run download       (only when named: the download zip's memory, 1,000 posts and 10)

bench/run prepares the machine (virtualenv, wrk, PostgreSQL) and runs this module. Every figure
is compared with a reference measured in the same run, since shared machines drift.
"""

import argparse
import importlib
import os
import tempfile
import time

import psycopg2

from bench import report, stack

# Named after the run's process: two runs sharing a PostgreSQL server (two checkouts on one
# machine) must not drop each other's databases.
SMALL, LARGE, READERS_SMALL, READERS_LARGE, SEARCH = (
    f"bench_instagram_{name}_{os.getpid()}"
    for name in ("small", "large", "readers_small", "readers_large", "search")
)
BENCHMARKS = (
    "images", "pages", "readers", "throughput", "presign", "server", "client_resize", "bombs",
    "search", "memory",
)  # fmt: skip
# Those that need the large database filled and the reader's session.
ON_LARGE = {"throughput", "presign", "server", "client_resize"}
ON_REQUEST = ("download",)  # run only when named; not in the README's table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS + ON_REQUEST))
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="write the table and the run's description into README.md, between its markers",
    )
    arguments = parser.parse_args()
    names = arguments.names or BENCHMARKS
    if unknown := set(names) - set(BENCHMARKS + ON_REQUEST):
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    if arguments.markdown and set(names) != set(BENCHMARKS):
        parser.error("--markdown writes the whole table: run every benchmark")
    chosen = [name for name in BENCHMARKS + ON_REQUEST if name in names]
    started = time.monotonic()
    machine = report.machine()
    print(f"{machine['cpu']}, {machine['cores']} cores, load average {machine['load_average']}")

    rows: list[report.Row] = []
    notes: list[str] = []
    with (
        stack.s3() as storage,
        stack.databases(
            stack.postgres_server(), SMALL, LARGE, READERS_SMALL, READERS_LARGE, SEARCH
        ) as urls,
        tempfile.TemporaryDirectory(prefix="bench-static-") as static_root,
    ):
        machine["postgresql"] = _server_version(urls[SMALL])
        env = stack.environ(urls[LARGE], storage, static_root)
        stack.django_setup(env)
        # Modules that import models load only now that Django is set up.
        (
            images,
            pages,
            readers,
            throughput,
            presign,
            server,
            client_resize,
            bombs,
            search,
            memory,
        ) = (importlib.import_module(f"bench.{name}") for name in BENCHMARKS)
        photo = images.photo()
        if "images" in chosen:
            rows += _record("images", *images.run(photo))
        if "readers" in chosen:
            found, details = readers.run(urls[READERS_SMALL], urls[READERS_LARGE])
            rows += _record("readers", found, details)
            notes += ["EXPLAIN of each reader's feed at 1,000,000 posts:"]
            notes += pages.plan_lines(details["explain"])
        if "pages" in chosen:
            found, details = pages.run(urls[SMALL], urls[LARGE])
            rows += _record("pages", found, details)
            notes += ["Feed page, share of its time (cProfile; queries partly run in rendering):"]
            notes += pages.profile_lines(details["feed_time_shares"])
            notes += ["EXPLAIN at 100,000 posts:", *pages.plan_lines(details["explain"])]
        elif ON_LARGE & set(chosen):
            pages.prepare(urls[LARGE], posts=pages.SCALE_LARGE)
        if ON_LARGE & set(chosen):
            with pages.using(urls[LARGE]):
                client = pages.reader_client()
                if "throughput" in chosen:
                    cookie = client.cookies["sessionid"].value
                    rows += _record("throughput", *throughput.run(env, cookie))
                if "presign" in chosen:
                    rows += _record("presign", *presign.run(client))
                if "server" in chosen:
                    cookie = client.cookies["sessionid"].value
                    found, details = server.run(env, cookie, storage, photo)
                    rows += _record("server", found, details)
                    notes += ["Upload, where the time goes (differences of medians, ±2 ms):"]
                    notes += server.upload_lines(details["upload_ms"])
                if "client_resize" in chosen:
                    cookie = client.cookies["sessionid"].value
                    found, details = client_resize.run(env, cookie, photo)
                    rows += _record("client_resize", found, details)
                    notes += ["A 12 MP JPEG shared from Chromium (issue 15, target 5):"]
                    notes += client_resize.lines(details)
        if "bombs" in chosen:
            if not ({"pages"} | ON_LARGE) & set(chosen):
                pages.prepare(urls[LARGE], posts=pages.SCALE_SMALL)
            with pages.using(urls[LARGE]):
                cookie = pages.reader_client().cookies["sessionid"].value
            found, details = bombs.run(env, cookie)
            rows += _record("bombs", found, details)
            notes += ["Decompression bombs (issue 11):", *bombs.lines(details)]
        if "search" in chosen:
            found, details = search.run(urls[SEARCH])
            rows += _record("search", found, details)
            notes += ["Search at 300,000 members and 100,000 tags (issue 14):"]
            notes += search.lines(details)
        if "memory" in chosen:
            if not ({"pages", "bombs"} | ON_LARGE) & set(chosen):
                pages.prepare(urls[LARGE], posts=pages.SCALE_SMALL)
            with pages.using(urls[LARGE]):
                cookie = pages.reader_client().cookies["sessionid"].value
                found, details = memory.run(env, cookie, photo)
            rows += _record("memory", found, details)
            notes += ["Memory on a 1 GiB server (issue 15):", *memory.lines(details)]
        if "download" in chosen:
            download = importlib.import_module("bench.download")
            with pages.using(urls[LARGE]):
                found, details = download.run(env, photo)
            rows += _record("download", found, details)
            notes += ["Download your data (issue 12):", *download.lines(details)]

    print()
    print(report.table(rows))
    print()
    print("\n".join(notes))
    path = report.write("summary", {"machine": machine, "rows": rows, "notes": notes})
    print(f"\nFigures written to {path.parent.relative_to(stack.ROOT)}/")
    if arguments.markdown:
        readme = stack.ROOT / "README.md"
        section = report.readme_section(rows, machine, time.monotonic() - started)
        readme.write_text(report.readme_with(readme.read_text(), section))
        print("README.md: performance table rewritten")


def _server_version(url: str) -> str:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    return version.split()[0]


def _record(name: str, rows: list[report.Row], details: dict) -> list[report.Row]:
    """Write one benchmark's details, echo its rows as they come, and return them."""
    report.write(name, {"rows": rows, **details})
    for row in rows:
        print(f"  {row.name}: {row.measured} against {row.reference} ({row.verdict})")
    return rows


if __name__ == "__main__":
    main()
