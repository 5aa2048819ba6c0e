"""API fuzzing with schemathesis against the service's own OpenAPI schema, on the real server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .server import running_server

pytestmark = pytest.mark.slow


def test_no_5xx_and_no_schema_violations_over_1000_requests(tiny_model: Path, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(cli).exists():
        pytest.skip("schemathesis is not installed")
    # Up to 900 examples per operation: over 1,000 requests in all; short texts keep it quick.
    # max_tokens above what the schema lets through (8 texts of 300 one-character tokens, x (1 + nbest 10)):
    # the token limit, which no JSON schema can state, never turns away a request the schema allows.
    limits = {"max_chars": 300, "max_texts": 8, "max_tokens": 8 * 300 * 11}
    # Nor can it state which labels the model has: a schema-valid dictionary with a label the model
    # lacks gets a 422 that names them, so 422 counts as an answer to schema-valid data too.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "404", "422"]\n')
    with running_server([tiny_model], tmp_path / "server.log", **limits) as url:
        result = subprocess.run(
            [
                cli,
                "--config-file",
                str(config),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "900",
                "--seed",
                "1",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    generated = int(re.search(r"(\d+) generated", output).group(1))
    print(f"schemathesis: {generated} generated requests")
    assert generated >= 1000, output[-2000:]
