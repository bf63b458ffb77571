"""The supply-chain checks CI runs (tools/supply_chain.py): an SBOM of exactly the locked
dependencies, no high-severity bandit finding, a known licence for every package, and
pip-audit (which says plainly when it cannot reach its vulnerability service)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import supply_chain  # noqa: E402


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "supply_chain.py"), *argv],
                          capture_output=True, text=True, timeout=600, check=False)


def test_sbom_lists_every_locked_package(tmp_path: Path) -> None:
    out = tmp_path / "sbom.cdx.json"
    result = _run("sbom", str(out))
    assert result.returncode == 0, result.stderr
    bom = json.loads(out.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    listed = {(c["name"].lower().replace("_", "-"), c["version"]) for c in bom["components"]}
    assert set(supply_chain.locked().items()) == listed


def test_bandit_finds_no_high_severity_issue() -> None:
    result = _run("bandit")
    assert result.returncode == 0, result.stdout
    assert "0 high" in result.stdout


def test_every_locked_package_has_a_known_licence() -> None:
    result = _run("licenses")
    assert result.returncode == 0, result.stdout
    assert len(result.stdout.splitlines()) == len(supply_chain.locked(here_only=True))


def test_pip_audit_finds_nothing_or_says_it_could_not_check() -> None:
    result = _run("audit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("no known vulnerability" in result.stdout) or ("NOT CHECKED" in result.stdout)
