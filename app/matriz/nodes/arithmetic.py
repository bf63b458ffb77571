"""Arithmetic node: find an expression in a message and evaluate it exactly and safely.

The expression is parsed with `ast` and walked by hand; nothing is ever compiled or run.
Every limit is checked before the work it guards, so hostile input is refused in microseconds.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from decimal import Context, Decimal
from fractions import Fraction
from itertools import accumulate

from app.matriz.nodes.types import Calculation

MAX_CHARS = 500
MAX_PAREN_DEPTH = 40
MAX_TREE_DEPTH = 100  # keeps the recursive walk far from Python's recursion limit
MAX_NODES = 400
# ~1,200 decimal digits: results stay readable and str() stays under Python's 4,300-digit cap.
MAX_BITS = 4000
MAX_DIGITS = int(MAX_BITS * math.log10(2))

_ALLOWED = re.compile(r"[0-9.+\-*/%()\s]*")
_RUN = re.compile(r"[0-9.+\-*/%()\s]+")
_OPERATOR = re.compile(r"[-+*/%()]")
# An expression holds an ASCII digit (`_RUN` keeps nothing else that is a number); before the
# words below are rewritten, that digit is in the message, or comes from "squared" or
# "cubed". A message with neither has no expression: one search instead of the rewrites.
_MAY_HOLD_ARITHMETIC = re.compile(r"[0-9]|squared|cubed", re.IGNORECASE)
_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (r"\b(?:raised\s+)?to\s+the\s+power\s+of\b", " ** "), (r"\braised\s+to\b", " ** "),
        (r"\bto\s+the\s+(\d+)(?:st|nd|rd|th)(?:\s+power)?\b", r" ** \1"),
        (r"\bmultiplied\s+by\b", " * "), (r"\btimes\b", " * "), (r"\bdivided\s+by\b", " / "),
        (r"(?<=\d)\s+over\s+(?=[\d(])", " / "),  # only between numbers: a common word otherwise
        (r"\bplus\b", " + "), (r"\bminus\b", " - "), (r"\bnegative\s+(?=[\d(])", " -"),
        (r"\b(?:mod|modulo)\b", " % "), (r"\bsquared\b", " ** 2"), (r"\bcubed\b", " ** 3"),
        (r"(?<=\d)\s*x\s*(?=[\d(])", " * "), (r"[×✕⋅·∗]", " * "), (r"[÷∕]", " / "),
        (r"(?<=\d)\s*(?:%|percent)\s+of\b", " / 100 * "), (r"−", "-"), (r"\^", " ** "),
        (r"(?<=\d),(?=\d{3}\b)", ""),  # thousands separators: 1,000,000
    )
)
_SYMBOL: dict[type[ast.AST], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.UAdd: "+", ast.USub: "-",
}
_PRECEDENCE: dict[type[ast.AST], int] = {
    ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.Pow: 4,
}
_BINARY: dict[type[ast.AST], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: lambda a, b: a % b,
}
_UNARY_PRECEDENCE = 3
_ATOM_PRECEDENCE = 5


class _Refused(Exception):
    """The expression is within the grammar but too big to compute."""


class _Unreadable(Exception):
    """The text is not an expression of the supported grammar."""


class _NotReal(Exception):
    """The value exists only as a complex number."""


def find_expression(message: str) -> str | None:
    """Return the arithmetic expression in a natural-language message, or None."""
    if not _MAY_HOLD_ARITHMETIC.search(message):
        return None
    text = message
    for pattern, replacement in _WORDS:
        text = pattern.sub(replacement, text)
    best = ""
    for run in _RUN.findall(text):
        candidate = _trim(" ".join(run.split()))
        if len(candidate) > len(best) and re.search(r"\d", candidate) and _OPERATOR.search(
            candidate
        ):
            best = candidate
    return best or None


def _trim(run: str) -> str:
    """Drop sentence punctuation and unmatched parentheses around an expression."""
    if len(run) > MAX_CHARS:  # refused anyway; trimming it would cost quadratic time
        return run
    run = re.sub(r"^(?:\.(?!\d)|\s)+", "", run).rstrip(". ")
    while run.startswith(")") or (run.startswith("(") and run.count("(") > run.count(")")):
        run = run[1:].lstrip()
    while run.endswith("(") or (run.endswith(")") and run.count(")") > run.count("(")):
        run = run[:-1].rstrip()
    return run


def solve(message: str) -> Calculation:
    """Find and evaluate the arithmetic in a message."""
    found = find_expression(message)
    if found is None:
        return Calculation("none", notes=("arithmetic: no arithmetic expression in the message",))
    return evaluate(found)


def evaluate(found: str) -> Calculation:
    """Evaluate one expression exactly, refusing anything too large or too deep."""
    found = found.strip()
    notes: tuple[str, ...] = ()
    expression = ""
    try:
        tree = _parse(found)
        if not _check_tree(tree):
            note = f"arithmetic: '{_clip(found)}' is a plain number, not a calculation"
            return Calculation("none", found, notes=(note,))
        expression = _show(tree.body, found, full=False)
        full = _show(tree.body, found, full=True)
        notes = (f"arithmetic: parsed '{_clip(found)}' as {_clip(full)}",)
        value, approximate = _eval(tree.body, found)
    except _Unreadable as exc:
        note = f"arithmetic: found '{_clip(found)}' but {exc}"
        return Calculation("unreadable", found, notes=(note,))
    except _Refused as exc:
        notes += (f"arithmetic: refused: {exc}",)
        return Calculation("refused", found, text=f"I won't evaluate that expression: {exc}.",
                           notes=notes)
    except ZeroDivisionError:
        text = f"Division by zero is undefined, so {found} has no value."
        notes += ("arithmetic: the expression divides by zero",)
        return Calculation("undefined", found, expression, text=text, notes=notes)
    except _NotReal as exc:
        text = f"{found} has no real value: {exc}."
        notes += (f"arithmetic: the expression has no real value ({exc})",)
        return Calculation("undefined", found, expression, text=text, notes=notes)
    rendered, exact_display = render(value)
    if approximate:
        text = f"{expression} ≈ {rendered}."
        note = f"arithmetic: evaluated with a non-integer power, approximately: {rendered}"
    elif exact_display:
        text = f"{expression} = {rendered}."
        note = f"arithmetic: evaluated exactly: {_clip(rendered)}"
    else:
        exact = str(value)
        text = f"{expression} ≈ {rendered}" + (f" (exactly {exact})." if len(exact) <= 40 else ".")
        note = f"arithmetic: evaluated exactly: {_clip(exact)} ≈ {rendered}"
    return Calculation("ok", found, expression, value, approximate, rendered, text, (*notes, note))


def _parse(found: str) -> ast.Expression:
    """Parse, with every limit that protects the parser checked first."""
    if len(found) > MAX_CHARS:
        raise _Refused(f"the expression is {len(found):,} characters long, and I only evaluate "
                       f"expressions of up to {MAX_CHARS} characters")
    if not _ALLOWED.fullmatch(found):
        raise _Unreadable("it contains characters other than numbers and operators")
    # Parenthesis depth is measured before parsing: the parser recurses into each level.
    depth = max(accumulate((c == "(") - (c == ")") for c in found), default=0)
    if depth > MAX_PAREN_DEPTH:
        raise _Refused(f"it is nested {depth} parentheses deep, and I only evaluate expressions "
                       f"nested up to {MAX_PAREN_DEPTH} deep")
    try:
        return ast.parse(found, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        raise _Unreadable("it is not a valid expression") from None


def exact(number: str) -> Fraction:
    """The exact value of a number as written (`0.1` is one tenth); a plain integer without
    the parse of a decimal text, which costs ten times more."""
    if number.isascii() and number.isdigit():
        return Fraction(int(number))
    return Fraction(number)


def render(value: Fraction) -> tuple[str, bool]:
    """Decimal text for a value (up to 12 significant digits) and whether it is exact."""
    if value.denominator == 1:
        return str(value.numerator), True
    top, bottom = Decimal(value.numerator), Decimal(value.denominator)
    long = Context(prec=30)  # a terminating decimal is shown exactly if it is not too long
    if Fraction(digits := long.divide(top, bottom)) == value:
        return _format(digits.normalize(long)), True
    short = Context(prec=12)
    return _format(short.divide(top, bottom).normalize(short)), False


def _format(digits: Decimal) -> str:
    """Plain notation for everyday magnitudes, scientific beyond."""
    return format(digits, "f" if -7 <= digits.adjusted() < 16 else "e")


def _check_tree(tree: ast.Expression) -> bool:
    """Bound size and depth (iteratively), allow only numbers and operators; any binary op?"""
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    count = 0
    has_operator = False
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_TREE_DEPTH:
            raise _Refused(f"it is too complex (more than {MAX_NODES} parts or "
                           f"{MAX_TREE_DEPTH} levels of operations)")
        if isinstance(node, ast.BinOp) and type(node.op) in _PRECEDENCE:
            has_operator = True  # a sign alone ("-5", "+3" in "2x+3") is not a calculation
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            stack.append((node.operand, depth + 1))
        elif not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            raise _Unreadable("it uses something other than numbers and + - * / // % **")
    return has_operator


def source_of(src: str, node: ast.expr) -> str | None:
    """The source text of `node`; a slice for one-line sources (`get_source_segment` splits
    the whole source into lines on every call)."""
    if "\n" not in src and node.end_col_offset is not None:
        return src[node.col_offset : node.end_col_offset]
    return ast.get_source_segment(src, node)


def _literal(node: ast.Constant, src: str) -> str:
    """The number as written, so 0.1 is read as exactly one tenth, not as a binary float."""
    return (source_of(src, node) or repr(node.value)).strip()


def _show(node: ast.expr, src: str, *, full: bool) -> str:
    """Render with minimal parentheses, or fully parenthesised when `full`."""
    if isinstance(node, ast.Constant):
        return _literal(node, src)
    if isinstance(node, ast.UnaryOp):
        inner = _show(node.operand, src, full=full)
        if full:
            return f"({_SYMBOL[type(node.op)]}{inner})"
        if _precedence(node.operand) < _UNARY_PRECEDENCE:
            inner = f"({inner})"
        return _SYMBOL[type(node.op)] + inner
    assert isinstance(node, ast.BinOp)
    left, right = _show(node.left, src, full=full), _show(node.right, src, full=full)
    symbol = _SYMBOL[type(node.op)]
    if full:
        return f"({left} {symbol} {right})"
    mine = _PRECEDENCE[type(node.op)]
    power = isinstance(node.op, ast.Pow)  # right-associative: the left side needs parentheses
    if _precedence(node.left) < mine or (power and _precedence(node.left) <= mine):
        left = f"({left})"
    if _precedence(node.right) < mine or (not power and _precedence(node.right) == mine):
        right = f"({right})"
    return f"{left} {symbol} {right}"


def _precedence(node: ast.expr) -> int:
    if isinstance(node, ast.BinOp):
        return _PRECEDENCE[type(node.op)]
    return _UNARY_PRECEDENCE if isinstance(node, ast.UnaryOp) else _ATOM_PRECEDENCE


def _eval(node: ast.expr, src: str) -> tuple[Fraction, bool]:
    """Exact value of a checked tree, and whether a float approximation was needed."""
    if isinstance(node, ast.Constant):
        return exact(_literal(node, src)), False
    if isinstance(node, ast.UnaryOp):
        value, approximate = _eval(node.operand, src)
        return (-value if isinstance(node.op, ast.USub) else value), approximate
    assert isinstance(node, ast.BinOp)
    (left, approx_left), (right, approx_right) = _eval(node.left, src), _eval(node.right, src)
    if isinstance(node.op, ast.Pow):
        result, approximate = _power(left, right)
    else:
        result, approximate = _BINARY[type(node.op)](left, right), False
    if max(abs(result.numerator).bit_length(), result.denominator.bit_length()) > MAX_BITS:
        raise _Refused(f"an intermediate result would have more than {MAX_DIGITS:,} digits")
    return result, approximate or approx_left or approx_right


def _power(base: Fraction, exponent: Fraction) -> tuple[Fraction, bool]:
    """base ** exponent, exact when the result is rational, bounded before computing."""
    if exponent.denominator == 1:
        return _int_power(base, exponent.numerator), False
    if base == 0:
        if exponent < 0:
            raise ZeroDivisionError
        return Fraction(0), False
    degree = exponent.denominator
    if base < 0 and degree % 2 == 0:
        raise _NotReal("an even root of a negative number is not a real number")
    sign = -1 if base < 0 and exponent.numerator % 2 else 1
    root = _exact_root(abs(base), degree)
    if root is not None:
        return sign * _int_power(root, exponent.numerator), False
    try:
        log = float(exponent) * (math.log(abs(base.numerator)) - math.log(base.denominator))
    except OverflowError:
        raise _Refused("the exponent is too large") from None
    if abs(log) > 700:  # beyond what a float can hold
        raise _Refused(f"the result would be too {'large' if log > 0 else 'small'} to approximate")
    return sign * Fraction(math.exp(log)), True


def _int_power(base: Fraction, exponent: int) -> Fraction:
    """base ** exponent for an integer exponent, refused if the result would be too big."""
    if base == 0:
        if exponent < 0:
            raise ZeroDivisionError
        return Fraction(1 if exponent == 0 else 0)
    if abs(base) == 1:
        return base if exponent % 2 else Fraction(1)
    size = max(abs(base.numerator), base.denominator)
    # A lower bound on the result's size in bits, so the refusal costs nothing.
    if abs(exponent) * (size.bit_length() - 1) > MAX_BITS:
        if abs(exponent).bit_length() > 60:
            digits = "an astronomical number of"
        else:
            digits = f"about {int(abs(exponent) * math.log10(size)):,}"
        raise _Refused(f"the result would have {digits} digits, and I only compute results of "
                       f"up to {MAX_DIGITS:,} digits")
    return base**exponent


def _exact_root(value: Fraction, degree: int) -> Fraction | None:
    """The rational degree-th root of a positive value, if there is one."""
    if degree > MAX_BITS:  # only 1 is a perfect power of so high a degree within our bounds
        return Fraction(1) if value == 1 else None
    top, bottom = _iroot(value.numerator, degree), _iroot(value.denominator, degree)
    if top**degree == value.numerator and bottom**degree == value.denominator:
        return Fraction(top, bottom)
    return None


def _iroot(n: int, k: int) -> int:
    """Floor of the k-th root of n >= 0, by Newton's method on integers."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)  # a power of two at or above the root
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
