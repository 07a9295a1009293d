"""constraints.txt (what the image installs) keeps up with pyproject.toml's dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_constraints_pin_every_runtime_and_build_dependency() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock-constraints"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_the_dockerfile_installs_with_the_constraints_before_the_code() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    constraints = next(i for i, line in enumerate(lines) if "-c constraints.txt" in line)
    first_code = next(i for i, line in enumerate(lines) if line.startswith("COPY bot"))
    assert constraints < first_code
