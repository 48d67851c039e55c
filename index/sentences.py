r"""Sentence spans with exact character offsets.

Hand-written rather than llama-index's splitter: that one rebuilds chunk text from its pieces and
finds offsets afterwards, which drifts where whitespace is folded; here every span indexes the
original text, so a citation is always `text[start:end]`.

A line break ends a sentence, except in hard-wrapped plain text (e-mail, RFCs, text kept at 72
columns) and in a PDF's text layer, where a line was broken because its next word would not fit:
there a single line break inside a paragraph is a space, and a sentence may run over several lines.
A PDF puts no blank line between paragraphs, so the short last line of each ("Petrova.") is
followed by the next paragraph's first: such a line ends its sentence, and is no sign either way
of whether the text is wrapped.

Nor does a line break end a sentence where text extraction put a formula's subscript on a line of
its own ("Global CO\n2 emissions rose", "Al\n2O\n3"): there it is inside a word, and
`join_subscripts` gives the words as written.
"""

from __future__ import annotations

import functools
import re

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt gov sen rep rev vs etc inc ltd co corp "
    "jan feb mar apr jun jul aug sep sept oct nov dec approx dept est fig al e.g i.e a.m p.m u.s "
    "u.k u.n cf viz a.k.a".split()
)
# Words whose period ends a sentence only where they are not written as abbreviations are:
_BEFORE_NUMBER = frozenset({"No", "Nos"})  # capitalised, before a number ("Federalist No. 43")
_BEFORE_QUOTE = frozenset({"lit"})  # before what it translates ("lit. 'comb-bearer'")
_IN_BRACKETS = frozenset({"tr", "transl"})  # in a bracket ("(Russian: ..., tr. Rossiyskaya ...)")
# A sentence ends at . ! ? or … plus any closing quotes or brackets, before white space.
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|\n")
_LAST_TERMINATOR = re.compile(r"[.!?…]+[\"'”’»)\]]*$")
BRACKET_OPENED = 40  # characters back: a bracket opened further back is not an abbreviation's
BRACKET_CLOSES = 20  # characters on: nor one that closes further on
BRACKET_REACH = 300  # characters back and on: where the bracket around `_IN_BRACKETS` opens and closes
WRAP_WIDTHS = range(40, 121)  # the wrapping recognised: longer lines are paragraphs of their own
WRAP_SAMPLE = 20_000  # the characters, from the start of a document, that show whether it is wrapped
SLACK = 0.9  # wrapping that counts bytes or tabs breaks a little early: a word that nearly fit did not
FULL = 0.75  # and a wrapped line is at least this full (a record's short fields are not)
PROSE_WORDS = 6  # prose has at least this many words to a full line (a list of URLs or figures has not)
CONTINUED = 0.3  # and at least this share of its wrapped lines go on in lower case (verse and logs do not)
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•+]|\d{1,2}[.)]|[a-z][.)])\s")
_STRUCTURE = re.compile(r"[ \t]*(?:#|\||```|~~~|>)")  # a Markdown heading, table row or code fence; a quote
_FIELD = re.compile(r"[ \t]*\w[\w .'-]{0,40}:\s")  # "city: Oslo", a line of a record
_HEADER = re.compile(r"[ \t]*[A-Za-z][\w-]{0,30}:\s")  # "Subject: ", a field inside wrapped text
_ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr "
    "Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir "
    "Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl "
    "Mc Lv Ts Og R").split()  # and R, organic chemistry's group ("NR\n2")
_SYMBOL = "(?:" + "|".join(sorted(_ELEMENTS, key=len, reverse=True)) + ")"
# A line break between up to four element symbols ("CO", "SiO", "Al"), not a Roman numeral ("World
# War II"), and the one or two digits of their subscript, which go on with a symbol, a space or
# punctuation: "CO\n2 emissions", "Al\n2O\n3".
_SUBSCRIPT_BREAK = re.compile(rf"(?<![A-Za-z])(?![IVX]+\n)((?:{_SYMBOL}\d{{0,2}}){{1,4}})\n(?=\d{{1,2}}(?![\da-z]))")


def join_subscripts(text: str) -> str:
    r"""`text` without the line breaks that cut a formula from its subscript: "CO\n2" reads "CO2".
    For words, not offsets: the text comes back shorter. (The lexical index still reads "CO" and
    "2": joining them there would mean indexing every document again.)"""
    return _SUBSCRIPT_BREAK.sub(r"\1", text) if "\n" in text else text


def _continues(line: str, following: str) -> bool:
    """Whether the next line may go on with the same paragraph: it starts no list item, heading,
    table row, code fence, quote or header field, and neither line is blank."""
    return bool(line.strip() and following.strip()) and not (
        _LIST_ITEM.match(following) or _STRUCTURE.match(following) or _STRUCTURE.match(line)
        or _HEADER.match(following))


def _forced(line: str, following: str, width: int) -> bool:
    """Whether `line` was broken only because the next word would not (quite) fit in `width`."""
    length = len(line.rstrip())
    return (_continues(line, following) and length >= FULL * width
            and length + 1 + len(following.split(maxsplit=1)[0]) > SLACK * width)


def wrap_width(text: str) -> int | None:
    """The width that hard-wrapped prose was wrapped at, or None when its lines are not wrapped.

    In wrapped prose nearly every line inside a paragraph is nearly full, ends where the next word
    would not have fit, and the next line often goes on in lower case. One paragraph per line is
    wider than any wrapping; a record of fields ("city: Oslo", a line each), a list of URLs or
    figures, a log and verse are not prose. The start of the document decides, so that every part
    of it is split the same way at a bounded cost.
    """
    return _wrap_width(text[:WRAP_SAMPLE])


@functools.lru_cache(maxsize=64)
def _wrap_width(sample: str) -> int | None:
    lines = sample.split("\n")
    full = [line for line in lines if line.strip()]
    if len(full) < 4 or sum(bool(_FIELD.match(line)) for line in full) >= 0.5 * len(full):
        return None
    lengths = sorted(len(line.rstrip()) for line in full)
    width = lengths[9 * (len(lengths) - 1) // 10]
    if width not in WRAP_WIDTHS:
        return None
    inside = [(a, b) for a, b in zip(lines, lines[1:]) if _continues(a, b)]
    forced = [(a, b) for a, b in inside if _forced(a, b, width)]
    last_lines = sum(not _forced(a, b, width) and _closes_sentence(a, b) for a, b in inside)
    if len(inside) == last_lines or len(forced) < 0.6 * (len(inside) - last_lines):
        return None
    if sum(len(a.split()) for a, _ in forced) < PROSE_WORDS * len(forced):
        return None
    if sum(b.lstrip()[:1].islower() for _, b in forced) < CONTINUED * len(forced):
        return None
    return width


def _closes_sentence(line: str, following: str) -> bool:
    """Whether `line` ends with the end of a sentence (not with "Dr." before a name)."""
    line = line.rstrip()
    return bool(_LAST_TERMINATOR.search(line)) and _ends_sentence(line + "\n" + following, len(line))


def _breaks_sentence(text: str, newline: int, width: int | None) -> bool:
    """Whether the line break at `newline` ends a sentence: always, except where wrapping broke a
    line because the next word would not fit (so not before a blank line or a list item, nor
    after a heading)."""
    if width is None:
        return True
    line_start = text.rfind("\n", 0, newline) + 1
    following_end = text.find("\n", newline + 1)
    following = text[newline + 1 : len(text) if following_end < 0 else following_end]
    return not _forced(text[line_start:newline], following, width)


def _ends_sentence(text: str, dot_end: int) -> bool:
    """Whether the terminator that ends at `dot_end` really closes a sentence."""
    following = text[dot_end : dot_end + 3].lstrip()
    if following[:1].islower():  # '"Is it true?" she asked.' and 'at 8 a.m. on Sunday'
        return False
    if "." not in text[max(0, dot_end - 3) : dot_end]:
        return True
    if _inside_brackets(text, dot_end):
        return False
    word_start = dot_end
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    written = text[word_start:dot_end].rstrip("\"'”’»)]").rstrip(".").lstrip("(\"'“‘«")
    word = written.lower()
    if (written in _BEFORE_NUMBER and following[:1].isdigit()) or \
            (word in _BEFORE_QUOTE and following[:1] and following[0] in "'\"‘“«") or \
            (word in _IN_BRACKETS and _in_bracket_pair(text, dot_end, BRACKET_REACH)):
        return False
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def _inside_brackets(text: str, dot_end: int) -> bool:
    """Whether the period stands inside a short bracket that closes soon after: "(Pharm. D.)"."""
    before = text[max(0, dot_end - BRACKET_OPENED) : dot_end]
    opened = before.rfind("(")
    return opened >= 0 and ")" not in before[opened:] and ")" in text[dot_end : dot_end + BRACKET_CLOSES]


def _in_bracket_pair(text: str, at: int, reach: int) -> bool:
    """Whether `at` lies inside a pair of round brackets, each within `reach` characters, that
    closes its own opening: pairs nested inside count as such ("(Russian: ..., tr. ... (help))")."""
    depth = 0
    for ch in reversed(text[max(0, at - reach) : at]):
        depth += {")": 1, "(": -1}.get(ch, 0)
        if depth < 0:
            break
    else:
        return False
    for ch in text[at : at + reach]:
        depth += {"(": -1, ")": 1}.get(ch, 0)
        if depth == 0:
            return True
    return False


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences: (start, end) pairs with no surrounding white space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    broken = "\n" in text[start:end]
    width = wrap_width(text) if broken else None
    # In hard-wrapped text a line break inside a sentence is a space already.
    subscripts = {m.end(1) for m in _SUBSCRIPT_BREAK.finditer(text, start, end)} if broken and not width else set()
    for match in _END.finditer(text, start, end):
        if match.group() == "\n":
            if match.start() in subscripts or not _breaks_sentence(text, match.start(), width):
                continue
            stop = match.start()
        else:
            stop = match.end()
            if not _ends_sentence(text, stop):
                continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = match.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
