"""Policy files: validated whole at start and on reload; a bad edit keeps the running one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from app.config_files import ReloadEvent
from app.guardian.compiled import GuardianPolicyError, Policy, compile_policy
from app.guardian.reload import DEFAULT_DIR, GuardianMetrics, PolicyReloader, load_policy

RULE = """
rules:
  - name: {name}
    direction: [input]
    category: {category}
    detector: pattern
    patterns: ['{pattern}']
    action: {action}
"""


def _rule(name: str = "r1", category: str = "policy", pattern: str = r"\\bforbidden\\b",
          action: str = "block") -> bytes:
    return RULE.format(name=name, category=category, pattern=pattern, action=action).encode()


def _problems(files: list[tuple[str, bytes]], models: list[str] | None = None) -> str:
    with pytest.raises(GuardianPolicyError) as caught:
        compile_policy(files, models)
    return str(caught.value)


def test_the_default_policy_loads_and_covers_every_category() -> None:
    policy = load_policy(DEFAULT_DIR, ["all-MiniLM-L6-v2", "lukhas-hash-v1"])
    assert policy.name == "lukhas-guardian-1"
    covered = {r.category for r in policy.rules}
    from app.guardian.decision import CATEGORIES
    assert covered >= set(CATEGORIES) - {"policy"}
    assert policy.rules_for("output", "text", semantic=False)
    assert policy.label.startswith("lukhas-guardian-1@") and len(policy.label) == 30


@pytest.mark.parametrize(("content", "expected"), [
    (_rule(category="violence/sexy"), "rules[0].pattern.category: input should be"),
    (_rule(action="shred"), "rules[0].pattern.action"),
    (_rule(pattern="(a+)+$"), "backtracks catastrophically"),
    (_rule(pattern="(open"), "does not compile"),
    (b"rules:\n  - name: x\n    detector: telepathy\n", "rules[0]"),
    (b"rules: [\n", "not valid YAML"),
    (b"rules: []\nrules: []\n", "duplicate key"),
    (b"policy: {name: Bad Name}\n", "policy.name"),
    (b"rules:\n  - {name: s, direction: [input], category: hate, action: log,"
     b" detector: semantic, threshold: 0.5, examples: ['  ']}\n", "blank"),
    (b"surprise: 1\n", "surprise: unknown key"),
    (b"rules: !!set {a}\n", "unsupported YAML value"),
    (_rule().replace(b"[input]", b"[output]") + b"    kinds: [tool]\n", "never apply"),
    (b"rules:\n  - {name: p, direction: [input], category: pii, action: log, detector: pii,"
     b" entities: [email, email]}\n", "named twice"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_an_invalid_file_names_its_problem(content: bytes, expected: str) -> None:
    assert expected in _problems([("a.yaml", content)])


def test_problems_across_files() -> None:
    text = _problems([("a.yaml", _rule("same") + b"policy: {name: one}\n"),
                      ("b.yaml", _rule("same") + b"policy: {name: two}\n")])
    assert "already used in a.yaml" in text and "only one file may hold `policy`" in text


def test_a_semantic_rule_must_name_a_served_model() -> None:
    """An enforced rule on a model the install lacks stops the load; one that only logs is
    left out (an image without the neural model still starts on the shipped policy)."""
    semantic = (b"rules:\n  - {name: s, direction: [input], category: hate, action: block,"
                b" detector: semantic, threshold: 0.5, examples: [hello], model: nope}\n")
    assert "'nope' is not served" in _problems([("a.yaml", semantic)], ["lukhas-hash-v1"])
    logged = semantic.replace(b"action: block", b"action: log")
    policy = compile_policy([("a.yaml", logged + b"policy: {name: p}\n")], ["lukhas-hash-v1"])
    assert [r.name for r in policy.rules] == []
    compile_policy([("a.yaml", semantic)])  # without a list of models, not checked


def test_no_file_is_no_policy() -> None:
    assert "no policy file" in _problems([])


def _count(registry: CollectorRegistry, outcome: str) -> float:
    sample = registry.get_sample_value("lukhas_guardian_policy_reload_total",
                                       {"outcome": outcome})
    return sample or 0.0


async def test_reload_applies_a_good_edit_and_keeps_the_policy_on_a_bad_one(
        tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(_rule("first"))
    registry = CollectorRegistry()
    events: list[tuple[ReloadEvent, Policy | None]] = []

    async def listen(event: ReloadEvent, policy: Policy | None) -> None:
        events.append((event, policy))

    reloader = PolicyReloader(tmp_path, GuardianMetrics(registry), interval_s=0.05)
    reloader.on_reload(listen)
    async with reloader:
        running = reloader.policy
        assert [r.name for r in running.rules] == ["first"]
        (tmp_path / "b.yaml").write_bytes(_rule("second", pattern="(a+)+$"))
        assert not await reloader.check()
        assert reloader.policy is running and _count(registry, "invalid") == 1
        assert events[-1][0].outcome == "invalid" and events[-1][1] is None
        assert "backtracks" in events[-1][0].message
        (tmp_path / "b.yaml").write_bytes(_rule("second"))
        for _ in range(200):  # the watcher's poll; a liveness bound, not a timing check
            if reloader.policy is not running:
                break
            await asyncio.sleep(0.05)
        assert [r.name for r in reloader.policy.rules] == ["first", "second"]
        assert running.digest != reloader.policy.digest
        assert _count(registry, "applied") == 1
        assert events[-1][0].outcome == "applied" and events[-1][1] is reloader.policy


async def test_an_emptied_directory_keeps_the_policy(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(_rule())
    registry = CollectorRegistry()
    reloader = PolicyReloader(tmp_path, GuardianMetrics(registry))
    running = reloader.load()
    (tmp_path / "a.yaml").unlink()
    assert not await reloader.check() and not await reloader.check()
    assert reloader.policy is running and _count(registry, "missing") == 1


def test_an_invalid_policy_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(_rule(category="nope"))
    with pytest.raises(GuardianPolicyError, match="category"):
        PolicyReloader(tmp_path, GuardianMetrics(CollectorRegistry())).load()
    with pytest.raises(GuardianPolicyError, match="cannot read"):
        PolicyReloader(tmp_path / "absent", GuardianMetrics(CollectorRegistry())).load()
