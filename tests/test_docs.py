"""Every command has help text ending in an example, and is documented in README.md."""

from __future__ import annotations

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
