"""Validation: recheck a node's finding independently before it is given as an answer.

Arithmetic is recomputed from the *rendered* expression, with a different evaluator (an
explicit stack, `operator` functions, and `decimal` for non-integer powers), so a slip in
parsing, rendering or evaluation shows up as a disagreement. Recall is checked against the
conversation itself: the quote must be verbatim in the cited user turn (a message, or the text
of a file the user attached) and hold the value.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction

from app.core.turns import Turn
from app.matriz.nodes.arithmetic import exact, source_of
from app.matriz.nodes.types import Answer, Calculation, Check, Recollection

_TOLERANCE = Fraction(1, 10**9)  # for values that went through a non-integer power
_DISPLAY_TOLERANCE = Fraction(1, 10**11)  # 12 significant digits, correctly rounded
_MAX_BITS = 8000  # generous: the arithmetic node already stayed under half of this
_OPS: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: operator.mod,
}


class _Disagreement(Exception):
    """The recomputation could not be carried out."""


def validate_calculation(calc: Calculation) -> Check:
    """Recompute the arithmetic node's result a second, independent way."""
    if calc.status == "refused":
        return Check(True, "validation: a refusal states a limit; there is no result to recheck")
    if calc.status not in ("ok", "undefined"):
        return Check(False, "validation: there is no arithmetic result to check")
    try:
        value, approximate = recompute(calc.expression)
    except (ZeroDivisionError, InvalidOperation) as exc:
        if calc.status == "undefined":
            return Check(True, "validation: independent re-evaluation also finds no value "
                         f"({type(exc).__name__})")
        return Check(False, "validation: independent re-evaluation finds no value, disagreeing")
    except (_Disagreement, ArithmeticError, SyntaxError, ValueError, RecursionError,
            MemoryError) as exc:
        return Check(False, f"validation: could not re-evaluate the expression ({exc})")
    if calc.status == "undefined" or calc.value is None:
        return Check(False, f"validation: independent re-evaluation gives {_show(value)}, "
                     "but the arithmetic node found no value")
    if approximate or calc.approximate:
        agrees = _close(value, calc.value, _TOLERANCE)
    else:
        agrees = value == calc.value
    if not agrees:
        return Check(False, f"validation: independent re-evaluation gives {_show(value)}, "
                     f"not {_show(calc.value)}: disagreement")
    try:
        shown = exact(calc.rendered)
    except (ValueError, ZeroDivisionError):
        return Check(False, f"validation: the displayed result '{calc.rendered}' is not a number")
    if shown != calc.value and not _close(shown, calc.value, _DISPLAY_TOLERANCE):
        return Check(False, f"validation: the displayed result {calc.rendered} misstates the value")
    if f"{calc.expression} " not in calc.text or calc.rendered not in calc.text:
        return Check(False, "validation: the answer does not state the checked expression")
    return Check(True, f"validation: independent re-evaluation agrees ({_clip(calc.rendered)})")


def recompute(expression: str) -> tuple[Fraction, bool]:
    """Evaluate a rendered expression with an explicit stack; flag approximate results."""
    tree = ast.parse(expression, mode="eval")
    pending: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    values: list[tuple[Fraction, bool]] = []
    while pending:
        node, ready = pending.pop()
        if isinstance(node, ast.Constant):
            text = source_of(expression, node)
            if text is None or type(node.value) not in (int, float):
                raise _Disagreement("not a number")
            values.append((exact(text), False))
        elif not ready and isinstance(node, ast.BinOp):
            pending += [(node, True), (node.right, False), (node.left, False)]
        elif not ready and isinstance(node, ast.UnaryOp):
            pending += [(node, True), (node.operand, False)]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand, approximate = values.pop()
            values.append((-operand if isinstance(node.op, ast.USub) else operand, approximate))
        elif isinstance(node, ast.BinOp):
            (right, approx_right), (left, approx_left) = values.pop(), values.pop()
            if isinstance(node.op, ast.Pow):
                result, approximate = _power(left, right)
            elif type(node.op) in _OPS:
                result, approximate = _OPS[type(node.op)](left, right), False
            else:
                raise _Disagreement("unsupported operator")
            values.append((result, approximate or approx_left or approx_right))
        else:
            raise _Disagreement(f"unsupported syntax: {type(node).__name__}")
    (value, approximate), = values
    return value, approximate


def _power(base: Fraction, exponent: Fraction) -> tuple[Fraction, bool]:
    """Integer powers exactly; other powers in 50-digit decimal arithmetic."""
    if exponent.denominator == 1:
        size = max(abs(base.numerator), base.denominator).bit_length()
        if abs(base) != 1 and abs(exponent.numerator) * max(size - 1, 0) > _MAX_BITS:
            raise _Disagreement("result too large to recheck")
        return base**exponent.numerator, False
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 to a negative power")
    if base < 0 and exponent.denominator % 2 == 0:
        raise InvalidOperation("even root of a negative number")
    decimals = Context(prec=50, Emax=10**6, Emin=-(10**6))  # per call: contexts hold flags
    magnitude = decimals.divide(Decimal(abs(base.numerator)), Decimal(base.denominator))
    power = decimals.divide(Decimal(exponent.numerator), Decimal(exponent.denominator))
    result = Fraction(decimals.power(magnitude, power))
    odd = base < 0 and exponent.numerator % 2 == 1  # real odd root of a negative base
    return (-result if odd else result), True


def validate_recollection(rec: Recollection, history: Sequence[Turn]) -> Check:
    """Check that the quote is verbatim in the cited user turn and contains the value."""
    if rec.status != "found" or not 0 <= rec.turn_index < len(history):
        return Check(False, "validation: the recollection does not point at a turn")
    turn = history[rec.turn_index]
    if turn.role != "user":
        return Check(False, f"validation: {rec.source} is a {turn.role} turn, not the user's")
    if turn.source != rec.source:
        return Check(False, f"validation: the cited label {rec.source} is not the turn's")
    if not rec.quote or rec.quote not in turn.text:
        return Check(False, f"validation: the quote does not appear verbatim in {rec.source}")
    if not rec.value.strip() or rec.value not in rec.quote:
        return Check(False, f"validation: the quote does not contain '{rec.value}'")
    if f'"{rec.quote}" [{rec.source}]' not in rec.text:
        return Check(False, "validation: the answer does not carry the quote and its citation")
    kind = "a file the user attached" if turn.file is not None else "a user turn"
    return Check(True, f"validation: the quote appears verbatim in {rec.source}, {kind}, "
                 f"and contains '{_clip(rec.value)}'")


def _close(a: Fraction, b: Fraction, tolerance: Fraction) -> bool:
    """Relative closeness in exact arithmetic, so no float can overflow."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b))


def _show(value: Fraction) -> str:
    return _clip(str(value))


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Nodes whose answer is returned only when its check agreed (arithmetic re-evaluated,
# recollection and quotation found verbatim in their sources); a statement is acknowledged,
# with nothing to check.
_CHECKED_NODES = frozenset({"arithmetic", "recall", "documents"})


def agreed(answer: Answer) -> bool | None:
    """Whether validation agreed with `answer`: yes for a checked node; no for "I don't
    know" after a check disagreed; None when nothing was checked."""
    if answer.node in _CHECKED_NODES:
        return True
    if answer.node == "unknown" and any(line.startswith("validation:")
                                        for line in answer.summary):
        return False
    return None
