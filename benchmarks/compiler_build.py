"""Wall time of `specgen build` and `specgen diff` on synthetic specs of growing size.

Each figure is the median of --repeat runs of the real command in a fresh process, so Python's
start-up and imports are included, as a user or CI would see them.

    python benchmarks/compiler_build.py            # 50, 500 and 2,000 entities x 20 fields
    python benchmarks/compiler_build.py --sizes 500 --repeat 9
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_model  # noqa: E402
from synth_spec import write_spec  # noqa: E402

WORK = Path(__file__).parent / ".work"


# This workplace sets PYTHONDONTWRITEBYTECODE=1, which makes every run recompile specgen's modules;
# a user's Python caches bytecode, so the benchmark lets it (the first, warm-up run writes the cache).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "specgen", *args], cwd=cwd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def machine() -> str:
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 2000])
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{'entities':>8} {'fields':>6} {'spec KB':>8} {'first build s':>14} {'rebuild s':>10} {'diff s':>8}")
    for n in args.sizes:
        root = WORK / f"spec_{n}"
        shutil.rmtree(root, ignore_errors=True)
        write_spec(root, n, args.fields)
        size_kb = (root / "spec/schema/entities.yaml").stat().st_size / 1024
        firsts, rebuilds, diffs = [], [], []
        timed(["check"], root)  # warm-up: bytecode cache, file cache
        for _ in range(args.repeat):
            for area in ("generated", "supabase"):  # a first build: no output, no migrations yet
                shutil.rmtree(root / area, ignore_errors=True)
            firsts.append(timed(["build"], root))
            rebuilds.append(timed(["build"], root))
            diffs.append(timed(["diff"], root))
        print(f"{n:>8} {args.fields:>6} {size_kb:>8.0f} {statistics.median(firsts):>14.3f} "
              f"{statistics.median(rebuilds):>10.3f} {statistics.median(diffs):>8.3f}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
