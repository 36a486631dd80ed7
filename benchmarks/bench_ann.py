"""Approximate search at scale: IVF and HNSW over synthetic 384-d vectors against exact search.

Vectors are L2-normalised Gaussian draws whose covariance spectrum and mean norm are those of
real sentence embeddings (the cached vectors of a kb store, ``--like``; bench_search.py makes
one; without it the spectrum stored in ``data/embedding_spectrum.npz`` is used), since
embeddings are far from uniform on the sphere; ``--isotropic`` gives uniform directions, the
worst case for any index. Queries are fresh draws from the same distribution. Prints the exact
(IndexFlatIP) p95 latency at several sizes, which is what sets ``kb.index.APPROX_MIN_ROWS``, then
for the full size: build time, resident memory added, p95 query latency (one query per call, as
the search service does; wall and CPU time) and recall@10 against exact search, for the index
kb chooses (``--auto``), IVF variants (``--ivf NLIST --ivf-codec sq8 --refine 4 --nprobe ...``)
and HNSW per efSearch (unless ``--skip-hnsw``).

    PYTHONPATH=. python benchmarks/bench_ann.py --n 1000000 --auto --skip-hnsw
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.index import HNSW_EF_CONSTRUCTION, HNSW_M, index_kind, make_faiss_index

DIM = 384


SPECTRUM = Path(__file__).resolve().parent.parent / "data" / "embedding_spectrum.npz"


def spectrum_of(db: Path) -> tuple[np.ndarray, float]:
    """Eigenvalues of the covariance of a store's cached embeddings, and their mean's norm.

    Without the store, the spectrum stored in ``data/embedding_spectrum.npz`` (computed the same
    way from the seed corpus's 5k+ cached sentence embeddings) is used, so the script runs alone.
    """
    import duckdb

    if not db.exists():
        stored = np.load(SPECTRUM)
        print(f"{db} not found; using the stored spectrum {SPECTRUM.name}")
        return stored["eigenvalues"], float(stored["mean_norm"])

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT vector FROM embeddings").fetchall()
    if len(rows) < DIM:
        raise SystemExit(f"{db}: only {len(rows)} cached embeddings; run bench_search.py first")
    vectors = np.array([r[0] for r in rows], dtype=np.float64)
    mean = vectors.mean(axis=0)
    eigen = np.sort(np.linalg.eigvalsh(np.cov((vectors - mean).T)))[::-1]
    return np.clip(eigen, 1e-8, None), float(np.linalg.norm(mean))


def synthetic(
    n: int, rng: np.random.Generator, eigen: np.ndarray | None, mean_norm: float
) -> np.ndarray:
    """``n`` unit vectors: Gaussian with the given covariance spectrum and mean (or isotropic)."""
    out = np.empty((n, DIM), dtype=np.float32)
    scale = np.sqrt(eigen).astype(np.float32) if eigen is not None else np.float32(DIM**-0.5)
    mean = np.zeros(DIM, dtype=np.float32)
    mean[0] = mean_norm  # the distribution is rotation-free up to this one direction
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        block = rng.standard_normal((m, DIM), dtype=np.float32) * scale + mean
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    """Resident memory of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


CPU_P95: list[float] = []  # CPU-time p95 of the last p95_ms call (wall > CPU: a busy machine)


def p95_ms(index: faiss.Index, queries: np.ndarray, k: int = 10) -> tuple[float, np.ndarray]:
    """p95 wall time of one-query searches, and the ids found."""
    times, cpu, found = [], [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        _, ids = index.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        found.append(ids[0])
    times.sort()
    cpu.sort()
    CPU_P95[:] = [cpu[int(len(cpu) * 0.95)]]
    return times[int(len(times) * 0.95)], np.array(found)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k found."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def ivf_section(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace
) -> None:
    """IVF (inner product), trained on sampled vectors: build, memory, p95, recall.

    ``--ivf-codec flat`` stores full vectors; ``sq8`` stores 8-bit scalar-quantised codes (a
    quarter of the bytes to scan) and, with ``--refine R``, re-ranks the top ``10*R``
    candidates exactly (faiss.IndexRefineFlat, which keeps the full vectors too).
    """
    faiss.omp_set_num_threads(2)
    before = rss_mb()
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    if args.ivf_codec == "sq8":
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, DIM, args.ivf, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    else:
        ivf = faiss.IndexIVFFlat(quantizer, DIM, args.ivf, faiss.METRIC_INNER_PRODUCT)
    train = min(len(data), args.train or max(100_000, 40 * args.ivf))
    sample = np.random.default_rng(2).choice(len(data), train, replace=False)
    ivf.train(data[sample])
    index = ivf
    if args.refine:
        index = faiss.IndexRefineFlat(ivf)
        index.k_factor = args.refine
    index.add(data)
    build = time.perf_counter() - t0
    name = f"IVF-{args.ivf_codec} nlist={args.ivf}" + (
        f" + refine x{args.refine}" * bool(args.refine)
    )
    print(f"{name}: build {build:.0f} s (trained on {train}), memory +{rss_mb() - before:.0f} MB")
    faiss.omp_set_num_threads(args.threads)
    for nprobe in (int(p) for p in args.nprobe.split(",")):
        ivf.nprobe = nprobe
        lat, found = p95_ms(index, queries)
        print(f"  nprobe={nprobe:4d}: p95 {lat:.2f} ms/query (CPU {CPU_P95[0]:.2f} ms), "
              f"recall@10 {recall(found, truth):.3f}")  # fmt: skip


def auto_section(data: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> None:
    """The index kb.index.make_faiss_index chooses for this size, with its own settings."""
    faiss.omp_set_num_threads(2)
    before = rss_mb()
    t0 = time.perf_counter()
    index = make_faiss_index(data)
    build = time.perf_counter() - t0
    kind = index_kind(index)
    detail = ""
    if kind == "ivf":
        base = faiss.downcast_index(index.base_index)
        detail = f" nlist={base.nlist} nprobe={base.nprobe} refine x{index.k_factor}"
    print(f"make_faiss_index: {kind}{detail}: build {build:.0f} s, "
          f"memory +{rss_mb() - before:.0f} MB")  # fmt: skip
    faiss.omp_set_num_threads(1)
    lat, found = p95_ms(index, queries)
    print(f"  p95 {lat:.2f} ms/query (CPU {CPU_P95[0]:.2f} ms), "
          f"recall@10 {recall(found, truth):.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument(
        "--like",
        type=Path,
        default=Path("/tmp/kb_bench_search.duckdb"),
        help="a kb store whose cached embeddings give the covariance spectrum",
    )
    parser.add_argument(
        "--isotropic",
        action="store_true",
        help="uniform directions instead (the worst case for graph indexes)",
    )
    parser.add_argument("--threads", type=int, default=1, help="FAISS threads per query")
    parser.add_argument("--ivf", type=int, default=0, help="also IVF-Flat with this many lists")
    parser.add_argument("--nprobe", type=str, default="32,64,128,256")
    parser.add_argument("--ivf-codec", choices=("flat", "sq8"), default="flat")
    parser.add_argument("--train", type=int, default=0, help="k-means sample (0: 40 per list)")
    parser.add_argument("--refine", type=int, default=0, help="re-rank k*R candidates exactly")
    parser.add_argument("--skip-exact-sizes", action="store_true", help="no exact-size sweep")
    parser.add_argument("--auto", action="store_true", help="the index kb chooses for --n")
    parser.add_argument("--skip-hnsw", action="store_true", help="only exact (and --ivf)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", type=str, default="32,64,128,256")
    args = parser.parse_args()
    eigen, mean_norm = (None, 0.0) if args.isotropic else spectrum_of(args.like)
    base = rss_mb()
    data = synthetic(args.n, np.random.default_rng(0), eigen, mean_norm)
    queries = synthetic(args.queries, np.random.default_rng(1), eigen, mean_norm)
    faiss.omp_set_num_threads(args.threads)
    source = args.like.name if args.like.exists() else SPECTRUM.name
    kind = "isotropic" if eigen is None else f"spectrum of {source}, mean {mean_norm:.2f}"
    print(f"data: {args.n} x {DIM} float32 ({data.nbytes / 2**20:.0f} MB), {kind}; "
          f"faiss threads {args.threads}")  # fmt: skip

    for size in sorted({10_000, 100_000, args.n}):
        if size > args.n or args.skip_exact_sizes:
            continue
        flat = make_faiss_index(data[:size], "flat")
        lat, _ = p95_ms(flat, queries[:100])
        print(f"exact IndexFlatIP n={size:>9,}: p95 {lat:.2f} ms/query")
    flat = make_faiss_index(data, "flat")
    faiss.omp_set_num_threads(2)
    t0 = time.perf_counter()
    _, truth = flat.search(queries, 10)
    print(f"exact top-10 of {args.queries} queries (batched): {time.perf_counter() - t0:.1f} s")
    del flat

    if args.auto:
        auto_section(data, queries, truth)
    if args.ivf:
        ivf_section(data, queries, truth, args)
    if args.skip_hnsw:
        return
    before = rss_mb()
    t0 = time.perf_counter()
    hnsw = make_faiss_index(data, "hnsw")
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(args.threads)
    print(f"HNSW M={HNSW_M} efConstruction={HNSW_EF_CONSTRUCTION}: build {build:.0f} s, "
          f"memory +{rss_mb() - before:.0f} MB "
          f"(process {rss_mb() - base:.0f} MB incl. data)")  # fmt: skip
    for ef in (int(e) for e in args.ef.split(",")):
        hnsw.hnsw.efSearch = ef
        lat, found = p95_ms(hnsw, queries)
        print(f"  efSearch={ef:4d}: p95 {lat:.2f} ms/query, recall@10 {recall(found, truth):.3f}")


if __name__ == "__main__":
    main()
