"""The README's performance table is the one `bench/run --markdown` writes, never typed by hand."""

from bench import report
from tests.servers import ROOT

README = (ROOT / "README.md").read_text()
ROWS = [
    report.Row("Measured against a reference", "12 ms", "10 ms reference", 1.2, "≤ 1.3", True),
    report.Row("Reported only", "7 / 7", "the same count", None, "report", None),
    report.Row("A missed target", "370 MB", "90 MB before", None, "< 300 MB", False),
]
MACHINE = {
    "cpu": "Some CPU",
    "cores": 2,
    "load_average": [0.5, 0.4, 0.3],
    "python": "3.11.7",
    "system": "Linux 6.18 x86_64",
    "date": "2026-12-01 06:00 UTC",
    "postgresql": "15.20",
}


def test_the_readme_table_has_the_rows_and_columns_bench_writes():
    lines = report.readme_table(README)
    assert tuple(lines[:2]) == report.HEADER
    rows = [report.parse_row(line) for line in lines[2:]]
    assert len(rows) >= 10
    # Written back by bench's own code, the table is the same, character for character.
    assert report.table(rows).splitlines() == lines


def test_markdown_replaces_only_what_lies_between_the_markers():
    section = report.readme_section(ROWS, MACHINE, seconds=95)
    rewritten = report.readme_with(README, section)

    assert report.readme_table(rewritten) == report.table(ROWS).splitlines()
    assert "Latest run: 2026-12-01 on `Some CPU`" in rewritten
    assert "`bench/run` took 1.6 minutes" in rewritten
    before, after = README.split(report.README_START)[0], README.split(report.README_END)[1]
    assert rewritten.startswith(before + report.README_START)
    assert rewritten.endswith(report.README_END + after)
    # Running it again changes nothing more.
    assert report.readme_with(rewritten, section) == rewritten
