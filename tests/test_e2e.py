"""One real-browser smoke test: `kb app` on a free port, driven by Debian's Chromium.

Playwright cannot download a browser here, so it drives /usr/bin/chromium. Screenshots of each
page are kept in test-artifacts/ (not committed); on failure the server's output is attached.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seed_app_store

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.e2e
QUICK_CLICK_MS = 200  # a person's quickest move from a dropdown option to a button


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running `kb app` process and where its output goes."""

    def __init__(self, db: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [sys.executable, "-m", "kb", "app", "--port", str(self.port), "--db", str(db)]
        env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kb app exited early:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"kb app did not answer within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def _settle(page: object, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished running the script and drawing its elements."""
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(500)  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> None:
    _settle(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _fit_and_download(page: object, at: Journey, shot: str) -> dict[str, Any]:
    """Press the Refit page's Fit, screenshot the result as ``shot``, download the fit's JSON."""
    from playwright.sync_api import expect

    at.step = "fit"
    page.get_by_role("button", name="Fit", exact=True).click(timeout=30_000)  # type: ignore[attr-defined]
    expect(page.get_by_text("Fitted parameters")).to_be_visible(timeout=60_000)  # type: ignore[attr-defined]
    _shot(page, shot)
    at.step = "download the fit"
    with page.expect_download(timeout=30_000) as download:  # type: ignore[attr-defined]
        page.get_by_role("button", name="Download fit (JSON)").click()  # type: ignore[attr-defined]
    got: dict[str, Any] = json.loads(Path(download.value.path()).read_text())
    return got


class Journey:
    """Where a browser journey has got to (named in the failure message and screenshot)."""

    step = "start"


@contextlib.contextmanager
def journey(db: Path, tmp_path: Path, page: object) -> Iterator[tuple[Server, Journey]]:
    """Serve the app on ``db``; on a failure, screenshot the page and raise with the step
    reached and the server's output; always stop the server."""
    server = Server(db, tmp_path / "server.log")
    at = Journey()
    try:
        server.wait()
        yield server, at
    except Exception as err:
        _shot(page, f"failure-{at.step}")
        raise AssertionError(
            f"at {at.step}: {err}\n--- server output ---\n{server.output()}"
        ) from err
    finally:
        server.stop()


def test_paper_page_in_a_real_browser(tmp_path: Path, browser_page: object) -> None:
    from playwright.sync_api import expect

    from kb.records import paper_id_for

    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "paper"
        pid = paper_id_for("Invented Scaling Laws for Testing")
        page.goto(f"{server.url}/paper?id={pid}")  # type: ignore[attr-defined]
        heading = page.get_by_role("heading", name="Invented Scaling Laws for Testing")  # type: ignore[attr-defined]
        expect(heading).to_be_visible(timeout=30_000)
        # below "Related papers", which waits for the embedding model (slow on a busy machine)
        expect(page.get_by_text("Listing appearances")).to_be_visible(timeout=60_000)  # type: ignore[attr-defined]
        _shot(page, "paper")


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Path:
    """A real knowledge base: the seed listings and the Chinchilla data, indexed.

    While iterating, ``KB_E2E_DB=path`` reuses a knowledge base built by `make build`.
    """
    if os.environ.get("KB_E2E_DB"):
        return Path(os.environ["KB_E2E_DB"])
    db = tmp_path_factory.mktemp("e2e") / "kb.duckdb"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    for args in (
        ["ingest", str(shared / "seeds"), str(shared / "datasets" / "epoch_chinchilla")],
        ["index"],
    ):
        subprocess.run(
            [sys.executable, "-m", "kb", "-q", *args, "--db", str(db)],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    return db


def test_search_open_paper_and_refit(tmp_path: Path, built_db: Path, browser_page: object) -> None:
    """The main journey: search, open the paper, refit the Chinchilla data, compare."""
    from playwright.sync_api import expect

    page = browser_page
    with journey(built_db, tmp_path, page) as (server, at):
        at.step = "search"
        page.goto(f"{server.url}/search?q=inverse+scaling")  # type: ignore[attr-defined]
        link = page.get_by_role("link", name="Inverse Scaling: When Bigger Isn't Better")  # type: ignore[attr-defined]
        expect(link.first).to_be_visible(timeout=60_000)
        _shot(page, "search")
        at.step = "paper"
        link.first.click()
        heading = page.get_by_role("heading", name="Inverse Scaling: When Bigger Isn't Better")  # type: ignore[attr-defined]
        expect(heading).to_be_visible(timeout=30_000)
        assert "/paper?id=" in page.url  # type: ignore[attr-defined]
        _shot(page, "paper-real")
        at.step = "refit"
        page.goto(f"{server.url}/refit?dataset=epoch_chinchilla&law=chinchilla")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Fit").click(timeout=30_000)  # type: ignore[attr-defined]
        expect(page.get_by_text("Fitted parameters")).to_be_visible(timeout=60_000)  # type: ignore[attr-defined]
        _shot(page, "refit")
        at.step = "compare"
        page.goto(f"{server.url}/compare?quantity=a")  # type: ignore[attr-defined]
        expect(
            page.get_by_text("Compare exponents and tokens per parameter across papers")
        ).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        _shot(page, "compare")


def test_back_button_and_related_link(tmp_path: Path, browser_page: object) -> None:
    """Back from a hit's paper returns to the query's results; a related paper's link opens it.

    Both broke only in a real browser: arriving from Search, the paper page rewrote its id
    before the browser had moved, leaving a /search?id=... entry that Back landed on (with an
    empty query box); the related link kept the first paper's keyed picker.
    """
    from playwright.sync_api import expect

    from kb.index import build_index
    from kb.store import Store

    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    with Store(db) as store:
        build_index(store, db)
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "search"
        page.goto(f"{server.url}/search?q=power+law+in+model+size")  # type: ignore[attr-defined]
        link = page.get_by_role("link", name="1. Invented Scaling Laws for Testing")  # type: ignore[attr-defined]
        expect(link).to_be_visible(timeout=60_000)
        at.step = "paper"
        link.click()
        heading = page.get_by_role("heading", name="Invented Scaling Laws for Testing")  # type: ignore[attr-defined]
        expect(heading).to_be_visible(timeout=30_000)
        at.step = "related"
        related = page.get_by_role("link", name="An Unrelated Method Paper", exact=False)  # type: ignore[attr-defined]
        related.click(timeout=30_000)
        other = page.get_by_role("heading", name="An Unrelated Method Paper")  # type: ignore[attr-defined]
        expect(other).to_be_visible(timeout=30_000)
        _shot(page, "related")
        at.step = "back to the first paper"
        page.go_back()  # type: ignore[attr-defined]
        expect(heading).to_be_visible(timeout=30_000)
        at.step = "back to search"
        page.go_back()  # type: ignore[attr-defined]
        expect(link).to_be_visible(timeout=30_000)
        assert "/search?q=power+law+in+model+size" in page.url  # type: ignore[attr-defined]
        expect(page.get_by_label("Query")).to_have_value("power law in model size")  # type: ignore[attr-defined]
        _shot(page, "back-to-search")


def test_refit_upload_another_file_drops_the_old_fit(tmp_path: Path, browser_page: object) -> None:
    """A fit belongs to the file it was made on: uploading another file with as many rows must
    not show the first file's fit over the second file's points (the fit was keyed on the row
    count only). File uploads cannot be driven from AppTest, hence a browser."""
    from playwright.sync_api import expect

    def write(name: str, shift: float) -> Path:
        rows = [f"{n:.4g},{shift + 2.0 + 40.0 * n**-0.3:.5g}" for n in (1e6, 3e6, 1e7, 3e7, 1e8)]
        path = tmp_path / name
        path.write_text("n_params,value\n" + "\n".join(rows) + "\n")
        return path

    first, second = write("first.csv", 0.0), write("second.csv", 1.0)
    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "fit the first file"
        page.goto(f"{server.url}/refit?source=upload&law=power_law")  # type: ignore[attr-defined]
        files = page.locator("[data-testid='stFileUploader'] input[type=file]")  # type: ignore[attr-defined]
        files.set_input_files(str(first), timeout=30_000)
        page.get_by_label("x (single-input forms)").click(timeout=30_000)  # type: ignore[attr-defined]
        page.get_by_role("option", name="n_params").click()  # type: ignore[attr-defined]
        _settle(page)
        page.get_by_role("button", name="Fit", exact=True).click(timeout=30_000)  # type: ignore[attr-defined]
        expect(page.get_by_text("Fitted parameters")).to_be_visible(timeout=60_000)  # type: ignore[attr-defined]
        at.step = "upload the second file"
        files.set_input_files(str(second))
        expect(page.get_by_text("second.csv")).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        _settle(page)
        expect(page.get_by_text("then press Fit")).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        expect(page.get_by_text("Fitted parameters")).to_have_count(0)  # type: ignore[attr-defined]
        _shot(page, "refit-upload-new-file")


def test_refit_switching_to_an_upload_keeps_the_options(
    tmp_path: Path, browser_page: object
) -> None:
    """Switching Data to "Upload a CSV" stops the page before the law box and the options until
    a file comes, and Streamlit dropped the values of controls a run does not draw: after the
    upload the browser showed law power_law, Huber delta 1e-05 and 0 bootstrap refits (each
    box's first option or minimum) while the page read chinchilla from the URL, and Fit sent
    the browser's values. AppTest keeps those values and cannot see it, hence a browser."""
    from playwright.sync_api import expect

    from kb.recipes import RECIPES
    from tests.test_app_refit import _seed_points

    csv = tmp_path / "runs.csv"
    rows = [f"{n:.4g},{d:.4g},{2.0 + 400 * n**-0.34 + 900 * d**-0.28:.6g}"
            for n in (1e7, 3e7, 1e8, 3e8) for d in (1e9, 3e9, 1e10)]  # fmt: skip
    csv.write_text("n_params,n_tokens,value\n" + "\n".join(rows) + "\n")
    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    _seed_points(db)
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "open Refit on a dataset"
        page.goto(f"{server.url}/refit")  # type: ignore[attr-defined]
        expect(page.get_by_label("Bootstrap refits")).to_have_value("200", timeout=30_000)  # type: ignore[attr-defined]
        _settle(page)
        at.step = "switch to an upload"
        page.get_by_text("Upload a CSV").click()  # type: ignore[attr-defined]
        files = page.locator("[data-testid='stFileUploader'] input[type=file]")  # type: ignore[attr-defined]
        files.set_input_files(str(csv), timeout=30_000)
        expect(page.get_by_text("then press Fit")).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        _settle(page)
        expect(page.get_by_label("Law form")).to_have_value("chinchilla")  # type: ignore[attr-defined]
        expect(page.get_by_label("Bootstrap refits")).to_have_value("200")  # type: ignore[attr-defined]
        delta = float(page.get_by_label("Huber δ").input_value())  # type: ignore[attr-defined]
        assert delta == pytest.approx(RECIPES["standard"].delta)
        _shot(page, "refit-switch-to-upload")


def test_a_refit_link_with_options_reproduces_the_fit(tmp_path: Path, browser_page: object) -> None:
    """A shared Refit link carries the fitting options (recipe, delta, drops, bootstrap refits,
    seed, held-out split, N filter): opened in a browser and fitted, it gives the figures the
    library gives for those options. Before, only dataset/law/recipe/x/setting were kept and
    the link refitted with the default options."""

    from playwright.sync_api import expect

    from kb.datasets import points
    from kb.fit import Holdout, fit_points
    from kb.recipes import RECIPES
    from kb.store import Store
    from tests.test_app_refit import _seed_points

    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    _seed_points(db)
    options = {"recipe": "hoffmann", "delta": "0.01", "drop": "2", "boot": "30", "seed": "7",
               "holdout_axis": "n_params", "holdout": "0.25", "min_n": "100000000.0"}  # fmt: skip
    link = "dataset=toy&metric=loss&law=chinchilla&" + "&".join(
        f"{k}={v}" for k, v in options.items()
    )
    with Store(db, read_only=True) as store:
        pts = [p for p in points(store, "toy", metric="loss") if (p.n_params or 0) >= 1e8]
    recipe = RECIPES["hoffmann"].model_copy(update={"delta": 0.01, "drop_highest": 2})
    expected = fit_points(
        pts, law="chinchilla", recipe=recipe, x="compute_flops", n_boot=30, seed=7,
        holdout=Holdout("n_params", 0.25),
    ).to_json()  # fmt: skip
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "open the link"
        page.goto(f"{server.url}/refit?{link}")  # type: ignore[attr-defined]
        expect(page.get_by_label("Seed")).to_have_value("7", timeout=30_000)  # type: ignore[attr-defined]
        expect(page.get_by_label("Bootstrap refits")).to_have_value("30")  # type: ignore[attr-defined]
        _settle(page)
        assert f"?{link}" in page.url, page.url  # type: ignore[attr-defined]
        got = _fit_and_download(page, at, "refit-link-options")
    assert got["n_points"] == expected["n_points"]
    assert got["options"] == expected["options"]  # delta, the 2 drops, the held-out split
    assert (got["recipe"], got["seed"], got["n_boot"]) == ("hoffmann", 7, 30)
    assert got["params"] == pytest.approx(expected["params"], rel=1e-9)
    assert got["intervals"] == expected["intervals"] or all(
        got["intervals"][k] == pytest.approx(v, rel=1e-9) for k, v in expected["intervals"].items()
    )
    assert got["holdout"]["mean_rel_error"] == pytest.approx(
        expected["holdout"]["mean_rel_error"], rel=1e-9
    )


def test_compare_csv_is_the_chosen_quantity_s_at_once(
    tmp_path: Path, built_db: Path, browser_page: object
) -> None:
    """Download CSV clicked right after choosing another quantity gives that quantity's CSV.

    Before, the button was drawn below the chart and stayed on the page with the previous
    quantity's CSV for the ~0.5 s a run took to reach it: choosing alpha and clicking at once
    downloaded compare_a.csv (3 of 4 quick clicks on the seed store). A click within
    milliseconds of the choice can still beat the new run's first elements to the browser
    (seen once with the whole test suite loading both cores); no page code can close that.
    """
    page = browser_page
    with journey(built_db, tmp_path, page) as (server, at):
        for quantity in ("alpha", "beta", "loss_compute"):
            at.step = f"compare {quantity}"
            page.goto(f"{server.url}/compare?quantity=a")  # type: ignore[attr-defined]
            button = page.get_by_role("button", name="Download CSV")  # type: ignore[attr-defined]
            button.wait_for(timeout=60_000)
            _settle(page)
            page.locator('[data-testid="stSelectbox"]').first.click()  # type: ignore[attr-defined]
            page.get_by_role("option", name=f"{quantity}:").first.click()  # type: ignore[attr-defined]
            # A quick human click: the run's first elements (the emptied slot) take tens of ms
            # to arrive, the old button at the page's foot stayed for the whole run.
            page.wait_for_timeout(QUICK_CLICK_MS)  # type: ignore[attr-defined]
            with page.expect_download(timeout=30_000) as download:  # type: ignore[attr-defined]
                button.click()
            assert download.value.suggested_filename == f"compare_{quantity}.csv"


def test_refit_link_picks_a_group_of_an_uploaded_file(tmp_path: Path, browser_page: object) -> None:
    """A link with `where=` opened on an upload: once the file comes, *Only points with* shows
    the link's group and Fit fits it, as `kb fit --data FILE --where` does. Before, an upload
    had no such box (the link's group was dropped and both training sets pooled)."""

    from playwright.sync_api import expect

    from kb.fit import fit_upload
    from kb.uploads import parse_upload
    from tests.test_app_refit import _grouped_csv

    csv = tmp_path / "runs.csv"
    csv.write_bytes(_grouped_csv())
    expected = fit_upload(
        parse_upload(csv.read_bytes(), name="runs.csv"), name="runs.csv", law="power_law",
        x="n_params", where={"train_set": "b"},
    ).to_json()  # fmt: skip
    db = tmp_path / "kb.duckdb"
    seed_app_store(db)
    page = browser_page
    with journey(db, tmp_path, page) as (server, at):
        at.step = "open the link and upload"
        link = "source=upload&law=power_law&x=n_params&boot=0&where=train_set+%3D+b"
        page.goto(f"{server.url}/refit?{link}")  # type: ignore[attr-defined]
        files = page.locator("[data-testid='stFileUploader'] input[type=file]")  # type: ignore[attr-defined]
        files.set_input_files(str(csv), timeout=30_000)
        expect(page.get_by_text("then press Fit")).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
        _settle(page)
        expect(page.get_by_label("Only points with")).to_have_value("train_set = b")  # type: ignore[attr-defined]
        expect(page.get_by_text("8 points of loss from upload, train_set = b")).to_be_visible()  # type: ignore[attr-defined]
        assert "where=train_set+%3D+b" in page.url, page.url  # type: ignore[attr-defined]
        got = _fit_and_download(page, at, "refit-upload-where")
    assert got["where"] == {"train_set": "b"}
    assert got["n_points"] == expected["n_points"] == 8
    assert got["params"] == pytest.approx(expected["params"], rel=1e-9)
