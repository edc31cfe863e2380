"""Pasted Unicode: what is read as the learner syntax, what is refused, and the columns of both.

Every accepted character is listed with the reading it gets; every refused class with the error
it gets (code, 1-based column and end column in the learner's own text, hint). Columns always
point into what the learner typed, even after π became pi and x² became x^2.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mathgrader
from mathgrader import InputError
from mathgrader.checker.equivalence import Checker
from mathgrader.checker.options import GradeOptions
from mathgrader.language.parser import parse_tree
from mathgrader.language.preview import preview
from mathgrader.language.unicode import ACCEPTED, read

_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run and every machine
)

# input -> the learner syntax it is read as
ACCEPTED_PAIRS: list[tuple[str, str]] = [
    # Minus signs: the typeset minus and the en dash of autocorrected documents.
    ("x \u2212 1", "x - 1"),
    ("x \u2013 1", "x - 1"),
    ("2e\u22123", "2e-3"),
    # Products and quotients.
    ("3\u00d7x", "3*x"),
    ("3\u00b7x", "3*x"),
    ("3 \u00b7 4", "3 * 4"),
    ("3\u22c5x", "3*x"),
    ("3\u2219x", "3*x"),
    ("3\u2217x", "3*x"),
    ("x\u00f72", "x/2"),
    ("x\u22152", "x/2"),
    # Constants.
    ("2*\u03c0", "2*pi"),
    ("-\u221e", "-oo"),
    ("2\u00d7\u03c0", "2*pi"),
    # The square root covers one number, name, call or bracketed group.
    ("\u221a2", "sqrt(2)"),
    ("\u221a2.5", "sqrt(2.5)"),
    ("\u221ax", "sqrt(x)"),
    ("\u221ax2", "sqrt(x2)"),
    ("\u221a(x+1)", "sqrt(x+1)"),
    ("\u221ax*y", "sqrt(x)*y"),
    ("\u221ax/2", "sqrt(x)/2"),
    ("\u221a\u03c0", "sqrt(pi)"),
    ("\u221a 2", "sqrt(2)"),
    ("\u221asin(x)", "sqrt(sin(x))"),
    ("\u221a\u221ax", "sqrt(sqrt(x))"),
    ("\u221a\u221a(x)", "sqrt(sqrt(x))"),
    ("1 + \u221ax", "1 + sqrt(x)"),
    # Superscripts: a power of what stands before them.
    ("x\u2070", "x^0"),
    ("x\u00b9", "x^1"),
    ("x\u00b2", "x^2"),
    ("x\u00b3", "x^3"),
    ("x\u2074", "x^4"),
    ("x\u2075", "x^5"),
    ("x\u2076", "x^6"),
    ("x\u2077", "x^7"),
    ("x\u2078", "x^8"),
    ("x\u2079", "x^9"),
    ("x\u00b2\u00b3", "x^23"),
    ("x\u207b\u00b9", "x^(-1)"),
    ("x\u207a\u00b2", "x^(+2)"),
    ("(x+1)\u00b2", "(x+1)^2"),
    ("sin(x)\u00b2", "sin(x)^2"),
    ("-x\u00b2", "-x^2"),
    ("x\u00b2-y\u00b2", "x^2-y^2"),
    ("2\u00d710\u207b\u00b3", "2*10^(-3)"),
    ("\u03c0\u00b2", "pi^2"),
    # Spaces that look like a space.
    ("x\u00a0+\u00a01", "x + 1"),
    ("x\u2009+\u20091", "x + 1"),
    ("x\u2002+\u20031", "x + 1"),
    ("x\u2000+\u20011", "x + 1"),
    ("x\u2004+\u20051", "x + 1"),
    ("x\u2006+\u20071", "x + 1"),
    ("x\u2008+\u200a1", "x + 1"),
    ("x\u202f+\u205f1", "x + 1"),
    ("x\u3000+\u20281", "x + 1"),
    ("x\u2029+ 1", "x + 1"),
    # Full-width forms, as an input method types them.
    ("\uff12\uff0a\uff58\uff3e\uff12", "2*x^2"),
    ("\uff53\uff49\uff4e\uff08\uff58\uff09", "sin(x)"),
]


@pytest.mark.parametrize(("text", "reading"), ACCEPTED_PAIRS, ids=[t for t, _ in ACCEPTED_PAIRS])
def test_accepted_character_is_read_as_the_syntax(text: str, reading: str) -> None:
    assert read(text).text == reading
    assert mathgrader.parse(text) == mathgrader.parse(reading)
    assert preview(text).text == preview(reading).text


def test_every_accepted_character_is_listed() -> None:
    listed = {char for text, _ in ACCEPTED_PAIRS for char in text}
    fullwidth = {chr(c) for c in range(0xFF01, 0xFF5F)}
    assert set(ACCEPTED) - fullwidth <= listed


@pytest.mark.parametrize("code", range(0xFF01, 0xFF5F), ids=lambda c: chr(c))
def test_full_width_characters_are_their_ascii_twins(code: int) -> None:
    char = chr(code)
    assert read(char).text == chr(code - 0xFEE0)


# input -> (code, column, end_column, hint): errors found after the reading, located in the
# learner's text.
COLUMNS: list[tuple[str, tuple[str, int, int, str]]] = [
    ("\u03c0*3x", ("implicit_multiplication", 4, 5, "write 3*x")),
    ("\u03c0\u03c0*3x", ("implicit_multiplication", 2, 3, "write pi*pi")),
    ("\u221a2*3x", ("implicit_multiplication", 5, 6, "write 3*x")),
    ("x\u00b2*3x", ("implicit_multiplication", 5, 6, "write 3*x")),
    ("x\u207b\u00b9 + 2y", ("implicit_multiplication", 8, 9, "write 2*y")),
    ("\u03c0x", ("implicit_multiplication", 2, 3, "write pi*x")),  # never a variable "pix"
    ("2\u03c0", ("implicit_multiplication", 2, 3, "write 2*pi")),
    ("x\u221a2", ("implicit_multiplication", 2, 3, "write x*sqrt(2)")),
    ("2\u221ax", ("implicit_multiplication", 2, 3, "write 2*sqrt(x)")),
    ("\u221ax\u221ay", ("implicit_multiplication", 3, 4, "write sqrt(x)*sqrt(y)")),
    ("x\u00b23", ("implicit_multiplication", 3, 4, "write x^2*3")),  # never x^23
    ("x\u00b2y", ("implicit_multiplication", 3, 4, "write x^2*y")),  # was "2*y": not typed
    ("x\u00b2e5", ("implicit_multiplication", 3, 5, "write x^2*e5")),  # never x^(2e5)
    ("sin\u00b2(x)", ("function_power", 1, 5, "write sin(x)^2")),
    ("sin\u03c0", ("function_without_parentheses", 1, 5, "write sin(pi)")),
    (
        "\u03c0 \u00d7 (x",
        ("unbalanced_parentheses", 5, 6, "add a ')' where the bracketed part ends"),
    ),
    ("\u03c0+", ("syntax", 2, 3, "complete the expression after '+', or remove it")),
    ("\u00b2+x", ("syntax", 1, 2, "something is missing before '^'")),
    ("\uff13\uff58", ("implicit_multiplication", 2, 3, "write 3*x")),
    ("gcd(\u03c0, 2, 3)", ("wrong_arity", 1, 13, "write gcd((pi, 2, 3))")),
    ("9\u2079\u2079\u2079\u2079\u2079\u2079", ("number_too_large", 1, 8,
                                                 "numbers may have at most 4000 digits")),
]


@pytest.mark.parametrize(("text", "expected"), COLUMNS, ids=[t for t, _ in COLUMNS])
def test_errors_point_into_the_learners_text(
    text: str, expected: tuple[str, int, int, str]
) -> None:
    with pytest.raises(InputError) as info:
        mathgrader.parse(text)
    error = info.value
    assert (error.code, error.column, error.end_column, error.hint) == expected
    assert error.text == text  # context() draws the learner's line, caret under their column
    assert error.context().splitlines()[0] == text


def test_a_message_that_quotes_a_column_quotes_the_learners() -> None:
    with pytest.raises(InputError) as info:
        parse_tree("\u03c0*\u03c0 + (x")  # read as pi*pi + (x, where the ( is at column 9
    assert info.value.message == "The '(' at column 7 is never closed."
    assert info.value.column == 7


# input -> (code, column, end_column, words the message must contain, hint)
REFUSED: list[tuple[str, tuple[str, int, int, str, str]]] = [
    # Lookalike letters.
    (
        "2*\u0445",
        (
            "unsupported_character", 3, 4, "CYRILLIC SMALL LETTER HA",
            "this looks like the letter x but is CYRILLIC SMALL LETTER HA; type x on your keyboard",
        ),
    ),
    (
        "\u0430+1",
        (
            "unsupported_character", 1, 2, "CYRILLIC SMALL LETTER A",
            "this looks like the letter a but is CYRILLIC SMALL LETTER A; type a on your keyboard",
        ),
    ),
    (
        "\u03bd*t",
        (
            "unsupported_character", 1, 2, "GREEK SMALL LETTER NU",
            "this looks like the letter v but is GREEK SMALL LETTER NU; type v on your keyboard,"
            " or nu for the Greek letter",
        ),
    ),
    (
        "\U0001d465^2",
        (
            "unsupported_character", 1, 2, "MATHEMATICAL ITALIC SMALL X",
            "this looks like the letter x but is MATHEMATICAL ITALIC SMALL X; type x on your"
            " keyboard",
        ),
    ),
    # Other letters and symbols.
    ("2*\u03b8", ("unsupported_character", 3, 4, "GREEK SMALL LETTER THETA",
                  "type theta for the Greek letter \u03b8")),
    # Unicode spells it LAMDA; the name drawn as the letter is lambda
    ("2*\u03bb", ("unsupported_character", 3, 4, "GREEK SMALL LETTER LAMDA",
                  "type lambda for the Greek letter \u03bb")),
    ("\u039b", ("unsupported_character", 1, 2, "GREEK CAPITAL LETTER LAMDA",
                "type Lambda for the Greek letter \u039b")),
    ("caf\u00e9", ("unsupported_character", 4, 5, "LATIN SMALL LETTER E WITH ACUTE",
                   "use only the characters on a standard keyboard")),
    ("\ufb01", ("unsupported_character", 1, 2, "LATIN SMALL LIGATURE FI",
                 "use only the characters on a standard keyboard")),
    ("\u00bd", ("unsupported_character", 1, 2, "VULGAR FRACTION ONE HALF", "write 1/2")),
    ("\u212f^x", ("unsupported_character", 1, 2, "SCRIPT SMALL E", "type E for Euler's number")),
    ("90\u00b0", ("unsupported_character", 3, 4, "DEGREE SIGN",
                  "angles are in radians: for degrees write rad(...), e.g. rad(90)")),
    ("x\u207f", ("unsupported_character", 2, 3, "SUPERSCRIPT LATIN SMALL LETTER N",
                 "write a power with ^, e.g. x^n")),
    # Dashes that are not minus signs.
    ("x \u2014 1", ("unsupported_character", 3, 4, "EM DASH",
                    "type the minus sign as - from the keyboard")),
    ("x\u20121", ("unsupported_character", 2, 3, "FIGURE DASH",
                  "type the minus sign as - from the keyboard")),
    ("x\u20101", ("unsupported_character", 2, 3, "HYPHEN",
                  "type the minus sign as - from the keyboard")),
    ("1\u20442", ("unsupported_character", 2, 3, "FRACTION SLASH", "type division as /")),
    # Invisible characters: zero-width, bidirectional controls, NUL and other controls.
    *[
        (
            f"1{char}0",
            ("unsupported_character", 2, 3, f"U+{ord(char):04X}",
             "delete this character: retype the text around it instead of pasting it"),
        )
        for char in (
            "\u200b\u200c\u200d\ufeff\u2060\u00ad"  # zero-width
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi controls
            "\x00\x01\x1b\x7f\x85"  # controls, C0 and C1
        )
    ],
    ("\u03c0*x\x00", ("unsupported_character", 4, 5, "U+0000, a control character",
                      "delete this character: retype the text around it instead of pasting it")),
    ("x\u0302", ("unsupported_character", 2, 3, "COMBINING CIRCUMFLEX ACCENT",
                 "use only the characters on a standard keyboard")),
    ("\ue000", ("unsupported_character", 1, 2, "U+E000",
                "use only the characters on a standard keyboard")),
]


@pytest.mark.parametrize(("text", "expected"), REFUSED, ids=[repr(t) for t, _ in REFUSED])
def test_refused_character_gets_a_located_error(
    text: str, expected: tuple[str, int, int, str, str]
) -> None:
    code, column, end_column, named, hint = expected
    with pytest.raises(InputError) as info:
        mathgrader.parse(text)
    error = info.value
    assert (error.code, error.column, error.end_column, error.hint) == (
        code, column, end_column, hint
    )
    assert named in error.message
    assert text[column - 1] not in error.message or text[column - 1].isprintable()


# input -> (column, end_column, hint): notation whose reading would be a guess.
AMBIGUOUS: list[tuple[str, tuple[int, int, str]]] = [
    ("\u221a2x", (1, 4, "write sqrt(2)*x or sqrt(2*x)")),
    ("\u221a2\u03c0", (1, 4, "write sqrt(2)*pi or sqrt(2*pi)")),
    ("\u221a\u03c0x", (1, 4, "write sqrt(pi)*x or sqrt(pi*x)")),
    ("\u221a(2)x", (1, 6, "write sqrt(2)*x or sqrt((2)*x)")),
    ("\u221ax(y)", (1, 6, "write sqrt(x)*(y) or sqrt(x*(y))")),
    ("\u221ax[y]", (1, 4, "put what the root covers in brackets, e.g. sqrt(2)*x or sqrt(2*x)")),
    ("\u221ax\u00b2", (1, 4, "write sqrt(x)^2 or sqrt(x^2)")),
    ("\u221ax^3", (1, 5, "write sqrt(x)^3 or sqrt(x^3)")),
    ("\u221a(x+1)\u00b2", (1, 8, "write sqrt(x+1)^2 or sqrt((x+1)^2)")),
    ("\u221ax ^ -2", (1, 8, "write sqrt(x)^(-2) or sqrt(x^(-2))")),
    (
        "\u221a-1",
        (1, 3, "write sqrt(...) with what the root covers in the brackets, e.g. sqrt(-1)"),
    ),
    (
        "x+\u221a",
        (3, 4, "write sqrt(...) with what the root covers in the brackets, e.g. sqrt(-1)"),
    ),
    ("x\u00b2^3", (2, 3, "write the powers with ^ and brackets, e.g. (a^b)^2 or a^(b^2)")),
    ("x^2\u00b3", (4, 5, "write the powers with ^ and brackets, e.g. (a^b)^3 or a^(b^3)")),
    ("2^x\u00b2", (4, 5, "write the powers with ^ and brackets, e.g. (a^b)^2 or a^(b^2)")),
    ("2^-x\u00b2", (5, 6, "write the powers with ^ and brackets, e.g. (a^b)^2 or a^(b^2)")),
    ("E^(x)\u00b2", (6, 7, "write the powers with ^ and brackets, e.g. (a^b)^2 or a^(b^2)")),
    ("x\u00b2 \u00b3", (4, 5, "write the powers with ^ and brackets, e.g. (a^b)^3 or a^(b^3)")),
    ("x\u207b", (2, 3, "write the power with ^, e.g. x^(-1)")),
    ("x\u00b2\u207b\u00b9", (2, 5, "write the power with ^, e.g. x^(-1)")),
    ("2\u00b75", (2, 3, "write 2*5 for a product, or 2.5 for a decimal number")),
]


@pytest.mark.parametrize(("text", "expected"), AMBIGUOUS, ids=[t for t, _ in AMBIGUOUS])
def test_ambiguous_notation_is_refused(text: str, expected: tuple[int, int, str]) -> None:
    with pytest.raises(InputError) as info:
        mathgrader.parse(text)
    error = info.value
    assert (error.code, error.column, error.end_column, error.hint) == ("syntax", *expected)


@pytest.mark.parametrize(
    ("text", "hint"),
    [(t, h) for t, (_, _, h) in AMBIGUOUS if h.startswith("write sqrt(") and " or " in h],
    ids=[t for t, (_, _, h) in AMBIGUOUS if h.startswith("write sqrt(") and " or " in h],
)
def test_both_readings_a_hint_offers_parse(text: str, hint: str) -> None:
    for suggestion in hint.removeprefix("write ").split(" or "):
        mathgrader.parse(suggestion)


def test_unclosed_bracket_under_a_root_is_located() -> None:
    with pytest.raises(InputError) as info:
        mathgrader.parse("\u221asin(x")
    assert (info.value.code, info.value.column) == ("unbalanced_parentheses", 5)


# input -> the preview's warnings: one note per kind of character, in order of appearance.
NOTES: list[tuple[str, list[str]]] = [
    ("2\u00d7\u03c0", ["read \u00d7 as *", "read \u03c0 as pi"]),
    ("x\u00b2 + y\u00b2 + z\u00b3", ["read \u00b2 as ^2", "read \u00b3 as ^3"]),
    ("x\u207b\u00b9", ["read \u207b\u00b9 as ^(-1)"]),
    ("\u221a2 + \u221a3", ["read \u221a2 as sqrt(2)"]),
    ("\u221a(x+1)", ["read \u221a(x+1) as sqrt(x+1)"]),
    ("\u221a\u221a2", ["read \u221a\u221a2 as sqrt(sqrt(2))"]),  # was "as sqrt(2)"
    ("\u221a \u221a(x+1)", ["read \u221a \u221a(x+1) as sqrt(sqrt(x+1))"]),
    ("x \u2212 1 \u2212 y", ["read \u2212 as -"]),
    ("x \u2013 1", ["read \u2013 as -"]),
    ("\u221e", ["read \u221e as oo"]),
    ("\uff12\uff0a\uff58", ["read full-width \uff12\uff0a\uff58 as 2*x"]),
    ("x\u00a0+\u00a01", []),  # a space is a space: nothing to tell
    ("e\u00d72", ["read \u00d7 as *", "e is a variable here; Euler's number is E (uppercase)"]),
    ("x^2", []),
]


@pytest.mark.parametrize(("text", "warnings"), NOTES, ids=[t for t, _ in NOTES])
def test_preview_notes_what_was_read(text: str, warnings: list[str]) -> None:
    assert preview(text).warnings == warnings


def test_preview_shows_the_reading() -> None:
    shown = preview("2\u00d7\u03c0 + \u221ax \u2212 x\u207b\u00b9")
    assert shown.text == "2*pi + sqrt(x) - x^(-1)"
    assert shown.variables == ["x"]
    assert shown.latex == preview("2*pi + sqrt(x) - x^(-1)").latex


def test_tree_offsets_are_the_learners() -> None:
    text = "\u03c0, x\u00b2, \u221a2, x\u207b\u00b9"
    items = parse_tree(text, allow_list=True).items
    assert [text[node.start : node.end] for node in items] == [
        "\u03c0", "x\u00b2", "\u221a2", "x\u207b\u00b9"
    ]


@pytest.mark.parametrize(
    ("reference", "answer", "options", "verdict"),
    [
        ("x^2", "x\u00b2", {}, "correct"),
        ("x^2", "x\u00b3", {}, "incorrect"),
        ("2*pi*r", "2\u00d7\u03c0\u00b7r", {}, "correct"),
        ("sqrt(2)/2", "\u221a2/2", {}, "correct"),
        ("\u03c0*r\u00b2", "pi*r^2", {}, "correct"),  # a key may use them too
        ("2, -3", "\u22123, 2", {"list": "unordered"}, "correct"),
        ("x^2", "\u0445^2", {}, "invalid"),
    ],
)
def test_grading_reads_pasted_symbols(
    reference: str, answer: str, options: dict[str, str], verdict: str
) -> None:
    assert mathgrader.grade(reference, answer, **options).verdict == verdict


def test_list_feedback_quotes_what_the_learner_typed() -> None:
    graded = mathgrader.grade("2, -3", "\u22123, \u221a5", list="ordered")
    assert graded.feedback is not None and "(\u221a5)" in graded.feedback


def test_checker_caches_work_on_the_learners_text() -> None:
    checker, options = Checker(), GradeOptions.from_mapping({})
    first = checker.check("x^2", "x\u00b2", options)
    assert checker.check("x^2", "x\u00b2", options) == first
    assert first.verdict == "correct"
    assert checker.check("x^2", "x^2", options).verdict == "correct"
    invalid = checker.check("x^2", "x\u00b2^3", options)
    assert invalid.verdict == "invalid" and invalid.error is not None
    assert invalid.error["column"] == 2


# ------------------------------------------------------------------------- properties

_ascii = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(32, 127)] + ["\t", "\n", "\r"]),
    max_size=40,
)
_syntax_soup = st.lists(
    st.sampled_from(list("xy2.5e+-*/^()[], ") + ["pi", "sin"]), max_size=30
).map("".join)


@_SETTINGS
@given(_ascii)
def test_ascii_reads_as_itself(text: str) -> None:
    reading = read(text)
    assert reading.text == text
    assert reading.sources == tuple(range(len(text)))
    assert reading.notes == ()


def _outcome(text: str) -> object:
    try:
        parsed = parse_tree(text, allow_list=True)
    except InputError as error:
        return (error.code, error.column, error.end_column, error.message, error.hint)
    return [(node.start, node.end) for node in parsed.items]


@_SETTINGS
@given(_syntax_soup)
def test_one_for_one_replacements_keep_every_column(text: str) -> None:
    """× for *, − for - and a no-break space for a space change no column: the read path gives
    exactly the errors and offsets of the ASCII path."""
    pasted = text.replace("*", "\u00d7").replace("-", "\u2212").replace(" ", "\u00a0")
    assert _outcome(pasted) == _outcome(text)


_pasted_soup = st.lists(
    st.sampled_from(
        list("xy2.5e+-*/^()[], ")
        + ["pi", "sin", "\u221a", "\u00b2", "\u00b3", "\u207b", "\u00b9", "\u03c0", "\u00d7",
           "\u00b7", "\u2212", "\u221e", "\u00a0", "\uff08", "\uff09", "\uff58", "\u0445"]
    ),
    max_size=30,
).map("".join)


@_SETTINGS
@given(_pasted_soup)
def test_pasted_symbols_only_raise_located_errors(text: str) -> None:
    try:
        parsed = parse_tree(text, allow_list=True)
    except InputError as error:
        assert error.column is not None and error.end_column is not None
        assert 1 <= error.column <= error.end_column <= len(text) + 1
        assert error.text in (None, text)  # None: "empty", which draws no line
        return
    for node in parsed.items:  # offsets are the learner's: each item re-reads on its own
        assert 0 <= node.start < node.end <= len(text)
        parse_tree(text[node.start : node.end])
