"""Benchmark: Epoch's Chinchilla refit (4,500-start grid, 4,000 bootstrap refits) on Epoch's data.

Run:  PYTHONPATH=. python benchmarks/bench_fit.py [--boot 4000] [--check-full]

Prints wall and CPU time of the full procedure (after a warm-up that loads numba's compiled
kernel from its on-disk cache), the machine's load average (other processes slow wall time), the
fitted parameters against Besiroglu et al.'s published refit (arXiv:2404.10102, Table 1), and
the bootstrap intervals and standard errors. ``--check-full`` also runs scipy's L-BFGS-B from
every one of the 4,500 starts (slow) and compares its best optimum with ours.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

import kb.fit as fitmod
from kb.laws import FORMS
from kb.recipes import RECIPES

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared"))
PUBLISHED = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
PUBLISHED_SE = {"E": 0.03, "A": 124.58, "B": 1293.23, "alpha": 0.02, "beta": 0.02}


def read_epoch() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """N, D = C/(6N) and loss from the epoch_chinchilla CSV (see its MANIFEST.md)."""
    path = SHARED / "datasets" / "epoch_chinchilla" / "svg_extracted_data.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    return {"n_params": N, "n_tokens": C / (6 * N)}, np.array([float(r["loss"]) for r in rows])


def check_full(X: dict[str, np.ndarray], y: np.ndarray, ours: fitmod.FitResult) -> None:
    """scipy L-BFGS-B (analytic gradient) from every start of the grid; compare the best."""
    form, rec = FORMS["chinchilla"], RECIPES["epoch"]
    keep = np.sort(np.argsort(y)[:-5])
    logX = {k: np.log(v[keep]) for k, v in X.items()}
    target, w = np.log(y[keep]), np.ones(keep.size)
    grid = form.grid(logX, target, rec.grids["chinchilla"])

    def one(th: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            f, g = fitmod.objective_and_grad(form, th[None, :], logX, target, w, rec)
        return float(f[0]), g[0]

    t0 = time.perf_counter()
    best, n_ok = None, 0
    for start in grid:
        out = minimize(one, start, jac=True, method="L-BFGS-B")
        n_ok += bool(out.success)
        if out.success and np.isfinite(out.fun) and (best is None or out.fun < best.fun):
            best = out
    secs = time.perf_counter() - t0
    assert best is not None
    print(f"\nscipy from all {len(grid)} starts: {secs:.1f} s, {n_ok} converged")
    print(
        f"  best objective {best.fun:.12g}  ours {ours.objective:.12g}  "
        f"difference {best.fun - ours.objective:.2e}"
    )
    for name, value in form.published(best.x).items():
        print(f"  {name:6s} full grid {value:12.6g}   ours {ours.params[name]:12.6g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boot", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-full", action="store_true")
    args = parser.parse_args()
    X, y = read_epoch()
    t0 = time.perf_counter()
    fitmod.fit_arrays(X, y[:], law="chinchilla", recipe="epoch", n_boot=8)
    print(f"warm-up (imports, numba kernel load/compile): {time.perf_counter() - t0:.2f} s")
    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}")
    timings = {}
    for n_boot in (0, args.boot):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fitmod.fit_arrays(X, y, law="chinchilla", recipe="epoch", n_boot=n_boot,
                                seed=args.seed)  # fmt: skip
        timings[n_boot] = (time.perf_counter() - t0, time.process_time() - c0)
        print(
            f"grid of {res.n_starts} starts + {n_boot} bootstrap refits: "
            f"wall {timings[n_boot][0]:.2f} s, CPU {timings[n_boot][1]:.2f} s "
            f"({res.n_converged} starts converged)"
        )
    print(f"load average after: {os.getloadavg()}")
    print(
        f"\n{'param':8s}{'ours':>12s}{'Epoch':>12s}{'rel.diff':>10s}   95% interval (ours)"
        f"{'boot s.e.':>14s}{'Epoch s.e.':>12s}"
    )
    assert res.boot_params is not None
    pub = FORMS["chinchilla"].to_published(res.boot_params)
    for i, (name, value) in enumerate(res.params.items()):
        lo, hi = res.intervals.get(name, [float("nan")] * 2)
        print(
            f"{name:8s}{value:12.5g}{PUBLISHED[name]:12.5g}{value / PUBLISHED[name] - 1:10.2%}"
            f"   [{lo:.5g}, {hi:.5g}]{np.std(pub[:, i]):14.4g}{PUBLISHED_SE[name]:12.4g}"
        )
    print("\nderived:")
    for name, value in res.derived.items():
        lo, hi = res.intervals.get(name, [float("nan")] * 2)
        print(f"  {name:28s}{value:14.5g}   [{lo:.5g}, {hi:.5g}]")
    if args.check_full:
        check_full(X, y, res)


if __name__ == "__main__":
    main()
