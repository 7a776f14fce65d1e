"""The summary table every benchmark contributes rows to, and the JSON files of the figures."""

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement against its reference from the same run."""

    name: str
    measured: str
    reference: str
    ratio: float | None
    target: str
    met: bool | None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "reported"}[self.met]


def median_ms(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``action``, in milliseconds."""
    return statistics.median(elapsed_ms(action) for _ in range(runs))


def elapsed_ms(action: Callable[[], object]) -> float:
    """The wall time of one call of ``action``, in milliseconds."""
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def machine() -> dict[str, object]:
    """What the figures were measured on: CPU, cores, load, Python."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


HEADER = (
    "| Benchmark | Measured | Reference (same run) | Ratio | Target | Result |",
    "| --- | --- | --- | ---: | --- | --- |",
)


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table, for the terminal and the README alike."""
    lines = list(HEADER)
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(
            f"| {row.name} | {row.measured} | {row.reference} | {ratio} | {row.target} "
            f"| {row.verdict} |"
        )
    return "\n".join(lines)


# The README's performance table sits between these markers; `bench/run --markdown` rewrites it.
README_START = "<!-- bench/run --markdown writes from here: do not edit by hand -->"
README_END = "<!-- bench/run --markdown writes up to here -->"


def readme_section(rows: list[Row], machine: dict[str, object], seconds: float) -> str:
    """The run's description and its table, as the README shows them."""
    load = machine["load_average"][0]
    minutes = round(seconds / 60, 1)
    return (
        f"Latest run: {machine['date'][:10]} on `{machine['cpu']}` (as `/proc/cpuinfo` names "
        f"it), {machine['cores']} cores (load average {load} when it started), "
        f"{machine['system']}, Python {machine['python']}, PostgreSQL "
        f"{machine['postgresql']}; `bench/run` took {minutes:g} minutes.\n\n{table(rows)}"
    )


def readme_with(readme: str, section: str) -> str:
    """``readme`` with the text between the markers replaced by ``section``."""
    start, end = readme.index(README_START), readme.index(README_END)
    if end < start:
        raise ValueError("the README's bench markers are out of order")
    return f"{readme[: start + len(README_START)]}\n{section}\n{readme[end:]}"


def readme_table(readme: str) -> list[str]:
    """The lines of the table between the README's markers."""
    start, end = readme.index(README_START), readme.index(README_END)
    return [line for line in readme[start:end].splitlines() if line.startswith("|")]


def parse_row(line: str) -> Row:
    """A table line back into its Row (the inverse of ``table`` for one row)."""
    cells = [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split(" | ")]
    if len(cells) != len(HEADER[0].split(" | ")):
        raise ValueError(f"not a row of the bench table: {line}")
    name, measured, reference, ratio, target, verdict = cells
    verdicts = {"met": True, "MISSED": False, "reported": None}
    if verdict not in verdicts:
        raise ValueError(f"unknown result {verdict!r} in: {line}")
    number = float(ratio) if ratio else None
    return Row(name, measured, reference, number, target, verdicts[verdict])


def write(name: str, data: object) -> Path:
    """Write ``data`` as bench/results/<name>.json (the folder is gitignored)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, Row):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
