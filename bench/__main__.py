"""python -m bench [part ...]: run the named parts (default: all of them, in PARTS order)."""

from __future__ import annotations

import importlib
import sys

from bench import results
from bench.results import REPO

PARTS = ("latency", "throughput", "cost", "data", "spark")


def report() -> None:
    """The tables of reports/bench.json again, without measuring."""
    doc = results.load()
    for name, section in doc["parts"].items():
        print(f"\n##### {name} (measured {section.get('measured_at')}) #####")
        importlib.import_module(f"bench.{name.split('_')[0]}").print_section(section)


def main(argv: list[str]) -> int:
    # Pod code of the platform (plugins/airyard) builds the Spark specs, as the pipeline does.
    sys.path.insert(0, str(REPO / "plugins"))
    parts = [p for arg in argv for p in arg.replace(",", " ").split()] or list(PARTS)
    unknown = sorted(set(parts) - {*PARTS, "report"})
    if unknown:
        print(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)} or report", file=sys.stderr)
        return 2
    for part in parts:
        if part == "report":
            report()
        else:
            importlib.import_module(f"bench.{part}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
