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


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table, for the terminal and the README alike."""
    lines = [
        "| Benchmark | Measured | Reference (same run) | Ratio | Target | Result |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(
            f"| {row.name} | {row.measured} | {row.reference} | {ratio} | {row.target} "
            f"| {row.verdict} |"
        )
    return "\n".join(lines)


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
