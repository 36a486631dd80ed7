"""Every command has help text ending in an example, and is documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kb.cli import cli

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(cli.commands)


def test_there_are_commands() -> None:
    assert {"papers", "stats"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_has_an_example(name: str) -> None:
    command = cli.commands[name]
    assert command.help, f"kb {name} has no help text"
    assert "Example" in command.help
    assert f"kb {name}" in command.help.split("Example")[-1]
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"kb {name}" in readme, f"README.md does not document `kb {name}`"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name: str) -> None:
    command = cli.commands[name]
    missing = [
        p.name
        for p in command.params
        if isinstance(p, click.Option) and not p.help and p.name not in {"help"}
    ]
    assert missing == [], f"kb {name}: options without help: {missing}"


def _help_texts(name: str) -> list[str]:
    command = cli.commands[name]
    options = [p.help or "" for p in command.params if isinstance(p, click.Option)]
    return [command.help or "", *options]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_no_rst_markup(name: str) -> None:
    # click prints help verbatim: ``kb fit`` shows its double backticks (`kb laws-forms --help`).
    marked = [text for text in _help_texts(name) if "``" in text]
    assert marked == [], f"kb {name}: help text with ``...`` (click prints it literally)"


def test_example_paper_ids_exist(shared: Path) -> None:
    """A `--paper` id in an example names a paper of ../shared/seeds (kb claims, kb exponents)
    or a law of the registry (kb laws): the example must run on the knowledge base `make run`
    builds, where no seed paper has an arXiv id (`kb claims --paper arxiv:2001.08361` failed).
    """
    from ingest.formats import read_papers
    from kb.records import paper_id_for
    from kb.registry import load_registry

    seeds = {
        paper_id_for(e.paper.title, e.paper.arxiv_id)
        for f in sorted((shared / "seeds").glob("*.txt"))
        for e in read_papers(f)
    }
    laws = {f"arxiv:{law.arxiv_id}" for law in load_registry()}
    checked = 0
    for name in COMMANDS:
        example = (cli.commands[name].help or "").split("Example")[-1]
        for paper_id in re.findall(r"--paper\s+(\S+)", example):
            known = laws if name == "laws" else seeds
            assert paper_id in known, f"`kb {name} --help` example: no paper {paper_id}"
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "benchmarks").glob("[a-z]*.py")), ids=str
)
def test_benchmark_parses_its_arguments(script: str) -> None:
    # README's benchmark table is run as printed; `ingest_datasets.py --help` once read
    # `--help` as the datasets folder and printed "total points: 0".
    text = (ROOT / "benchmarks" / script).read_text(encoding="utf-8")
    assert "argparse" in text, f"benchmarks/{script} does not answer --help"


def test_kind_search_round3_weights_fit_its_columns() -> None:
    # `benchmarks/kind_search.py` (README) crashed with a matmul shape error once
    # kb.ranking.FEATURES gained kw_translation: its round-3 weights cover 18 columns.
    from benchmarks.kind_search import OLD, ROUND3

    assert len(OLD) == len(ROUND3) == 18


def test_readme_python_example_names_real_functions() -> None:
    """Every name the README's Python example imports exists, and the example is valid Python
    (it is run by hand against a built store; the names are what drift)."""
    import ast
    import importlib

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks, "the README has a Python example"
    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
