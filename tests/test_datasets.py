"""Dataset adapters (ingest.released), the read API (kb.datasets) and the CLI commands."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import kb.datasets as kd
from ingest.released import (
    ADAPTERS,
    DEFAULT_METRIC_KEY,
    DIGEST_KEY,
    find_dataset_folders,
    ingest_datasets,
)
from ingest.released.base import parse_count
from kb.cli import cli
from kb.errors import BadInputError, NotFoundError
from kb.records import Dataset, Point
from kb.store import Store
from tests.conftest import FIXTURES

DATASETS = FIXTURES / "datasets"


def ingest(store: Store, *folders: Path) -> dict[str, int]:
    with store.transaction():
        return ingest_datasets(store, list(folders)).ingested


def by_metric(store: Store, name: str, metric: str) -> list[Point]:
    return kd.points(store, name, metric=metric)


@pytest.fixture(scope="module")
def full() -> Iterator[Store]:
    """An in-memory store with every fixture folder ingested (shared: tests only read it)."""
    with Store(":memory:") as store:
        ingest(store, *find_dataset_folders(DATASETS))
        yield store


def copy_fixture(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(DATASETS / name, dst)
    return dst


def edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (1-based data row) of a small CSV fixture."""
    import csv

    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


# -- discovery and registry -------------------------------------------------------------------
def test_every_fixture_folder_has_an_adapter_and_vice_versa() -> None:
    names = {f.name for f in find_dataset_folders(DATASETS)}
    assert names == set(ADAPTERS)


def test_find_dataset_folders_accepts_one_folder_or_none(tmp_path: Path) -> None:
    one = DATASETS / "epoch_chinchilla"
    assert find_dataset_folders(one) == [one]
    assert find_dataset_folders(tmp_path / "missing") == []
    assert find_dataset_folders(tmp_path) == []


def test_default_metric_key_agrees_between_kb_and_ingest() -> None:
    assert kd.DEFAULT_METRIC_KEY == DEFAULT_METRIC_KEY


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapter_gives_valid_points_and_provenance(full: Store, name: str) -> None:
    adapter = ADAPTERS[name]
    ds = kd.get_dataset(full, name)
    assert ds.arxiv_id == adapter.arxiv_id
    assert ds.source_repo
    assert ds.source_repo.startswith("https://github.com/")
    assert ds.license
    assert ds.caveats
    assert ds.source_paths
    pts = kd.points(full, name, metric="*")
    assert len(pts) == ds.n_points > 0
    assert len({p.point_id for p in pts}) == len(pts)
    assert kd.default_metric(full, name) == adapter.default_metric in kd.metrics(full, name)
    for p in pts:
        for size in (p.n_params, p.n_tokens, p.compute_flops):
            assert size is None or (math.isfinite(size) and size > 0)
        assert math.isfinite(p.value)
        assert p.unit
        assert p.source_row >= 1
        assert (p.n_params_kind is None) == (p.n_params is None)
        assert (p.compute_method is None) == (p.compute_flops is None)


# -- per-adapter specifics --------------------------------------------------------------------
def test_epoch_chinchilla_derives_tokens_from_compute(full: Store) -> None:
    pts = kd.points(full, "epoch_chinchilla")
    assert [p.source_row for p in pts] == [1, 2, 3, 4]
    for p in pts:
        assert p.metric == "loss"
        assert p.unit == "nats/token"
        assert p.derived == ["n_tokens"]
        assert p.n_params
        assert p.n_tokens
        assert p.compute_flops
        assert p.n_tokens == pytest.approx(p.compute_flops / (6 * p.n_params))
        assert set(p.extras) == {"x", "y", "color", "hex_color"}


def test_caballero_keeps_examples_out_of_tokens(full: Store) -> None:
    pts = kd.points(full, "caballero2022_bnsl")
    assert [p.extras["split"] for p in pts] == ["fit", "fit", "extrapolate"]
    assert all(p.n_tokens is None and p.extras["train_set_size"] > 0 for p in pts)


def test_misfitting_separates_all_and_final_checkpoints(full: Store) -> None:
    counts = kd.metric_counts(full, "li2025_misfitting")
    assert counts == {"c4_val_loss": 3, "c4_val_loss_final": 2}
    p = by_metric(full, "li2025_misfitting", "c4_val_loss")[0]
    assert p.step == 128
    assert p.n_params_kind == "total"
    assert "N_no_emb" in p.extras


def test_steplaw_dense_is_non_embedding_and_moe_prefixed(full: Store) -> None:
    counts = kd.metric_counts(full, "li2025_steplaw")
    assert counts["smooth_train_loss"] == 3
    assert counts["moe_smooth_train_loss"] == 2
    assert counts["bootstrap_lr_coefN"] == 2
    dense = by_metric(full, "li2025_steplaw", "smooth_train_loss")[0]
    assert dense.n_params_kind == "non_embedding"
    assert dense.step == 66342


def test_porian_kind_follows_param_count(full: Store) -> None:
    pts = by_metric(full, "porian2024_discrepancies", "isoflop_loss")
    assert {p.n_params_kind for p in pts} == {"non_embedding"}
    opt = by_metric(full, "porian2024_discrepancies", "n_opt")
    assert len(opt) == 2
    assert all(p.unit == "parameters" and p.compute_flops for p in opt)


def test_datablations_recomputes_compute_and_splits_code_mix(full: Store) -> None:
    curve = by_metric(full, "muennighoff2023_datablations", "curve_loss")
    assert curve[0].n_params == 2.8e9
    assert curve[0].compute_flops == pytest.approx(6 * 2.8e9 * curve[0].n_tokens)  # type: ignore[operator]
    c4 = by_metric(full, "muennighoff2023_datablations", "code_mix_c4_val_loss")
    code = by_metric(full, "muennighoff2023_datablations", "code_mix_code_val_loss")
    assert (len(c4), len(code)) == (3, 1)


def test_gadre_keeps_loss_bounds_with_their_metric(full: Store) -> None:
    p = by_metric(full, "gadre2024_overtraining", "loss_c4_val")[0]
    assert {"loss_c4_val_lo95", "loss_c4_val_hi95"} <= set(p.extras)
    err = by_metric(full, "gadre2024_overtraining", "err_avg46")[0]
    assert "loss_c4_val_lo95" not in err.extras
    assert err.compute_method


def test_cherti_error_and_compute(full: Store) -> None:
    for p in by_metric(full, "cherti2023_openclip", "zeroshot_error"):
        assert "value" not in p.derived
        assert "compute_flops" in p.derived
        assert p.compute_flops == pytest.approx(6e9 * p.extras["gmacs_total"])
    acc = {p.source_row: p.value for p in by_metric(full, "cherti2023_openclip", "acc1")}
    err = {p.source_row: p.value for p in by_metric(full, "cherti2023_openclip", "zeroshot_error")}
    assert err[1] == pytest.approx(1 - acc[1])
    assert 4 in err
    assert 4 not in acc


def test_ruan_scales_units_and_joins_sizes(full: Store) -> None:
    import csv

    with (DATASETS / "ruan2024_obsscaling" / "base_llm_benchmark_eval.csv").open() as f:
        first = next(csv.DictReader(f))
    mmlu = by_metric(full, "ruan2024_obsscaling", "MMLU")[0]
    assert mmlu.n_params == pytest.approx(float(first["Model Size (B)"]) * 1e9)
    assert mmlu.n_tokens == pytest.approx(float(first["Pretraining Data Size (T)"]) * 1e12)
    assert mmlu.compute_flops == pytest.approx(float(first["FLOPs (1E21)"]) * 1e21)
    assert mmlu.value == pytest.approx(float(first["MMLU"]))
    every = kd.points(full, "ruan2024_obsscaling", metric="*")
    joined = [p for p in every if p.metric.startswith("emergent/")]
    assert joined
    assert joined[0].n_params == mmlu.n_params  # joined from the main table by Model
    assert "n_params" in joined[0].derived
    agent = [p for p in every if p.metric.startswith("agent/")]
    assert agent
    assert all(p.n_params is None for p in agent)


def test_choshen_quirks(full: Store) -> None:
    k2 = by_metric(full, "choshen2024_colpret", "k2/k2 training - lm loss")
    assert k2[0].n_tokens is None
    assert k2[1].n_tokens
    assert "k2 training - lm loss__MIN" in k2[0].extras
    gz = by_metric(full, "choshen2024_colpret", "gzip/train_loss")
    assert len(gz) == 6
    assert sorted({p.extras["log_index"] for p in gz}) == [0, 1, 2]
    mf = by_metric(full, "choshen2024_colpret", "moduleformer/wikitext ppl")
    assert [p.n_tokens for p in mf] == [64e9, 95e9, None]  # 'Pile' = full pass, count unknown
    rows = {p.source_row for p in kd.points(full, "choshen2024_colpret", metric="*")
            if p.source_file == "ibm_moduleformer.csv"}  # fmt: skip
    assert 4 not in rows
    assert 5 in rows
    gpt3 = kd.points(full, "choshen2024_colpret")
    assert gpt3
    assert {p.n_params for p in gpt3} <= {125e6, 175e9}


def test_bhagia_compute_uses_flops_per_token(full: Store) -> None:
    c4 = by_metric(full, "bhagia2024_olmo_ladder", "eval/c4_en-validation/CrossEntropyLoss")
    assert {p.run_key for p in c4} == {"190M-1xC", "190M-2xC", "peteish7_eval_anneal"}
    small = next(p for p in c4 if p.run_key == "190M-1xC")
    assert small.compute_flops == pytest.approx(small.n_tokens * 1903391232)  # type: ignore[operator]
    assert small.step == 200


# -- idempotence ------------------------------------------------------------------------------
def _snapshot(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute("SELECT * FROM points ORDER BY point_id").fetchall()


def test_reingest_skips_unchanged_and_a_forced_reingest_changes_nothing(store: Store) -> None:
    full = store
    ingest(full, *find_dataset_folders(DATASETS))
    before = _snapshot(full)
    with full.transaction():
        report = ingest_datasets(full, find_dataset_folders(DATASETS))
    assert report.ingested == {}
    assert len(report.unchanged) == len(ADAPTERS)
    for name in ADAPTERS:
        full.set_meta(DIGEST_KEY.format(name), "stale")
    assert set(ingest(full, *find_dataset_folders(DATASETS))) == set(ADAPTERS)
    assert _snapshot(full) == before


def test_a_changed_folder_updates_only_what_changed(store: Store, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path, "epoch_chinchilla")
    ingest(store, folder)
    old = {p.source_row: p for p in kd.points(store, "epoch_chinchilla")}
    edit_csv(folder / "svg_extracted_data.csv", 2, "loss", "2.5")
    path = folder / "svg_extracted_data.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))  # drop row 4
    assert ingest(store, folder) == {"epoch_chinchilla": 3}
    new = {p.source_row: p for p in kd.points(store, "epoch_chinchilla")}
    assert sorted(new) == [1, 2, 3]
    assert new[2].value == 2.5
    assert new[2].point_id == old[2].point_id
    assert new[1] == old[1]
    assert new[3] == old[3]
    assert kd.get_dataset(store, "epoch_chinchilla").n_points == 3


# -- bad input --------------------------------------------------------------------------------
def test_missing_column_is_named(store: Store, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path, "epoch_chinchilla")
    path = folder / "svg_extracted_data.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with pytest.raises(BadInputError, match=r"svg_extracted_data\.csv: row 0 .*column 'loss'"):
        ingest(store, folder)


def test_unit_that_does_not_parse_is_named(store: Store, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path, "muennighoff2023_datablations")
    edit_csv(folder / "training_curves_repetition.csv", 2, "num_params", "2.8X")
    with pytest.raises(BadInputError, match=r"repetition\.csv: row 2 \(line 3\), column "
                       r"'num_params': cannot read '2\.8X'"):  # fmt: skip
        ingest(store, folder)


@pytest.mark.parametrize(
    ("folder", "file", "column", "value", "message"),
    [
        ("epoch_chinchilla", "svg_extracted_data.csv", "Model Size", "-5", "is -5;"),
        ("li2025_misfitting", "scaling_results.csv", "D", "0", "is 0;"),
        ("epoch_chinchilla", "svg_extracted_data.csv", "loss", "NaN", "empty or NaN"),
        ("porian2024_discrepancies", "isoflop_points.csv", "n_tokens", "", "empty or NaN"),
        ("gadre2024_overtraining", "models_tidy.csv", "loss_c4_val", "inf", "inf"),
    ],
)
def test_bad_values_name_file_row_and_column(
    store: Store, tmp_path: Path, folder: str, file: str, column: str, value: str, message: str
) -> None:
    path = copy_fixture(tmp_path, folder)
    edit_csv(path / file, 2, column, value)
    with pytest.raises(BadInputError, match=rf"{file}: row 2 \(line 3\), column '{column}'.*"
                       rf"{message}"):  # fmt: skip
        ingest(store, path)


def test_a_bad_folder_leaves_nothing_half_ingested(store: Store, tmp_path: Path) -> None:
    ingest(store, DATASETS / "epoch_chinchilla")
    before = _snapshot(store)
    good = copy_fixture(tmp_path, "caballero2022_bnsl")
    bad = copy_fixture(tmp_path, "epoch_chinchilla")
    edit_csv(bad / "svg_extracted_data.csv", 1, "loss", "")
    with pytest.raises(BadInputError):
        ingest(store, good, bad)
    assert _snapshot(store) == before
    assert store.get(Dataset, "caballero2022_bnsl") is None


def test_unknown_folder_is_rejected(store: Store, tmp_path: Path) -> None:
    (tmp_path / "mystery").mkdir()
    (tmp_path / "mystery" / "MANIFEST.md").write_text("x")
    with pytest.raises(BadInputError, match="no dataset adapter is named 'mystery'"):
        ingest(store, tmp_path / "mystery")


@given(st.floats(0.001, 1e4), st.sampled_from(["", "k", "M", "m", "B", "b", "T"]))
def test_parse_count_reads_suffixed_counts(x: float, suffix: str) -> None:
    scale = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[suffix.lower()]
    assert parse_count(f"{x}{suffix}") == pytest.approx(x * scale)


@settings(max_examples=40)
@given(st.text(max_size=12))
def test_parse_count_never_raises(text: str) -> None:
    value = parse_count(text)
    assert value is None or value >= 0


# -- read API and CLI -------------------------------------------------------------------------
def test_read_api_errors(full: Store) -> None:
    assert [d.name for d in kd.list_datasets(full)] == sorted(ADAPTERS)
    with pytest.raises(NotFoundError, match="no dataset 'nope'"):
        kd.get_dataset(full, "nope")
    with pytest.raises(NotFoundError, match=r"has no metric 'acc'.*loss"):
        kd.points(full, "epoch_chinchilla", metric="acc")
    assert len(kd.points(full, "ruan2024_obsscaling", metric="*", limit=3)) == 3


def test_cli_ingest_list_and_points(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.duckdb")
    runner = CliRunner()
    res = runner.invoke(cli, ["-q", "ingest", str(DATASETS), "--db", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["datasets", "--json", "--db", db])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    epoch = next(r for r in rows if r["name"] == "epoch_chinchilla")
    assert epoch["rows"] == 4
    assert epoch["metrics"] == {"loss": 4}
    assert epoch["paper_title"].startswith("Chinchilla Scaling")
    res = runner.invoke(cli, ["points", "epoch_chinchilla", "--json", "--limit", "2", "--db", db])
    pts = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(pts) == 2
    assert pts[0]["n_tokens"]
    assert pts[0]["derived"] == ["n_tokens"]
    res = runner.invoke(cli, ["points", "epoch_chinchilla", "--metric", "acc", "--db", db])
    assert res.exit_code == 1
    assert "has no metric 'acc'" in res.output


def test_cli_bad_input_aborts_and_keeps_the_old_store(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.duckdb")
    runner = CliRunner()
    assert runner.invoke(cli, ["-q", "ingest", str(DATASETS / "epoch_chinchilla"),
                               "--db", db]).exit_code == 0  # fmt: skip
    bad = copy_fixture(tmp_path, "caballero2022_bnsl")
    edit_csv(bad / "four_digit_addition.csv", 1, "test_cross_entropy", "x")
    res = runner.invoke(cli, ["-q", "ingest", str(bad), "--db", db])
    assert res.exit_code == 1
    assert "four_digit_addition.csv: row 1" in res.output
    res = runner.invoke(cli, ["datasets", "--json", "--db", db])
    assert [json.loads(line)["name"] for line in res.stdout.splitlines()] == ["epoch_chinchilla"]


# -- the real shared folders ------------------------------------------------------------------
def test_real_datasets_ingest_and_reingest_changes_nothing(shared: Path) -> None:
    folders = find_dataset_folders(shared / "datasets")
    assert {f.name for f in folders} == set(ADAPTERS)
    with Store(":memory:") as store:
        counts = ingest(store, *folders)
        assert all(n > 0 for n in counts.values())
        assert set(counts) == set(ADAPTERS)
        pts = kd.points(store, "epoch_chinchilla")
        assert len(pts) == 245
        assert all(p.n_params and p.n_tokens and p.compute_flops for p in pts)
        with store.transaction():
            assert ingest_datasets(store, folders).ingested == {}
        some = ["epoch_chinchilla", "muennighoff2023_datablations", "porian2024_discrepancies"]
        before = store.con.execute(
            "SELECT count(*), sum(hash(point_id, value, extras, n_tokens)) FROM points"
        ).fetchall()
        for name in some:
            store.set_meta(DIGEST_KEY.format(name), "stale")
        assert set(ingest(store, *folders)) == set(some)
        after = store.con.execute(
            "SELECT count(*), sum(hash(point_id, value, extras, n_tokens)) FROM points"
        ).fetchall()
        assert after == before


def test_duckdb_point_ids_equal_stable_id(store: Store) -> None:
    from kb.records import stable_id

    ingest(store, DATASETS / "choshen2024_colpret")
    for p in kd.points(store, "choshen2024_colpret", metric="*"):
        parts = [p.dataset, p.source_file, str(p.source_row), p.metric]
        if p.source_file.endswith(".jsonl"):
            parts.append(str(p.extras["log_index"]))
        assert p.point_id == stable_id(*parts)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_build_frame_accepts_only_positive_sizes_and_finite_values(
    rows: list[tuple[float, float]],
) -> None:
    import numpy as np

    from ingest.released.base import Frame, Metric, Size, build_frame

    sizes = np.array([r[0] for r in rows])
    values = np.array([r[1] for r in rows])

    def build() -> Frame:
        return build_frame(
            "f/x.csv",
            len(rows),
            [(Metric("v", "v", "1", required=True), values)],
            extras=[{} for _ in rows],
            n_params=Size(sizes, "N"),
        )

    if (~np.isfinite(sizes) | (sizes <= 0) | ~np.isfinite(values)).any():
        with pytest.raises(BadInputError, match=r"f/x\.csv: row \d+ \(line \d+\), column"):
            build()
    else:
        frame = build()
        assert len(frame) == len(rows)
        assert (frame.n_params > 0).all()


def test_fit_reads_points_in_the_order_the_app_does(tmp_path: Path) -> None:
    """`kb fit` (fit.dataset_points) and the Refit page (datasets.points) list a dataset's points
    in one order, source file then row, so one seed draws the same bootstrap resamples in both
    (by point_id, the CLI's intervals differed from the app's for the same seed)."""
    from kb.datasets import points
    from kb.fit import dataset_points
    from kb.records import Dataset, Point
    from kb.store import Store

    with Store(tmp_path / "kb.duckdb") as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t", n_points=6)])
        s.upsert(
            Point(point_id=f"{9 - i}", dataset="d", n_params=1e6 * (i + 1), metric="loss",
                  value=3.0 - 0.1 * i, unit="nats", source_file="a.csv", source_row=i + 2)
            for i in range(6)
        )  # fmt: skip
        rows = [p.source_row for p in dataset_points(s, "d")[0]]
        assert rows == [p.source_row for p in points(s, "d")] == [2, 3, 4, 5, 6, 7]
