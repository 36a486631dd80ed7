"""First-render time of each app page, warm, and an in-app Chinchilla refit.

Usage: KB_DB=data/kb.duckdb python benchmarks/bench_app.py [--boot 1000]

Builds nothing: point KB_DB at a knowledge base built by `make build` (seeds, datasets, index).
Each page is rendered once to warm the caches (model, index, store), then timed over 5 renders
with Streamlit's AppTest (the same script run a browser session triggers, without the network).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
PAGES = {
    "home": ("views/home.py", {}),
    "search": ("views/search.py", {"q": "compute-optimal tokens per parameter"}),
    "paper": ("views/paper.py", {}),
    "compare": ("views/compare.py", {"quantity": "a"}),
    "refit": ("views/refit.py", {"dataset": "epoch_chinchilla", "law": "chinchilla"}),
}


def render(page: str, query: dict[str, str]) -> tuple[float, AppTest]:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    start = time.perf_counter()
    at.switch_page(page).run()
    elapsed = time.perf_counter() - start
    if at.exception:
        sys.exit(f"{page}: {at.exception[0].value}")
    return elapsed, at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap refits for the refit")
    args = parser.parse_args()
    if not Path(os.environ.get("KB_DB", "data/kb.duckdb")).exists():
        sys.exit("KB_DB does not exist: run `make build` first")
    print("page      first(s)  warm p50(s)  warm max(s)")
    for name, (page, query) in PAGES.items():
        first, _ = render(page, query)
        warm = [render(page, query)[0] for _ in range(5)]
        print(f"{name:<9} {first:8.2f}  {statistics.median(warm):11.2f}  {max(warm):11.2f}")
    for label in ("first in this process (loads the compiled kernels)", "warm"):
        _, at = render(*PAGES["refit"])
        at.number_input(key="refit_boot").set_value(args.boot)
        at.button(key="refit_go").click()
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        if at.exception:
            sys.exit(f"refit: {at.exception[0].value}")
        print(f"refit epoch_chinchilla chinchilla, {args.boot} bootstrap refits, {label}: "
              f"{elapsed:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
