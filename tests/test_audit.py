"""kb.audit: each registry law refitted on its own metric, setting, x axis and points."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kb.audit import audit, last_points, setting_points
from kb.cli import cli
from kb.datasets import DEFAULT_METRIC_KEY
from kb.errors import BadInputError, FitError
from kb.records import Dataset, FitRecord, Point, ReportedLaw
from kb.registry import validate_entry
from kb.store import Store


def law(law_id: str, form: str, params: dict[str, float], **kw: Any) -> ReportedLaw:
    fields: dict[str, Any] = {
        "law_id": law_id, "arxiv_id": "2403.08540", "title": f"Paper of {law_id}",
        "year": 2024, "name": kw.pop("name", "loss vs model size"), "form": form,
        "formula": "f", "params": params, "dataset": "d", "source": "here", "verified": True,
        "conventions": {"n_counts": "total", "loss_units": "nats/token",
                        **kw.pop("conventions", {})},
    }  # fmt: skip
    fields.update(kw)
    return ReportedLaw(**fields)


def point(i: int, metric: str, value: float, **kw: Any) -> Point:
    fields: dict[str, Any] = {
        "point_id": f"p{i}-{metric}", "dataset": "d", "metric": metric, "value": value,
        "unit": "nats/token", "source_file": "f.csv", "source_row": i, "n_params_kind": "total",
    }  # fmt: skip
    fields.update(kw)
    return Point(**fields)


def two_sets() -> list[Point]:
    """Two training sets with different N exponents (0.1 on 'a', 0.3 on 'b'), two metrics."""
    pts = []
    for i in range(8):
        n = 10 ** (6 + 0.4 * i)
        for train, alpha in (("a", 0.1), ("b", 0.3)):
            extras = {"train_dataset": train, "name": f"{train}-{i}"}
            j = 2 * i + (train == "b")
            noise = 1 + 0.02 * math.sin(7.0 * j)  # a bootstrap of exact data has no spread
            pts.append(point(j, "task_loss", 50 * n**-alpha * noise, n_params=n, extras=extras))
            pts.append(point(j, "c4_loss", 9.0 * n**-0.05, n_params=n, extras=extras))
    return pts


def test_audit_refits_the_metric_and_setting_the_law_names(store: Store) -> None:
    store.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets()])
    store.set_meta(DEFAULT_METRIC_KEY.format("d"), "c4_loss")
    store.upsert([
        law("on_b", "power_law", {"A": 50.0, "alpha": 0.3}, conventions={
            "dataset_metric": "task_loss", "setting": '{"train_dataset": "b"}'}),
    ])  # fmt: skip
    (alpha,) = [r for r in audit(store, "d", n_boot=30) if r.param == "alpha"]
    # Before: the dataset's default metric through both training sets (alpha near 0.05).
    assert alpha.metric == "task_loss"
    assert alpha.refit == pytest.approx(0.3, abs=0.01)
    assert alpha.inside is True


def test_audit_says_why_a_law_metric_is_not_in_the_dataset(store: Store) -> None:
    store.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets()])
    store.upsert([law("avg", "power_law", {"A": 50.0, "alpha": 0.3},
                      conventions={"dataset_metric": "mean of four metrics"})])  # fmt: skip
    rows = audit(store, "d", n_boot=0)
    assert rows
    assert all(r.refit is None for r in rows)
    assert all("does not hold as one metric" in (r.error or "") for r in rows)


def test_setting_points_is_a_subset_match() -> None:
    pts = two_sets()
    got = setting_points(pts, {"train_dataset": "b"})
    assert len(got) == 16
    assert {p.extras["train_dataset"] for p in got} == {"b"}
    assert setting_points(pts, {"train_dataset": "z"}) == []


def test_last_points_keeps_each_runs_final_checkpoint() -> None:
    pts = [
        point(i, "m", 1.0, run_key=f"r{i % 2}", step=i, n_tokens=float(i + 1))
        for i in range(6)
    ] + [point(99, "m", 1.0)]  # fmt: skip
    got = last_points(pts)
    assert [(p.run_key, p.step) for p in got] == [("r0", 4), ("r1", 5), (None, None)]


def _optimum_refit(calls: list[tuple[str, Mapping[str, str] | None]]) -> Any:
    def refit(store: Store, dataset: str, *, law: str, recipe: str, metric: str,
              x: str | None, n_boot: int, seed: int, setting: Mapping[str, str] | None,
              last_per_run: bool) -> FitRecord:  # fmt: skip
        calls.append((metric, setting))
        exponent = {"n_opt": 0.83, "n_tokens_opt": 0.17}[metric]
        return FitRecord(
            fit_id=f"f-{metric}", dataset=dataset, law=law, recipe=recipe, metric=metric,
            params={"k": 1e-8, "exponent": exponent},
            intervals={"k": [5e-9, 5e-8], "exponent": [exponent - 0.02, exponent + 0.02]},
            objective=0.0, n_points=11, n_starts=3, n_converged=3, seed=seed, version="t",
            created_at=dt.datetime(2026, 1, 1),
        )  # fmt: skip

    return refit


def test_audit_of_a_compute_optimal_law_refits_each_optimum_in_its_setting(store: Store) -> None:
    store.upsert([
        Dataset(name="d", path="/x", adapter_version="t"), point(1, "n_opt", 1e8),
        law("porian", "compute_optimal", {"a": 0.8353, "k": 4.2e-8, "b": 0.1634},
            name="compute-optimal model size",
            conventions={"setting": '{"dataset": "rw", "setting": "Reproducing Kaplan et al."}'}),
    ])  # fmt: skip
    calls: list[tuple[str, Mapping[str, str] | None]] = []
    rows = {r.param: r for r in audit(store, "d", n_boot=10, refit=_optimum_refit(calls))}
    setting = {"dataset": "rw", "setting": "Reproducing Kaplan et al."}
    assert calls == [("n_opt", setting), ("n_tokens_opt", setting)]
    # Before: one refit of the default metric, through every setting, and no row matched a or b.
    assert rows["a"].refit == 0.83
    assert rows["a"].inside is True
    assert rows["b"].refit == 0.17
    assert rows["b"].metric == "n_tokens_opt"
    assert rows["k"].refit == 1e-8


def test_registry_refuses_an_unknown_dataset_points_value() -> None:
    entry = law("x", "power_law", {"A": 1.0, "alpha": 0.1},
                conventions={"dataset_points": "final"}).model_dump()  # fmt: skip
    with pytest.raises(BadInputError, match=r"dataset_points.*last_per_run"):
        validate_entry(entry)


def test_cli_audit_table_says_why_a_refit_failed(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    with Store(db) as s:
        s.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets()])
        s.upsert([law("avg", "power_law", {"A": 50.0, "alpha": 0.3},
                      conventions={"dataset_metric": "mean of four metrics"})])  # fmt: skip
    result = CliRunner().invoke(cli, ["audit", "d", "--boot", "0", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "not refitted (reason on stderr)" in result.stdout
    assert "avg (standard, mean of four metrics): not refitted: the law was fitted to" in (
        result.stderr
    )


def test_laws_for_metric_keeps_the_laws_of_that_metric_or_of_none() -> None:
    from kb.registry import laws_for_metric

    task = law(
        "task",
        "chinchilla",
        {"E": 1.0},
        conventions={"dataset_metric": "eval/downstream_bpb/piqa_val_rc_5shot_bpb"},
    )
    plain = law("plain", "chinchilla", {"E": 1.0})  # fmt: skip
    # The Refit page showed every task law's values beside a refit of the C4 loss.
    assert [x.law_id for x in laws_for_metric([task, plain], "c4_loss")] == ["plain"]
    got = laws_for_metric([task, plain], "eval/downstream_bpb/piqa_val_rc_5shot_bpb")
    assert [x.law_id for x in got] == ["task", "plain"]


def _chinchilla_fit(params: dict[str, float]) -> FitRecord:
    return FitRecord(
        fit_id="f", dataset="d", law="chinchilla", recipe="standard", metric="loss",
        params=params, intervals={k: [v * 0.9, v * 1.1] for k, v in params.items()},
        objective=0.0, n_points=10, n_starts=1, n_converged=1, seed=0, version="t",
        created_at=dt.datetime(2026, 1, 1),
    )  # fmt: skip


def test_audit_law_says_the_paper_tied_the_exponents_and_names_missing_parameters() -> None:
    from kb.audit import audit_law

    gadre = law("gadre", "chinchilla", {"E": 1.5, "alpha": 0.2425, "beta": 0.2425, "c": 1.0})
    free = _chinchilla_fit({"E": 1.6, "A": 120.0, "B": 240.0, "alpha": 0.25, "beta": 0.26})
    rows = {r.param: r for r in audit_law(gadre, free, is_paper_recipe=False)}
    # Before: a free refit's alpha, beta, a, b read as a verdict on a tied model, with no word.
    assert rows["alpha"].note == "the paper tied alpha = beta; this refit fits them freely"
    assert rows["c"].refit is None
    assert rows["c"].note == "the refit has no parameter 'c' (it fits E, A, B, alpha, beta)"
    tied = _chinchilla_fit({"E": 1.6, "A": 120.0, "B": 240.0, "alpha": 0.25, "beta": 0.25})
    assert {r.note for r in audit_law(gadre, tied, is_paper_recipe=False)} >= {""}


def test_fit_dataset_selects_each_runs_last_point_and_a_laws_setting(store: Store) -> None:
    """kb audit's refit is kb.fit.fit_dataset with a point selection (it restated it before)."""
    from kb.fit import fit_dataset, fit_points

    # Eight runs of three checkpoints each; a run's earlier checkpoints sit above its last.
    pts = [
        point(i, "task_loss", 50 * 10 ** (-0.08 * (6 + 0.4 * i)) * (1 + 0.1 * (3 - step)),
              n_params=10 ** (6 + 0.4 * i), n_tokens=1e9 * step, run_key=f"r{i}", step=step,
              point_id=f"p{i}-{step}", source_row=10 * i + step, extras={"train_dataset": "a"})
        for i in range(8)
        for step in (1, 2, 3)
    ]  # fmt: skip
    store.upsert([Dataset(name="d", path="/x", adapter_version="t"), *pts])
    got = fit_dataset(store, "d", law="power_law", x="n_params", save=False,
                      selection="last_per_run", setting={"train_dataset": "a"})  # fmt: skip
    last = [p for p in pts if p.step == 3]
    assert got.params == fit_points(last, law="power_law", x="n_params").params
    assert got.n_points == 8
    assert got.options["points"] == "last_per_run"
    assert got.options["setting"] == {"train_dataset": "a"}
    with pytest.raises(FitError, match=r"has the law's setting \{\"train_dataset\": \"z\"\}"):
        fit_dataset(store, "d", law="power_law", x="n_params", save=False,
                    setting={"train_dataset": "z"})  # fmt: skip
    with pytest.raises(BadInputError, match="point selection 'final'"):
        fit_dataset(store, "d", law="power_law", x="n_params", save=False, selection="final")


def test_audit_refits_through_fit_dataset(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.fit

    store.upsert([Dataset(name="d", path="/x", adapter_version="t"), *two_sets(),
                  law("gadre", "power_law", {"A": 50.0, "alpha": 0.3},
                      conventions={"dataset_metric": "task_loss",
                                   "setting": '{"train_dataset": "b"}',
                                   "dataset_x": "n_params"})])  # fmt: skip
    calls: list[dict[str, Any]] = []
    real = kb.fit.fit_dataset

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(kb.fit, "fit_dataset", spy)
    rows = {r.param: r for r in audit(store, "d", n_boot=0)}
    assert rows["alpha"].refit == pytest.approx(0.3, abs=0.01)
    assert calls
    assert calls[0]["setting"] == {"train_dataset": "b"}
    assert calls[0]["selection"] == "all"
    assert calls[0]["save"] is False


def test_audit_of_a_tied_law_by_a_tied_refit_does_not_count_a_and_b_as_tests() -> None:
    """alpha = beta on both sides gives a = b = 0.5 exactly: 'inside' would hold by construction."""
    from kb.audit import audit_law

    gadre = law(
        "gadre", "chinchilla_tied", {"E": 1.5, "A": 110.0, "B": 150.0, "alpha": 0.24, "beta": 0.24},
        derived={"a": 0.5, "b": 0.5},
    )  # fmt: skip
    params = {"E": 1.6, "A": 120.0, "B": 240.0, "alpha": 0.25, "beta": 0.25}
    base = _chinchilla_fit(params)
    refit = base.model_copy(
        update={"law": "chinchilla_tied", "derived": {"a": 0.5, "b": 0.5},
                "intervals": {**base.intervals, "a": [0.5, 0.5], "b": [0.5, 0.5]}}
    )  # fmt: skip
    rows = {r.param: r for r in audit_law(gadre, refit, is_paper_recipe=False)}
    for name in ("a", "b"):
        assert rows[name].inside is None
        assert "not a test" in rows[name].note
    assert rows["alpha"].inside is True
    assert rows["alpha"].note == ""
