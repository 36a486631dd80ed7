"""``kb app``: start the Streamlit app over a knowledge base."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kb.cli._common import cli, db_option

# The app package sits beside kb (source checkout and installed wheel alike); kb must not import
# it (app -> kb only), so we locate its entry point by path.
APP_MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"


def _not_blank_address(value: str) -> str:
    """A blank --address is refused: streamlit read it as no address and served on every
    interface, while the CLI said "http://:8501"."""
    if not value.strip():
        raise click.BadParameter(
            "is blank; expected an address to bind: 127.0.0.1 (this machine only, the default) "
            "or 0.0.0.0 (every interface)"
        )
    return value.strip()


@cli.command("app")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8501,
    show_default=True,
    help="Port to serve on.",
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    callback=lambda ctx, param, value: _not_blank_address(value),
    help="Address to bind (localhost by default; 0.0.0.0 for every interface).",
)
@db_option
def app_cmd(db_path: str, port: int, address: str) -> None:
    """Start the web app (search, papers, compare, refit) on localhost.

    The app opens the knowledge base read-only, so `kb ingest` can rebuild it meanwhile; the
    app picks up the new file on the next interaction.

    Example:  kb app --port 8501 --db data/kb.duckdb
    """
    if not APP_MAIN.exists():
        raise click.ClickException(f"{APP_MAIN}: the app is not installed beside kb")
    env = dict(os.environ, KB_DB=str(Path(db_path).resolve()), HF_HUB_OFFLINE="1")
    args = [
        sys.executable, "-m", "streamlit", "run", str(APP_MAIN),
        "--server.headless", "true", "--server.address", address, "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    click.echo(
        f"scaling-kb app on http://{address}:{port}  (knowledge base: {env['KB_DB']})", err=True
    )
    os.execve(sys.executable, args, env)
