"""``python -m kb`` runs the ``kb`` command."""

from kb.cli import cli

cli()
