"""Runs every ``bench_*.py`` here (or those named; with ``--scale``, every ``scale_*.py``:
``make bench-scale``), prints a table, updates results.json.

Each benchmark module has ``run() -> dict[str, float]`` and a ``TARGETS`` dict of
``name: (">=" | "<=" | "report", bound)``. Figures are ratios measured side by side in one run,
because the machines are shared and noisy and absolute times drift.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
RESULTS = Path("var/bench/results.json")


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def verdict(value: float, target: tuple[str, float]) -> str:
    op, bound = target
    if op == ">=":
        return "met" if value >= bound else "NOT met"
    if op == "<=":
        return "met" if value <= bound else "NOT met"
    return "reported"


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    # ``--scale``: the long runs of ``make bench-scale`` (``scale_*.py``) instead.
    scale = "--scale" in names
    names = [n for n in names if n != "--scale"]
    scripts = sorted(HERE.glob("scale_*.py" if scale else "bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    results: dict[str, float] = {}
    if RESULTS.exists():
        results.update(json.loads(RESULTS.read_text()))
    rows: list[tuple[str, float, str, str]] = []
    for script in scripts:
        module = load(script)
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        figures: dict[str, float] = module.run()
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        for name, value in figures.items():
            target = module.TARGETS.get(name, ("report", 0.0))
            shown = "" if target[0] == "report" else f"{target[0]} {target[1]}"
            rows.append((name, value, shown, verdict(value, target)))
            results[name] = round(value, 4)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print()
    print(f"{'figure':<32} {'value':>12}  {'target':<10} verdict")
    for name, value, shown, result in rows:
        print(f"{name:<32} {value:>12.3f}  {shown:<10} {result}")
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
