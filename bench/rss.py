"""How much memory a process holds, from /proc (Linux): shared by every benchmark that asks."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def status_mb(pid: int, field: str) -> float:
    """A field of /proc/PID/status in MB: VmRSS (now) or VmHWM (the peak since the reset)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)[1]) / 1024


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def rollup_mb(pid: int) -> dict[str, float]:
    """RSS, PSS (shared pages divided among their sharers) and USS (private) of a process."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def family(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
    return found


@contextmanager
def peak_during(pids: list[int]) -> Iterator[dict[int, dict[str, float]]]:
    """Each process's RSS before the block and its peak (VmHWM) during it, in MB, filled in
    when the block ends."""
    found = {pid: {"before_mb": status_mb(pid, "VmRSS")} for pid in pids}
    for pid in pids:
        reset_peak(pid)
    yield found
    for pid in pids:
        found[pid]["peak_mb"] = status_mb(pid, "VmHWM")
