"""Benchmarks: `make bench` runs them all (see benchmarks/run.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED_DATA = ROOT.parent / "shared" / "data"  # the corpora, beside the checkout
CONLL = SHARED_DATA / "conll2003_en"


def report(results: dict, json_path: Path | None, markdown: str | None = None) -> None:
    """Print the results (and their Markdown table), and keep them as JSON when asked."""
    if json_path:
        json_path.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    if markdown:
        print(markdown)
