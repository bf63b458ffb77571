"""Supply-chain checks of the service's own dependencies (requirements.lock), for CI.

    python tools/supply_chain.py sbom [OUT]   CycloneDX JSON SBOM (default build/sbom.cdx.json)
    python tools/supply_chain.py audit        pip-audit against PyPI's vulnerability data
    python tools/supply_chain.py bandit       bandit on app/: fails on any high-severity finding
    python tools/supply_chain.py licenses     licence of every locked package; fails on unknown
                                              or copyleft-network (AGPL) licences

`audit` fails on a known vulnerability. When the vulnerability service cannot be reached (no
network, or only a package mirror), it says so plainly and exits 0: an offline machine cannot
prove the absence of advisories, and says it could not check rather than failing the build.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from packaging.markers import Marker

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
BIN = Path(sys.executable).parent
_UNREACHABLE = ("not found on PyPI", "ConnectionError", "NameResolutionError",
                "Max retries exceeded")
_REFUSED_LICENSES = re.compile(r"\bAGPL|Affero", re.I)


def locked(here_only: bool = False) -> dict[str, str]:
    """Name → version of every package in the lock (with `here_only`, of those its markers
    install on this interpreter and platform)."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)(?: ; ([^\\]+))?", line)
        if match and not (here_only and match.group(3)
                          and not Marker(match.group(3).strip()).evaluate()):
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=600)


def sbom(out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    result = _run(str(BIN / "cyclonedx-py"), "requirements", str(LOCK), "--of", "JSON",
                  "-o", str(out))
    if result.returncode:
        sys.stderr.write(result.stderr)
        return result.returncode
    components = json.loads(out.read_text())["components"]
    print(f"SBOM: {out} (CycloneDX, {len(components)} components)")
    return 0


def audit() -> int:
    result = _run(str(BIN / "pip-audit"), "-r", str(LOCK), "--no-deps", "--disable-pip",
                  "--progress-spinner", "off", "-f", "json")
    text = result.stdout.strip()
    report = json.loads(text) if text.startswith("{") else None
    if report is None:
        if any(marker in result.stderr for marker in _UNREACHABLE):
            print("pip-audit: the vulnerability service cannot be reached from this machine; "
                  "NOT CHECKED (run `python tools/supply_chain.py audit` where PyPI's JSON API "
                  "or OSV is reachable).")
            return 0
        sys.stderr.write(result.stderr)
        return result.returncode or 1
    found = [(d["name"], d["version"], v["id"]) for d in report["dependencies"]
             for v in d.get("vulns", [])]
    skipped = [d for d in report["dependencies"] if "skip_reason" in d]
    for name, version, vuln in found:
        print(f"VULNERABLE {name}=={version}: {vuln}")
    if found:
        return 1
    if skipped and all(any(m in d["skip_reason"] for m in _UNREACHABLE) for d in skipped) \
            and len(skipped) == len(report["dependencies"]):
        print(f"pip-audit: the vulnerability service cannot be reached from this machine "
              f"(all {len(skipped)} packages skipped); NOT CHECKED.")
        return 0
    print(f"pip-audit: {len(report['dependencies']) - len(skipped)} packages checked, no known "
          f"vulnerability; {len(skipped)} skipped.")
    return 0


def bandit() -> int:
    result = _run(str(BIN / "bandit"), "-q", "-r", "app", "-f", "json")
    report = json.loads(result.stdout)
    totals = report["metrics"]["_totals"]
    high = [r for r in report["results"] if r["issue_severity"] == "HIGH"]
    for r in high:
        print(f"HIGH {r['test_id']} {r['filename']}:{r['line_number']}: {r['issue_text']}")
    print(f"bandit: {totals['SEVERITY.HIGH']} high, {totals['SEVERITY.MEDIUM']} medium, "
          f"{totals['SEVERITY.LOW']} low findings in {totals['loc']} lines of app/")
    return 1 if high else 0


def licenses() -> int:
    pins = locked(here_only=True)
    result = _run(str(BIN / "pip-licenses"), "--from=mixed", "--format=json", "--packages",
                  *pins)
    rows = {r["Name"].lower().replace("_", "-"): r for r in json.loads(result.stdout)}
    bad = 0
    for name, version in sorted(pins.items()):
        row = rows.get(name)
        # Some packages put the whole licence text there: its first line names it.
        lic = row["License"].strip().splitlines()[0][:80] if row else "NOT INSTALLED"
        flag = ""
        if not row or lic in ("UNKNOWN", ""):
            flag, bad = "  <- unknown", bad + 1
        elif _REFUSED_LICENSES.search(lic):
            flag, bad = "  <- refused", bad + 1
        print(f"{name}=={version}: {lic}{flag}")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "sbom":
        return sbom(Path(argv[1]) if len(argv) > 1 else ROOT / "build" / "sbom.cdx.json")
    commands = {"audit": audit, "bandit": bandit, "licenses": licenses}
    if command not in commands:
        sys.stderr.write(__doc__ or "")
        return 2
    return commands[command]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
