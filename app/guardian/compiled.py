"""A policy ready to run: the files validated, patterns compiled, rules indexed by where
they apply. Built whole or not at all: GuardianPolicyError lists every problem found."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from app.config_files import read_yaml
from app.guardian.decision import KINDS, Action, Category, Direction, Kind, Reason
from app.guardian.detectors import Hit, injection, pii, secrets
from app.guardian.detectors.patterns import UnsafePattern, compile_safe, find_all
from app.guardian.detectors.screen import Literals, Screen
from app.guardian.policy import PolicyFile, PolicyHeader, RuleSpec
from app.routing.problems import Problem, from_validation, key_path, sorted_problems

DEFAULT_THRESHOLD = 0.5  # for detectors that score; a pattern's hits score 1 unless it says

log = logging.getLogger("lukhas.guardian")


class GuardianPolicyError(ValueError):
    """Policy files that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    name: str
    category: Category
    action: Action
    detector: str  # pattern, pii, secrets, injection, semantic
    threshold: float
    replacement: str
    directions: frozenset[Direction]
    kinds: frozenset[Kind]
    find: Callable[[str], Iterable[Hit]] = field(repr=False)
    examples: tuple[str, ...] = ()  # semantic rules
    model: str = ""  # semantic rules
    # An expression every hit of the rule matches: the policy's screen leaves the rule out of
    # a scan when the text lacks its required literals (None: the rule always runs).
    source: str | None = None
    # A cheap test a text passes when the rule may find something in it, run on what the
    # screen keeps (PII: enough digits, or an `@`); None: every text the screen keeps.
    possible: Callable[[str], bool] | None = field(default=None, repr=False)

    def reason(self, score: float, start: int, end: int, detector: str = "") -> Reason:
        return Reason(self.name, self.category, detector or self.detector, self.action,
                      score, start, end, self.replacement)


def _nothing(_: str) -> Iterator[Hit]:
    return iter(())


@dataclass(frozen=True, slots=True)
class Policy:
    name: str  # the model name `/v1/moderations` answers to
    digest: str  # of the files' content, hex
    rules: tuple[CompiledRule, ...]
    files: tuple[str, ...] = ()
    _index: dict[tuple[Direction, Kind, bool], tuple[CompiledRule, ...]] = field(
        default_factory=dict, repr=False, compare=False)
    _screens: dict[tuple[Direction, Kind], Screen[CompiledRule]] = field(
        default_factory=dict, repr=False, compare=False)
    _decides: set[tuple[Direction, Kind]] = field(default_factory=set, repr=False,
                                                  compare=False)
    _later: set[tuple[Direction, Kind]] = field(default_factory=set, repr=False,
                                                compare=False)
    _tested: set[tuple[Direction, Kind]] = field(default_factory=set, repr=False,
                                                 compare=False)
    # The kinds of request text a semantic rule may change (`semantic_decides`), and whether
    # some kind has semantic rules that only log (`reviewed_later`): read by every request
    # check, kept as plain fields.
    input_decided: frozenset[str] = field(default=frozenset(), init=False, repr=False,
                                          compare=False)
    input_reviewed: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One pair of compiled sets for every screen of the policy (app/guardian/detectors/
        # screen.py, `Literals`).
        literals = Literals()
        for direction in ("input", "output"):
            for kind in KINDS:
                for semantic in (False, True):
                    self._index[(direction, kind, semantic)] = tuple(
                        r for r in self.rules
                        if direction in r.directions and kind in r.kinds
                        and (r.detector == "semantic") == semantic)
                self._screens[(direction, kind)] = Screen(
                    ((r, r.source) for r in self._index[(direction, kind, False)]),
                    literals=literals)
                if any(r.possible for r in self._index[(direction, kind, False)]):
                    self._tested.add((direction, kind))
                if any(r.action in ("redact", "block")
                       for r in self._index[(direction, kind, True)]):
                    self._decides.add((direction, kind))
                elif self._index[(direction, kind, True)]:
                    self._later.add((direction, kind))
        literals.bind(self._screens.values())
        object.__setattr__(self, "input_decided", frozenset(
            kind for direction, kind in self._decides if direction == "input"))
        object.__setattr__(self, "input_reviewed",
                           any(direction == "input" for direction, _ in self._later))

    @property
    def label(self) -> str:
        """`name@digest` (12 hex digits), as decisions name the policy that made them."""
        return f"{self.name}@{self.digest[:12]}"

    def rules_for(self, direction: Direction, kind: Kind, *,
                  semantic: bool) -> tuple[CompiledRule, ...]:
        """The rules that apply to texts of this direction and kind."""
        return self._index[(direction, kind, semantic)]

    def semantic_decides(self, direction: Direction, kind: Kind) -> bool:
        """Whether a semantic rule on texts of this direction and kind may change what
        happens to them (it redacts or blocks), rather than only log."""
        return (direction, kind) in self._decides

    def reviewed_later(self, direction: Direction, kind: Kind) -> bool:
        """Whether texts of this direction and kind have semantic rules that only log: they
        read the text after it went on (Enforcement.review_later), off its path."""
        return (direction, kind) in self._later

    def candidates(self, direction: Direction, kind: Kind, text: str) -> list[CompiledRule]:
        """The rules without an embedding call that may find something in `text`: those
        whose pattern's required literals it lacks are left out (app/guardian/detectors/
        screen.py), and those whose own test (`CompiledRule.possible`) it fails."""
        found = self._screens[(direction, kind)].candidates(text)
        if found and (direction, kind) in self._tested:
            return [r for r in found if r.possible is None or r.possible(text)]
        return found

    def candidates_of(self, direction: Direction, kind: Kind,
                      texts: Sequence[str]) -> list[CompiledRule]:
        """The rules that may find something in any of `texts`, in one pass of the screen
        over them together: a rule's required literals in one of them are in the whole, so
        this holds every rule `candidates` gives for each."""
        return self.candidates(direction, kind, "\n".join(texts))

    def count_for(self, direction: Direction, kind: Kind) -> int:
        return len(self._index[(direction, kind, False)]) + len(
            self._index[(direction, kind, True)])


def _compile_rule(spec: RuleSpec, default_model: str) -> CompiledRule:
    find: Callable[[str], Iterable[Hit]]
    threshold = DEFAULT_THRESHOLD
    examples: tuple[str, ...] = ()
    model = ""
    source = None
    possible = None
    if spec.detector == "pattern":
        compiled = compile_safe(spec.patterns, ignore_case=spec.ignore_case)
        source = compiled.pattern
        score = spec.score

        def find(text: str) -> Iterator[Hit]:
            return find_all(compiled, text, score=score)
        threshold = min(threshold, score)
    elif spec.detector == "pii":
        find = pii.finder(spec.entities, spec.phone_region)
        source = pii.screen_pattern(spec.entities)
        possible = pii.possible(spec.entities)
    elif spec.detector == "secrets":
        find = secrets.finder(spec.entities)
        source = secrets.screen_pattern(spec.entities)
    elif spec.detector == "injection":
        find, threshold = injection.find, spec.threshold
        source = injection.SCREEN_PATTERN
    else:
        find, threshold = _nothing, spec.threshold
        examples, model = spec.examples, spec.model or default_model
    return CompiledRule(
        name=spec.name, category=spec.category, action=spec.action, detector=spec.detector,
        threshold=threshold,
        replacement=spec.replacement if spec.replacement is not None else f"[{spec.category}]",
        directions=frozenset(spec.direction), kinds=frozenset(spec.kinds or KINDS),
        find=find, examples=examples, model=model, source=source, possible=possible)


def compile_policy(files: Sequence[tuple[str, bytes]],
                   embedding_models: Iterable[str] | None = None) -> Policy:
    """Validate and compile the policy files (name, content); GuardianPolicyError if any
    problem. `embedding_models`, when given, are the models semantic rules may name."""
    problems: list[Problem] = []
    header: PolicyHeader | None = None
    specs: list[tuple[str, int, RuleSpec]] = []
    if not files:
        raise GuardianPolicyError([Problem("", "no policy file (configs/guardian/*.yaml)")])
    for name, data in files:
        try:
            raw = read_yaml(data.decode("utf-8"))
            parsed = PolicyFile.model_validate_json(
                orjson.dumps(raw if raw is not None else {}, option=orjson.OPT_NON_STR_KEYS))
        except UnicodeDecodeError:
            problems.append(Problem(name, "not UTF-8"))
            continue
        except orjson.JSONEncodeError as exc:  # a YAML set or binary value: no key takes one
            problems.append(Problem(name, f"unsupported YAML value: {exc}"))
            continue
        except ValueError as exc:  # YAML errors and the schema's, as Problem text
            if isinstance(exc, ValidationError):
                problems += [Problem(f"{name}: {p.path}", p.message)
                             for p in from_validation(PolicyFile, exc)]
            else:
                problems.append(Problem(name, str(exc)))
            continue
        if parsed.policy is not None:
            if header is not None:
                problems.append(Problem(f"{name}: policy", "only one file may hold `policy`"))
            header = parsed.policy
        specs += [(name, i, spec) for i, spec in enumerate(parsed.rules)]
    header = header or PolicyHeader()
    seen: dict[str, str] = {}
    rules = []
    for name, i, spec in specs:
        where = f"{name}: {key_path('rules', i)}"
        if spec.name in seen:
            problems.append(Problem(where, f"rule name {spec.name!r} is already used in "
                                           f"{seen[spec.name]}"))
        seen[spec.name] = name
        if spec.detector == "semantic" and embedding_models is not None:
            model = spec.model or header.embedding_model
            if model not in set(embedding_models):
                if spec.action == "log":
                    # A rule that only logs, on a model this install lacks (an image without
                    # the neural model): left out, said at start; nothing enforced is lost.
                    log.warning("guardian rule left out: its embedding model is not served",
                                extra={"rule": spec.name, "model": model, "file": name})
                    continue
                problems.append(Problem(where, f"embedding model {model!r} is not served"))
        if spec.direction == ("output",) and spec.kinds and "text" not in spec.kinds:
            problems.append(Problem(f"{where}.kinds", "an output is all of kind `text`: "
                                                      "this rule would never apply"))
        if spec.detector in ("pii", "secrets") and len(set(spec.entities)) != len(spec.entities):
            problems.append(Problem(f"{where}.entities", "an entity is named twice"))
        try:
            rules.append(_compile_rule(spec, header.embedding_model))
        except UnsafePattern as exc:
            problems.append(Problem(f"{where}.patterns", str(exc)))
    if problems:
        raise GuardianPolicyError(sorted_problems(problems))
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + data + b"\0")
    return Policy(header.name, digest.hexdigest(), tuple(rules), tuple(n for n, _ in files))
