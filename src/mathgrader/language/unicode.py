"""Pasted Unicode -> the learner syntax, with a map back to the learner's columns.

Learners paste `2×π`, `x²`, `x − 1` and `√2` from documents and mean them one way only. `read()`
turns such text into the ASCII learner syntax (`2*pi`, `x^2`, `x - 1`, `sqrt(2)`) and returns a
`Reading`: the text the parser sees, the learner's offset of every character of it, and one note
per kind of character read ("read × as *") for the preview. Errors raised on the read text are
moved back onto the learner's columns (`Reading.relocate`), and so are the tree's offsets
(`Reading.relocate_nodes`), so every column a learner sees points into what they typed.

Everything else that is not ASCII is refused with a located `unsupported_character` error that
names the character (lookalike letters, invisible and bidirectional controls, NUL and other
control characters), and notation whose reading would be a guess (`√2x`, `x²^3`, `2·5`) with a
located `syntax` error. The parser calls `read()` only for text that is not ASCII, so plain
answers pay nothing. Pure: no I/O, nothing at import time beyond the constant tables.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from ..errors import InputError
from . import ast
from .table import FUNCTIONS

__all__ = ["ACCEPTED", "Reading", "read", "unsupported_character"]

ROOT = "\u221a"  # √

# The superscripts a learner means as a power: digits and one leading sign. The superscript
# letters and brackets (ⁿ ⁱ ⁽ ⁾) are refused: x⁽ⁿ⁻¹⁾ is better typed than guessed.
_SUPERSCRIPTS: Mapping[str, str] = MappingProxyType(
    {
        "\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4",
        "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9",
        "\u207a": "+", "\u207b": "-",
    }
)

# Spaces that look like a space: read as one, with no note (they change nothing).
_SPACES: Mapping[str, str] = MappingProxyType(
    {
        "\u00a0": " ",  # NO-BREAK SPACE: word processors put it after "=" and between "2 x"
        **{chr(c): " " for c in range(0x2000, 0x200B)},  # EN QUAD .. HAIR SPACE (thin spaces)
        "\u202f": " ",  # NARROW NO-BREAK SPACE
        "\u205f": " ",  # MEDIUM MATHEMATICAL SPACE
        "\u3000": " ",  # IDEOGRAPHIC SPACE, typed with a full-width keyboard layout
        "\u2028": " ",  # LINE SEPARATOR and PARAGRAPH SEPARATOR: line breaks, as \n is
        "\u2029": " ",
    }
)

# FULLWIDTH ! .. FULLWIDTH ~: what a Chinese, Japanese or Korean input method types for the
# ASCII characters; each is exactly its ASCII twin, shifted by 0xFEE0.
_FULLWIDTH: Mapping[str, str] = MappingProxyType(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
)

# The one table of accepted characters -> learner syntax. Unicode's NFKC normalization is not
# used: it also turns ligatures (ﬁ -> fi), mathematical italic letters (𝑥 -> x), circled and
# superscript letters and vulgar fractions (½ -> 1⁄2, which then reads as 12) into ASCII, which
# would silently accept text a learner did not type on purpose. Each character below is one
# learners paste and mean exactly one way.
ACCEPTED: Mapping[str, str] = MappingProxyType(
    {
        # Minus. U+2212 is the minus of typeset mathematics (PDFs, equation editors).
        "\u2212": "-",
        # EN DASH: word processors autocorrect " - " into " – ", so minus signs typed in a
        # document arrive as en dashes. Not accepted: FIGURE DASH U+2012 (phone numbers),
        # EM DASH U+2014 (a break in prose, or Word's autocorrect of "--"), HYPHEN U+2010 and
        # NON-BREAKING HYPHEN U+2011 (hyphenated words): as a minus they would be a guess, so
        # they are refused with a hint to type -.
        "\u2013": "-",
        # Products. MIDDLE DOT is also a decimal point in older British print: between two
        # digits (2·5) it is refused as ambiguous, see `_Reader.first_pass`.
        "\u00d7": "*",  # × MULTIPLICATION SIGN
        "\u00b7": "*",  # · MIDDLE DOT
        "\u22c5": "*",  # ⋅ DOT OPERATOR
        "\u2219": "*",  # ∙ BULLET OPERATOR, the product dot of some symbol pickers
        "\u2217": "*",  # ∗ ASTERISK OPERATOR
        # Quotients. FRACTION SLASH U+2044 is not here: it comes with vulgar fractions
        # (1⁄2 inside 2 1⁄2) whose grouping a plain / would change.
        "\u00f7": "/",  # ÷ DIVISION SIGN
        "\u2215": "/",  # ∕ DIVISION SLASH
        # Constants named by their usual symbol.
        "\u03c0": "pi",  # π; the other Greek letters are variables, typed by name
        "\u221e": "oo",  # ∞
        # The square root: √ applies to one number, name, call or bracketed group, which the
        # reader puts in brackets (√2 -> sqrt(2)); see `_Reader.root`.
        ROOT: "sqrt",
        # Superscript digits and signs: a power (x² -> x^2, x⁻¹ -> x^(-1)); see
        # `_Reader.superscript`.
        **_SUPERSCRIPTS,
        **_SPACES,
        **_FULLWIDTH,
    }
)

# Letters that look like ASCII ones: the hint names the letter the learner probably meant.
_CYRILLIC_LOOKALIKES = {
    "\u0430": "a", "\u0435": "e", "\u0456": "i", "\u0458": "j", "\u043e": "o", "\u0440": "p",
    "\u0441": "c", "\u0443": "y", "\u0445": "x", "\u0455": "s", "\u04bb": "h", "\u0501": "d",
    "\u051b": "q", "\u051d": "w", "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u0406": "I",
    "\u0408": "J", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P",
    "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0423": "Y", "\u0405": "S",
}
# Greek letters are also variables a learner may mean (nu, chi, ...): the hint offers both.
_GREEK_LOOKALIKES = {
    "\u03b1": "a", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o", "\u03c1": "p",
    "\u03c5": "u", "\u03c7": "x", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z",
    "\u0397": "H", "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O",
    "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
}
_DASHES = frozenset("\u2010\u2011\u2012\u2014\u2015\u02d7\u2796\ufe58\ufe63")
_SPECIAL_HINTS = {
    "\u2044": "type division as /",  # FRACTION SLASH
    "\u2022": "type multiplication as *",  # BULLET
    "\u00b0": "angles are in radians: for degrees write rad(...), e.g. rad(90)",
    "\u212f": "type E for Euler's number",  # SCRIPT SMALL E
    "\u2147": "type E for Euler's number",  # DOUBLE-STRUCK ITALIC SMALL E
    "\u2148": "type I for the imaginary unit",  # DOUBLE-STRUCK ITALIC SMALL I
    "\u2149": "type J for the imaginary unit",  # DOUBLE-STRUCK ITALIC SMALL J
    "\u221b": "write root(x, 3) for a cube root",  # ∛
    "\u221c": "write root(x, 4) for a fourth root",  # ∜
}
_GREEK_LETTER = re.compile(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)")
_KEYBOARD_HINT = "use only the characters on a standard keyboard"

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")
_CARET_EXPONENT = re.compile(r"\^[ \t\r\n]*([+-]?(?:[0-9]+(?:\.[0-9]+)?|[A-Za-z][A-Za-z0-9_]*))")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANKS = frozenset(" \t\r\n")
_BLANKS_AND_SIGNS = _BLANKS | {"+", "-"}


def _described(char: str) -> str:
    """U+0445 CYRILLIC SMALL LETTER HA; control characters have no name in Unicode."""
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if name:
        return f"{code} {name}"
    return f"{code}, a control character" if unicodedata.category(char) == "Cc" else code


def unsupported_character(text: str, offset: int) -> InputError:
    """The located error for a character the learner syntax does not accept."""
    char = text[offset]
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    if unicodedata.category(char) in {"Cf", "Cc", "Cs"}:
        # Zero-width and bidirectional controls can hide or reorder what the learner sees.
        message = f"The answer contains an invisible character, {_described(char)}."
        hint = "delete this character: retype the text around it instead of pasting it"
    elif unicodedata.category(char) in {"Co", "Cn", "Mn", "Me"}:
        # Private-use, unassigned and combining characters: not shown on their own.
        message = f"The character {_described(char)} cannot be used in an answer."
        hint = _KEYBOARD_HINT
    else:
        message = f"The character {char} ({_described(char)}) cannot be used in an answer."
        hint = _hint_for(char, name)
    return InputError(
        "unsupported_character", message, column=offset + 1, end_column=offset + 2, hint=hint,
        text=text,
    )


def _hint_for(char: str, name: str) -> str:
    if char in _CYRILLIC_LOOKALIKES:
        letter = _CYRILLIC_LOOKALIKES[char]
        return f"this looks like the letter {letter} but is {name}; type {letter} on your keyboard"
    greek = _GREEK_LETTER.fullmatch(name)
    if char in _GREEK_LOOKALIKES and greek is not None:
        letter, word = _GREEK_LOOKALIKES[char], _greek_word(greek)
        return (
            f"this looks like the letter {letter} but is {name}; type {letter} on your keyboard,"
            f" or {word} for the Greek letter"
        )
    if greek is not None:
        return f"type {_greek_word(greek)} for the Greek letter {char}"
    if char in _DASHES:
        return "type the minus sign as - from the keyboard"
    if char in _SPECIAL_HINTS:
        return _SPECIAL_HINTS[char]
    # Only for the hint: NFKC says which keyboard character a styled one stands for (𝑥 -> x).
    plain = unicodedata.normalize("NFKC", char)
    if "SUPERSCRIPT" in name and plain.isascii() and plain.isalnum():
        return f"write a power with ^, e.g. x^{plain}"
    if len(plain) == 1 and plain.isascii() and plain.isalnum():
        kind = "digit" if plain.isdigit() else "letter"
        return f"this looks like the {kind} {plain} but is {name}; type {plain} on your keyboard"
    if plain in ACCEPTED or plain in FUNCTIONS:
        return f"type {ACCEPTED.get(plain, plain)}"
    if "\u2044" in plain and plain.replace("\u2044", "/").isascii():
        return f"write {plain.replace(chr(0x2044), '/')}"  # ½ -> 1/2
    return _KEYBOARD_HINT


def _greek_word(match: re.Match[str]) -> str:
    # Unicode spells the letter LAMDA; the name the learner syntax draws as λ is lambda.
    word = match.group(2).lower().replace("lamda", "lambda")
    return word.capitalize() if match.group(1) == "CAPITAL" and word != "pi" else word


@dataclass(frozen=True, slots=True)
class Reading:
    """The learner syntax read from `original`, and where each of its characters came from."""

    original: str
    text: str  # ASCII learner syntax
    sources: tuple[int, ...]  # for each character of `text`, the offset in `original`
    notes: tuple[str, ...]  # one per kind of character read, in order of first appearance

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The offsets in `original` of `text[start:end]` (end exclusive)."""
        if start >= len(self.text):
            return len(self.original), len(self.original)
        first = self.sources[start]
        if end <= start:
            return first, first
        return first, self.sources[min(end, len(self.text)) - 1] + 1

    def column(self, offset: int) -> int:
        """The learner's 1-based column of the character at `offset` in `text`."""
        return self.span(offset, offset + 1)[0] + 1

    def relocate(self, error: InputError) -> InputError:
        """`error`, raised on `text`, with its columns moved onto the learner's text."""
        if error.column is not None:
            end = error.end_column if error.end_column is not None else error.column
            start, stop = self.span(error.column - 1, end - 1)
            error.column, error.end_column = start + 1, stop + 1
        error.text = self.original
        return error

    def relocate_nodes(self, nodes: tuple[ast.Node, ...]) -> tuple[ast.Node, ...]:
        """The same trees with offsets into `original`, so later errors (sizes, building) and
        slices of the learner's text line up. Rebuilt children first, without recursion."""
        return tuple(self._relocate(node) for node in nodes)

    def _relocate(self, root: ast.Node) -> ast.Node:
        moved: dict[int, ast.Node] = {}
        for node in reversed(list(ast.walk(root))):  # children before their parents
            start, end = self.span(node.start, node.end)
            new: ast.Node
            if isinstance(node, ast.Unary):
                new = ast.Unary(start, end, node.op, moved[id(node.operand)])
            elif isinstance(node, ast.Binary):
                new = ast.Binary(start, end, node.op, moved[id(node.left)],
                                 moved[id(node.right)])
            elif isinstance(node, ast.Group):
                new = ast.Group(start, end, moved[id(node.inner)])
            elif isinstance(node, ast.Sequence):
                items = tuple(moved[id(item)] for item in node.items)
                new = ast.Sequence(start, end, items, node.bracket)
            elif isinstance(node, ast.Call):
                args = tuple(moved[id(arg)] for arg in node.args)
                name_end = self.span(node.start, node.name_end)[1]
                new = ast.Call(start, end, node.name, args, name_end)
            else:  # a leaf: Number, Name, Constant
                new = replace(node, start=start, end=end)
            moved[id(node)] = new
        return moved[id(root)]


def read(text: str) -> Reading:
    """Read pasted Unicode as the learner syntax, or raise a located `InputError`.

    >>> reading = read("2×π + x²")
    >>> reading.text, reading.notes
    ('2*pi + x^2', ('read × as *', 'read π as pi', 'read ² as ^2'))
    >>> reading.span(2, 4)  # "pi" came from the π at offset 2
    (2, 3)
    """
    return _Reader(text).read()


def _between_digits(text: str, offset: int) -> bool:
    digits = "0123456789"
    return (
        0 < offset < len(text) - 1
        and _FULLWIDTH.get(text[offset - 1], text[offset - 1]) in digits
        and _FULLWIDTH.get(text[offset + 1], text[offset + 1]) in digits
    )


class _Reader:
    """Reads learner text in two passes: characters one for one, then √ and superscripts,
    which need what stands next to them."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.flat = ""  # the text after the first pass
        self.flat_sources: list[int] = []  # the learner's offset of each character of flat
        self.edges: set[int] = set()  # flat offsets where a name read from π or ∞ begins or ends
        self.notes: dict[str, str] = {}
        self.out: list[str] = []
        self.sources: list[int] = []
        self.closers: dict[int, int] = {}  # flat index -> ")" to write before it (after √x)

    def read(self) -> Reading:
        self.first_pass()
        return self.second_pass()

    def first_pass(self) -> None:
        """Characters read one for one (π -> pi) into `flat`; √ and superscripts stay for the
        second pass, which needs their neighbours."""
        text = self.original
        chars: list[str] = []
        fullwidth: dict[str, str] = {}  # full-width characters met, and their reading
        for offset, char in enumerate(text):
            if char.isascii():
                if not char.isprintable() and char not in "\t\r\n":
                    raise unsupported_character(text, offset)
                chars.append(char)
                self.flat_sources.append(offset)
                continue
            reading = ACCEPTED.get(char)
            if reading is None:
                raise unsupported_character(text, offset)
            if char == ROOT or char in _SUPERSCRIPTS:
                chars.append(char)
                self.flat_sources.append(offset)
                continue
            if char == "\u00b7" and _between_digits(text, offset):
                before = _FULLWIDTH.get(text[offset - 1], text[offset - 1])
                after = _FULLWIDTH.get(text[offset + 1], text[offset + 1])
                raise InputError(
                    "syntax",
                    "A middle dot between two digits may be a decimal point or a product.",
                    column=offset + 1,
                    end_column=offset + 2,
                    hint=f"write {before}*{after} for a product, or {before}.{after} for a"
                    " decimal number",
                    text=text,
                )
            if len(reading) > 1:
                # π and ∞ become names: where they touch a letter or digit, the parser must
                # still see two operands (πx is pi x, a missing '*', never a variable pix).
                self.edges.update((len(chars), len(chars) + len(reading)))
            chars.extend(reading)
            self.flat_sources.extend([offset] * len(reading))
            if char in _FULLWIDTH:
                fullwidth.setdefault(char, reading)
                self.notes.setdefault("fullwidth", "")
            elif char not in _SPACES:
                self.notes.setdefault(char, f"read {char} as {reading}")
        if fullwidth:
            self.notes["fullwidth"] = (
                f"read full-width {''.join(fullwidth)} as {''.join(fullwidth.values())}"
            )
        self.flat = "".join(chars)

    def second_pass(self) -> Reading:
        flat, i = self.flat, 0
        while True:
            for _ in range(self.closers.pop(i, 0)):
                self.emit(")", i - 1)
            if i >= len(flat):
                break
            char = flat[i]
            if char == ROOT:
                i = self.root(i)
            elif char in _SUPERSCRIPTS:
                i = self.superscript(i)
            else:
                self.emit(char, i)
                i += 1
        return Reading(self.original, "".join(self.out), tuple(self.sources),
                       tuple(self.notes.values()))

    def emit(self, text: str, flat_index: int) -> None:
        if text[0] in _WORD_CHARS and self.out and self.out[-1][-1] in _WORD_CHARS and (
            flat_index in self.edges or text == "sqrt" or text == "sqrt("
        ):
            self.out.append(" ")  # 2π is 2 pi and x√2 is x sqrt(2): two operands, not one name
            self.sources.append(self.flat_sources[flat_index])
        self.out.append(text)
        self.sources.extend([self.flat_sources[flat_index]] * len(text))

    def error(self, code: str, message: str, start: int, end: int, hint: str) -> InputError:
        """A located error over flat[start:end]."""
        return InputError(
            code,
            message,
            column=self.flat_sources[start] + 1,
            end_column=self.flat_sources[end - 1] + 2,
            hint=hint,
            text=self.original,
        )

    def skip_blanks(self, i: int) -> int:
        while i < len(self.flat) and self.flat[i] in _BLANKS:
            i += 1
        return i

    # ------------------------------------------------------------------------------- √

    def root(self, i: int) -> int:
        """√ at flat[i]: sqrt of the one number, name, call or bracketed group after it.

        √2 -> sqrt(2), √(x+1) -> sqrt(x+1), √x*y -> sqrt(x)*y, √√x -> sqrt(sqrt(x)). When
        the extent is not clear (√2x, √x², √x^2) the reading would be a guess: refused.
        """
        flat = self.flat
        first = self.skip_blanks(i + 1)
        operand = first
        while operand < len(flat) and flat[operand] == ROOT:  # √√x: the roots share one end
            operand = self.skip_blanks(operand + 1)
        end = self.operand_end(i, operand)
        self.check_after_root(i, operand, end)
        shown = flat[operand:end]
        if shown.isascii():
            roots = flat.count(ROOT, i, operand)  # √√x is sqrt(sqrt(x))
            reading = "sqrt(" * roots + _ungroup(shown) + ")" * roots
            self.notes.setdefault(ROOT, f"read {self.quote(i, end)} as {reading}")
        else:
            self.notes.setdefault(ROOT, "read \u221a as sqrt")
        if first == operand and flat[operand] == "(":
            self.emit("sqrt", i)  # the learner's brackets are sqrt's
        else:
            self.emit("sqrt(", i)
            self.closers[end] = self.closers.get(end, 0) + 1
        return first

    def operand_end(self, root: int, i: int) -> int:
        flat = self.flat
        if i < len(flat) and flat[i] == "(":
            return self.closing(i) + 1
        number = _NUMBER.match(flat, i)
        if number is not None:
            return number.end()
        name = _NAME.match(flat, i)
        if name is not None:
            end = next((j for j in range(i + 1, name.end()) if j in self.edges), name.end())
            if end < len(flat) and flat[end] == "(" and flat[i:end] in FUNCTIONS:
                return self.closing(end) + 1  # √sin(x) -> sqrt(sin(x))
            return end
        stop = min(i + 1, len(flat))
        raise self.error(
            "syntax",
            "A \u221a must be followed by a number, a name or brackets.",
            root,
            max(stop, root + 1),
            hint="write sqrt(...) with what the root covers in the brackets, e.g. sqrt(-1)",
        )

    def closing(self, i: int) -> int:
        close = _closing(self.flat, i)
        if close is not None:
            return close
        raise self.error(
            "unbalanced_parentheses",
            f"The '(' at column {self.flat_sources[i] + 1} is never closed.",
            i,
            i + 1,
            hint="add a ')' where the bracketed part ends",
        )

    def check_after_root(self, root: int, operand: int, end: int) -> None:
        """Refuse √ when the text does not say how much it covers: √2x, √x², √(x+1)^2."""
        flat = self.flat
        written = flat[operand:end]
        if end < len(flat) and (flat[end] in _WORD_CHARS or flat[end] in "(["):
            following = _NAME.match(flat, end) or _NUMBER.match(flat, end)
            stop = following.end() if following is not None else end + 1
            if flat[end] == "(" and (close := _closing(flat, end)) is not None:
                stop = close + 1  # √x(y): the whole group
            after = flat[end:stop]
            hint = "put what the root covers in brackets, e.g. sqrt(2)*x or sqrt(2*x)"
            if (following is not None or after.startswith("(")) and (written + after).isascii():
                hint = f"write sqrt({_ungroup(written)})*{after} or sqrt({written}*{after})"
            raise self.error(
                "syntax",
                f"It is not clear how much the \u221a covers: {self.quote(root, stop)} can be"
                " read two ways.",
                root,
                stop,
                hint=hint,
            )
        power = self.skip_blanks(end)
        if power < len(flat) and (flat[power] == "^" or flat[power] in _SUPERSCRIPTS):
            stop, exponent = power + 1, None
            if flat[power] in _SUPERSCRIPTS:
                while stop < len(flat) and flat[stop] in _SUPERSCRIPTS:
                    stop += 1
                exponent = _exponent("".join(_SUPERSCRIPTS[c] for c in flat[power:stop]))
            elif (caret := _CARET_EXPONENT.match(flat, power)) is not None:
                stop, exponent = caret.end(), _exponent(caret.group(1))
            hint = "put what the root covers in brackets, e.g. sqrt(x)^2 or sqrt(x^2)"
            if exponent is not None and written.isascii():
                hint = (
                    f"write sqrt({_ungroup(written)})^{exponent} or sqrt({written}^{exponent})"
                )
            raise self.error(
                "syntax",
                "It is not clear whether the power applies to the root or to what is under it.",
                root,
                stop,
                hint=hint,
            )

    def quote(self, start: int, end: int) -> str:
        """The learner's own text of flat[start:end]."""
        return self.original[self.flat_sources[start] : self.flat_sources[end - 1] + 1]

    # ----------------------------------------------------------------------- superscripts

    def superscript(self, i: int) -> int:
        """A run of superscripts at flat[i]: a power of what stands before it.

        x² -> x^2, x²³ -> x^23, x⁻¹ -> x^(-1). A power of a power (x²^3, x^2², 2^x²) is
        refused: the plain text does not say which power comes first.
        """
        flat = self.flat
        end = i
        while end < len(flat) and flat[end] in _SUPERSCRIPTS:
            end += 1
        run = flat[i:end]
        value = "".join(_SUPERSCRIPTS[c] for c in run)
        if _SIGNED_DIGITS.fullmatch(value) is None:
            raise self.error(
                "syntax",
                f"The superscript {run} is not a power: a superscript sign needs superscript"
                " digits after it.",
                i,
                end,
                hint="write the power with ^, e.g. x^(-1)",
            )
        if self.power_of_power(i, end):
            raise self.error(
                "syntax",
                "It is not clear which power comes first here.",
                i,
                end,
                hint=f"write the powers with ^ and brackets, e.g. (a^b)^{_exponent(value)} or"
                f" a^(b^{_exponent(value)})",
            )
        exponent = _exponent(value)
        self.notes.setdefault(run, f"read {run} as ^{exponent}")
        self.emit("^", i)
        if exponent != value:
            self.emit("(", i)
        for j, char in enumerate(run):
            self.emit(_SUPERSCRIPTS[char], i + j)
        if exponent != value:
            self.emit(")", end - 1)
        elif end < len(flat) and (flat[end] in _WORD_CHARS or flat[end] == "."):
            self.emit(" ", end - 1)  # x²3 and x²e5 are not x^23 and x^2e5: a '*' is missing
        return end

    def power_of_power(self, i: int, end: int) -> bool:
        """True when the superscript at flat[i:end] follows an exponent or is followed by ^."""
        flat = self.flat
        after = self.skip_blanks(end)
        if after < len(flat) and flat[after] == "^":
            return True
        k = i - 1
        while k >= 0 and flat[k] in _BLANKS:
            k -= 1
        if k >= 0 and flat[k] in _SUPERSCRIPTS:
            return True  # x² ³
        base = self.base_start(k)
        if base is None:
            return False  # nothing to raise to a power: the parser says so
        k = base - 1
        while k >= 0 and flat[k] in _BLANKS_AND_SIGNS:  # 2^-x²; but x²-y² is two powers
            k -= 1
        return k >= 0 and flat[k] == "^"

    def base_start(self, k: int) -> int | None:
        """Where the operand ending at flat[k] starts: a number, a name, a call or a group."""
        flat = self.flat
        if k < 0:
            return None
        if flat[k] == ")":
            depth = 0
            for j in range(k, -1, -1):
                if flat[j] == ")":
                    depth += 1
                elif flat[j] == "(":
                    depth -= 1
                    if depth == 0:
                        while j > 0 and flat[j - 1] in _WORD_CHARS:  # sin(x)²
                            j -= 1
                        return j
            return None
        if flat[k] in _WORD_CHARS or flat[k] == ".":
            while k > 0 and (flat[k - 1] in _WORD_CHARS or flat[k - 1] == "."):
                k -= 1
            return k
        return None


def _closing(text: str, i: int) -> int | None:
    """The offset of the ')' closing the '(' at `i`, or None when it is never closed."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def _exponent(value: str) -> str:
    """A superscript's value as written after ^: signed ones in brackets."""
    return f"({value})" if value[:1] in {"+", "-"} else value


def _ungroup(fragment: str) -> str:
    """(x+1) -> x+1 when the brackets enclose the whole fragment."""
    if fragment.startswith("(") and fragment.endswith(")"):
        depth = 0
        for offset, char in enumerate(fragment):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and offset < len(fragment) - 1:
                return fragment
        return fragment[1:-1]
    return fragment
