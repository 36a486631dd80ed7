"""``kb compare``, ``kb audit`` and ``kb scoreboard``: laws on one axis, audits, extrapolation."""

from __future__ import annotations

from typing import Any

import click

from kb.cli._common import (
    cli,
    db_option,
    emit_json,
    emit_table,
    json_option,
    reading,
)
from kb.compare import compare, disagreements
from kb.derive import QUANTITIES


def _compare_json(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = row.model_dump(mode="json")
    return data


@cli.command("compare")
@click.option(
    "--quantity",
    type=click.Choice(QUANTITIES),
    default=None,
    help="Only this quantity (default: all). a, b: N_opt ∝ C^a, D_opt ∝ C^b.",
)
@click.option("--reference", default=None, help="law_id or fit_id to judge the others against.")
@click.option("--disagreements", "only_disagreements", is_flag=True,
              help="Only pairs of comparable rows whose intervals do not overlap.")  # fmt: skip
@db_option
@json_option
def compare_cmd(
    db_path: str,
    as_json: bool,
    quantity: str | None,
    reference: str | None,
    only_disagreements: bool,
) -> None:
    """Put every reported law and stored fit on one axis per quantity, with verdicts and notes.

    Example:  kb compare --quantity a --json
    """
    with reading(db_path) as store:
        rows = compare(store, quantity=quantity, reference=reference)
    if only_disagreements:
        found = disagreements(rows)
        if as_json:
            emit_json(found)
        else:
            table = [d.model_dump() for d in found]
            emit_table(table, ["quantity", "left", "left_interval", "right", "right_interval",
                               "gap", "verdict"])  # fmt: skip
        return
    if as_json:
        emit_json(_compare_json(r) for r in rows)
    else:
        table = [{**r.model_dump(), "who": r.arxiv_id or r.dataset} for r in rows]
        emit_table(table, ["quantity", "source_id", "who", "value", "interval", "verdict",
                           "notes"], {"notes": 70})  # fmt: skip
