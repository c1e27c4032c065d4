"""`octomem bench` commands."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Benchmarks: LoCoMo retrieval quality and speed at scale.",
                        no_args_is_help=True)
