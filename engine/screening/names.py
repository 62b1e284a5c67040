"""Name normalisation for screening: from any written form of a name to comparable tokens.

Owns everything that happens to a name before it is compared, in this order:

1. **Display order and invisible characters.** Text under a right-to-left override (U+202E,
   up to U+202C or the end) is reversed, so that the name is read as a person sees it on
   screen; then every format character (Unicode category Cf: zero-width spaces and joiners,
   soft hyphen, bidi controls, BOM...) is removed, compatibility forms are folded (NFKC:
   full-width letters, ligatures) and combining marks go (accents, stacked marks), except the
   breve and diaeresis of Cyrillic letters (й, ё, ї, ў), which are letters of their own.
2. **Confusables**: in a word that mixes Latin letters with letters of another script
   ("VТВ", "Rоsоbоrоnехроrt" with Cyrillic о, е, х, р), every letter that has a Latin
   lookalike in Unicode's confusables data (UTS #39, through the MIT-licensed
   `confusable_homoglyphs` package) is replaced by it *before* transliteration; otherwise
   Cyrillic В, Н, Р, Х would become v, n, r, kh. When one of the word's Cyrillic letters has
   no Latin lookalike (б, ч, и, з, п: "Сбeрбанк", "Газпромбaнк" with a Latin e or a), the
   word is Cyrillic, and its Latin lookalikes are read as the Cyrillic letters they imitate.
   A word written entirely in lookalikes of another script ("ВТВ", "СОМ") is read both ways.
3. **Readings**: Cyrillic is romanised under several systems, each giving a *reading*
   of the name: BGN/PCGN as OFAC writes it (the reading used for listed names), ICAO 9303
   (passports: "Arkadii", "Iurii"), GOST 7.79 B, and the usual French ("Poutine",
   "Setchine") and German ("Putin", "Setschin") renderings. A name already in Latin letters
   gets the same readings in reverse: French, German, GOST and Polish ("Sieczin",
   "Miedwiediew"; tried when the name has cz, sz, rz, or w with ie) spellings are rewritten
   as the BGN/PCGN spelling they stand for, and the caron spellings of Czech, Slovak and ISO 9
   ("Šojgu", "Sečin", "Chruščov") as well, read before the marks are dropped. Two readings
   are about how the name is written: "initials" splits dotted initials ("V.V. Putin" → v, v,
   putin; "S.A." stays a legal form), which the screener pairs with listed given names;
   "spaced" joins letters spaced out ("S B E R B A N K", "S-B-E-R-B-A-N-K": three
   one-character words or more in a row are one word). Other scripts go through AnyAscii
   (ISC licence).
4. **Spelling fold**, applied to every token of both sides so that equivalent spellings
   become equal: in a word of more letters than digits, digits read as the letters they look
   like (0 → o, 1 → i, 3 → e, 4 → a, 5 → s, 7 → t, 8 → b: "R0SN3FT", "5berbank"),
   x → ks (Rosoboronexport / -eksport), ia → ya, iu → yu (ICAO), final
   -iy/-ii/-yy/-ij → -y (Dmitriy, Dmitrii, Dmitrij, Dmitry), final vowel + y → vowel + i
   (Sergey / Sergei, Nikolay / Nikolai), final consonant + i → y (Yuri / Yury).

engine.screening.tokens turns the readings into the tokens screening compares; this module
knows nothing of watchlists.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from itertools import chain

from anyascii import anyascii

RLO, PDF, PDI = "\u202e", "\u202c", "\u2069"
_KEPT_CYRILLIC_MARKS = frozenset({"\u0306", "\u0308"})  # breve (й, ў), diaeresis (ё, ї)

# BGN/PCGN without diacritics, as OFAC writes Russian names (е, ё → e; й → y; ъ, ь dropped),
# plus the Ukrainian and Belarusian letters.
BGN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
# ICAO Doc 9303 (machine-readable passports, 2015 table): й → i, ъ → ie, ю → iu, я → ia.
ICAO = {**BGN, "й": "i", "ъ": "ie", "ю": "iu", "я": "ia", "ї": "i", "є": "ie"}
# GOST 7.79-2000 system B (the apostrophes of ъ, ь, ы', э' are dropped like all apostrophes).
GOST = {**BGN, "ё": "yo", "й": "j", "х": "x", "ц": "cz", "щ": "shh", "ы": "y", "ї": "yi"}
# Usual French rendering: у → ou, ж → j, ш → ch, ч → tch, щ → chtch, й → ï, ю → iou, я → ia.
FRENCH = {**BGN, "у": "ou", "ж": "j", "ш": "ch", "ч": "tch", "щ": "chtch", "й": "i",
          "ю": "iou", "я": "ia", "ё": "io"}
# Usual German rendering (Duden): в → w, ж → sch, з → s, х → ch, ц → z, ч → tsch, ш → sch,
# щ → schtsch, й → j, ю → ju, я → ja.
GERMAN = {**BGN, "в": "w", "ж": "sch", "з": "s", "х": "ch", "ц": "z", "ч": "tsch", "ш": "sch",
          "щ": "schtsch", "й": "j", "ю": "ju", "я": "ja", "ё": "jo", "ы": "y"}
ROMANISATIONS: dict[str, dict[str, str]] = {
    "bgn": BGN, "icao": ICAO, "gost": GOST, "french": FRENCH, "german": GERMAN,
}
_TABLES = {name: str.maketrans(table) for name, table in ROMANISATIONS.items()}
ROMANISED = ("bgn", "icao", "gost", "french", "german", "polish")
READINGS = (*ROMANISED, "czech", "lookalike", "initials", "spaced")

LEGAL_FORMS_CYRILLIC = frozenset({
    "пао", "оао", "зао", "ао", "ооо", "нао", "одо", "фгуп", "гуп", "муп", "ано", "ип",
    "тов", "пат", "прат", "ат",
})

# Legal forms, dropped wherever they stand. Cyrillic abbreviations are dropped before
# transliteration; everything else (including transliterated Russian) after it.
_LEGAL_FORMS = frozenset({
    "pjsc", "ojsc", "cjsc", "jsc", "pao", "oao", "zao", "ao", "ooo", "nao", "fgup", "gup",
    "mup", "tov", "pat", "prat", "llc", "llp", "lp", "ltd", "limited", "gmbh", "ag", "sa",
    "sas", "sarl", "srl", "spa", "bv", "nv", "inc", "incorporated", "corp", "corporation",
    "co", "company", "plc", "pte", "pty", "pvt", "bhd", "kk", "oy", "ab", "ou", "se", "kg",
    "sro", "doo", "kft", "ltda", "lda", "sae", "fze", "fzco", "fzc",
})

# Apostrophes and dots join rather than split: "O'Brien", "S.A.", "Promsvyaz'bank".
_DROPPED = re.compile("['\u2018\u2019\u02bc`.]")
_WORD = re.compile(r"[^\W_]+")
# A letter standing alone before a dot is an initial ("V.V. Putin", "I.Sechin", "Sechin I."):
# the "initials" reading splits them, where the usual one joins ("S.A." is a legal form).
_DOTTED_INITIALS = re.compile(r"(?<![^\W\d_])(?:[^\W\d_]\.\s*)+")
MAX_INITIALS = 3  # more letters in a row are a word spaced out, not initials
SPACED_RUN = 3  # this many one-character words or more in a row are one word spaced out
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_CYRILLIC = re.compile("[\u0400-\u052f]")
_FINAL_Y = frozenset({"iy", "ii", "ij", "yy", "yj", "yi"})  # → y (Dmitriy, Dmitrii: Dmitry)
_CONSONANTS_BEFORE_I = frozenset("bcdfghklmnprstvz")  # final consonant + i → y (Yuri: Yury)


def _script(char: str) -> str:
    """'latin', 'other' (a letter of another script) or '' (not a letter)."""
    if not char.isalpha():
        return ""
    if char.isascii():
        return "latin"
    name = unicodedata.name(char, "")
    return "latin" if name.startswith("LATIN") else "other"


@cache
def _lookalikes() -> dict[str, str]:
    """Letter of another script → the Latin letter it looks like (same case where the data
    allows), from Unicode's confusables.txt as shipped by `confusable_homoglyphs`."""
    text = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(
        encoding="utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(text)
    raw: dict[str, list[str]] = {}
    for char, glyphs in data.items():
        if len(char) == 1 and _script(char) == "other":
            latin = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()
                     and g["c"].isalpha()]
            if latin:
                raw[char] = latin
    table: dict[str, str] = {}
    for char in {*raw, *(c.upper() for c in raw), *(c.lower() for c in raw)}:
        if len(char) != 1 or _script(char) != "other":
            continue
        same_case = [c for c in raw.get(char, ()) if c.isupper() == char.isupper()]
        if same_case:
            table[char] = same_case[0]
            continue
        # No lookalike of this case: the other case's ("т" from "Т", "І" from "і").
        other = char.lower() if char.isupper() else char.upper()
        found = [c for c in raw.get(other, ()) if c.isupper() == other.isupper()]
        if len(other) == 1 and found:
            table[char] = found[0].upper() if char.isupper() else found[0].lower()
    return table


def load_tables() -> None:
    """Read the lookalike table and AnyAscii's tables of the common scripts now: a server's
    master calls this before forking, so that its workers share them instead of each reading
    its own copy on first use."""
    _lookalikes()
    anyascii("\u0391\u0430\u0627\u05d0\u4e2d\uac00\u3042\u0e01\u0905")


def visible_text(text: str) -> str:
    """`text` as displayed: runs under a right-to-left override reversed, format characters
    (Cf) removed, compatibility forms folded, combining marks dropped (but for й, ё, ї, ў)."""
    if text.isascii() and text.isprintable():
        return text
    if RLO in text:
        out: list[str] = []
        i = 0
        while i < len(text):
            start = text.find(RLO, i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = min((p for p in (text.find(PDF, start), text.find(PDI, start)) if p >= 0),
                      default=len(text))
            out.append(text[start + 1:end][::-1])
            i = end + 1
        text = "".join(out)
    decomposed = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    base = ""
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if category in ("Mn", "Me"):
            if char in _KEPT_CYRILLIC_MARKS and _CYRILLIC.match(base):
                kept.append(char)
            continue
        base = char
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


# Latin letters drawn like a letter of the Russian alphabet, for a Cyrillic word into which
# Latin lookalikes were slipped ("Сбeрбанк" with a Latin e, "Газпромбaнк" with a Latin a).
_LATIN_TO_CYRILLIC = str.maketrans("AaBCcEeHKkMOoPpTXxYy", "АаВСсЕеНКкМОоРрТХхУу")


def _fold_lookalikes(word: str) -> tuple[str, bool]:
    """(word with the letters of one script replaced by their lookalikes in the other when it
    mixes Latin with another script, whether the whole word is made of lookalikes of another
    script).

    A mixed word is read as Latin ("VТВ" with Cyrillic Т, В) when each of its other-script
    letters has a Latin lookalike; when one has none (б, ч, и, з, п: "Сбeрбанк", "Sечин"), the
    word is Cyrillic with Latin lookalikes slipped in, and those are read as Cyrillic."""
    if word.isascii():
        return word, False
    scripts = {_script(c) for c in word} - {""}
    if not scripts & {"other"}:
        return word, False
    table = _lookalikes()
    if "latin" in scripts:
        if _CYRILLIC.search(word) and any(
                c not in table for c in word if _script(c) == "other"):
            return word.translate(_LATIN_TO_CYRILLIC), False
        return "".join(table.get(c, c) for c in word), False
    return word, all(c in table for c in word if c.isalpha())


# Digits written for the letters they look like ("R0SN3FT", "5berbank"), read as letters in
# a word that is mostly letters; a word that is mostly digits ("IMO9826902") is a number.
_DIGIT_LETTERS = str.maketrans("0134578", "oieastb")


def fold(token: str) -> str:
    """The spelling fold applied to every token of both sides (see the module docstring)."""
    if not token.isalpha() and not token.isdigit():
        digits = sum(c.isdigit() for c in token)
        if len(token) - digits > digits:
            token = token.translate(_DIGIT_LETTERS)
    token = token.replace("x", "ks").replace("iu", "yu").replace("ia", "ya")
    if len(token) > 3:  # the three endings in turn, each on the result of the one before
        if token[-2:] in _FINAL_Y:
            token = token[:-2] + "y"
        if token[-1] in "yj" and token[-2] in "aeou":
            token = token[:-1] + "i"
        if token[-1] == "i" and token[-2] in _CONSONANTS_BEFORE_I:
            token = token[:-1] + "y"
    return token


LEGAL_FORMS = frozenset(fold(form) for form in _LEGAL_FORMS)


def _french_to_bgn(token: str) -> str:
    token = token.replace("tch", "\x00").replace("ch", "sh").replace("\x00", "ch")
    token = token.replace("ou", "u").replace("j", "zh")
    return token[:-1] if len(token) > 4 and token.endswith("ine") else token


def _german_to_bgn(token: str) -> str:
    token = token.replace("tsch", "\x00").replace("sch", "\x01").replace("ch", "kh")
    token = token.replace("\x00", "ch").replace("\x01", "sh")
    return token.replace("w", "v").replace("j", "y")


def _gost_to_bgn(token: str) -> str:
    return token.replace("shh", "shch").replace("cz", "ts").replace("x", "kh").replace("j", "y")


_AFTER_CONSONANT_IE = re.compile(r"(?<=[bcdfghklmnprstvwz])ie")


def _polish_to_bgn(token: str) -> str:
    """Polish renderings of Russian (Сечин → Sieczin, Медведев → Miedwiediew, Щербаков →
    Szczerbakow): ie after a consonant is e, szcz shch, cz ch, sz sh, rz zh, ch kh, w v, j y."""
    token = _AFTER_CONSONANT_IE.sub("e", token)
    token = token.replace("szcz", "\x00").replace("cz", "\x01").replace("sz", "sh")
    token = token.replace("rz", "zh").replace("ch", "kh").replace("\x00", "shch")
    return token.replace("\x01", "ch").replace("w", "v").replace("j", "y")


# A Polish spelling is tried only on a name that has one of its marks (cz, sz, rz, or w with
# ie): other names would only get a costlier screening with the same result.
_POLISH_MARK = re.compile(r"[csr]z|w.*ie|ie.*w")
# Czech, Slovak and scholarly (ISO 9) spellings write ш, ч, ж with a caron (Šojgu, Sečin,
# Žukov) and х as ch: read before the marks are dropped.
_CARON = re.compile("[šžčŠŽČ]")
_CARON_LETTERS = str.maketrans({"š": "sh", "Š": "Sh", "č": "ch", "Č": "Ch", "ž": "zh",
                                "Ž": "Zh", "j": "y", "J": "Y"})

_LATIN_READINGS = {"french": _french_to_bgn, "german": _german_to_bgn, "gost": _gost_to_bgn,
                   "polish": _polish_to_bgn}


def _romanise(word: str, reading: str) -> list[str]:
    """Latin tokens of one case-folded word under one reading."""
    if _CYRILLIC.search(word):
        word = word.translate(_TABLES.get(reading, _TABLES["bgn"]))
    if not word.isascii():
        word = anyascii(word).lower()
    tokens = _LATIN_WORD.findall(word)
    rewrite = _LATIN_READINGS.get(reading)
    if rewrite is not None and not _CYRILLIC.search(word):
        tokens = [rewrite(t) for t in tokens]
    return tokens


Raw = tuple[tuple[str, bool], ...]  # (token, is a Cyrillic legal form) in natural order


def _words(visible: str) -> list[tuple[str, str, bool, bool]]:
    """(folded word, its lookalike reading, is a Cyrillic legal form, all lookalikes) of each
    word of the visible text, dots and apostrophes already dropped."""
    words = []
    for word in _WORD.findall(visible):
        mixed_folded, lookalike = _fold_lookalikes(word)
        folded = mixed_folded.casefold()
        alt = "".join(_lookalikes().get(c, c) for c in word).casefold() if lookalike else folded
        words.append((folded, alt, folded in LEGAL_FORMS_CYRILLIC, lookalike))
    return words


WORD_CACHE = 32_768  # (word, reading) → its folded tokens: words recur across names


@lru_cache(maxsize=WORD_CACHE)
def _folded_tokens(word: str, reading: str) -> tuple[str, ...]:
    """The folded Latin tokens of one case-folded word under one reading."""
    return tuple(fold(t) for t in _romanise(word, reading))


_EVERY_NAME = tuple(r for r in ROMANISED if r != "polish")  # read for every name


@lru_cache(maxsize=WORD_CACHE)
def _word_readings(word: str, legal: bool) -> tuple[Raw, ...]:
    """The (token, legal) pairs of one case-folded word under each of _EVERY_NAME, in that
    order. A Latin word is split once; the readings without a Latin rewrite share its
    tokens."""
    if not word.isascii():
        return tuple(tuple((t, legal) for t in _folded_tokens(word, r)) for r in _EVERY_NAME)
    raw = _LATIN_WORD.findall(word)
    plain = tuple((fold(t), legal) for t in raw)
    return tuple(plain if r not in _LATIN_READINGS else
                 tuple((fold(_LATIN_READINGS[r](t)), legal) for t in raw) for r in _EVERY_NAME)


def _read(words: list[tuple[str, str, bool, bool]], reading: str) -> Raw:
    tokens: list[tuple[str, bool]] = []
    for folded, alt, legal, _ in words:
        source = alt if reading == "lookalike" else folded
        tokens.extend((t, legal) for t in _folded_tokens(source, reading))
    return tuple(tokens)


def _split_initials(visible: str) -> str:
    """Dotted initials as words of their own ("V.V. Putin" → "V V Putin"); a dotted legal
    form ("S.A.", "N.V.") stays one word."""
    def split(found: re.Match[str]) -> str:
        letters = found.group().replace(".", "").split()
        if len(letters) > MAX_INITIALS or fold("".join(letters).casefold()) in LEGAL_FORMS:
            return found.group()
        return " ".join("".join(letters)) + " "
    return _DOTTED_INITIALS.sub(split, visible)


def _collapse_spaced(raw: Raw) -> Raw:
    """Runs of SPACED_RUN one-character words or more written as one word: "S B E R B A N
    K", "S-B-E-R-B-A-N-K" are "sberbank" (digits for letters folded as in a word)."""
    single = [legal for token, legal in raw if len(token) == 1]
    if len(single) < SPACED_RUN and not any(single):
        return raw  # no run to join (and no one-letter token to unflag)
    out: list[tuple[str, bool]] = []
    run: list[str] = []
    for token, legal in (*raw, ("", False)):
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= SPACED_RUN:
            out.append((fold("".join(run)), False))
        else:
            out.extend((t, False) for t in run)
        run = []
        if token:
            out.append((token, legal))
    return tuple(out)


def raw_readings(text: str) -> dict[str, Raw]:
    """Each distinct reading of `text` (see READINGS), the BGN/PCGN one first, as folded
    tokens flagged when they are a Cyrillic legal form (recognised before romanisation,
    because some, like "ИП" or "АТ", would be ordinary words in Latin letters).

    Besides the romanisations: "initials" reads dotted initials as words of their own ("V.V.
    Putin": v, v, putin; the screener pairs an initial with a listed given name), "spaced"
    reads letters spaced out as one word ("S B E R B A N K", "S. B. E. R. B. A. N. K.")."""
    visible = visible_text(text)
    words = _words(_DROPPED.sub("", visible))
    out: dict[str, Raw] = {}
    seen: set[Raw] = set()

    def add(reading: str, key: Raw) -> None:
        if key not in seen:
            seen.add(key)
            out[reading] = key

    per_word = [_word_readings(folded, legal) for folded, _, legal, _ in words]
    for i, reading in enumerate(_EVERY_NAME):
        add(reading, tuple(chain.from_iterable(tokens[i] for tokens in per_word)))
    if _POLISH_MARK.search(visible.casefold()):
        add("polish", _read(words, "polish"))
    if _CARON.search(text):
        czech = text.replace("ch", "kh").replace("Ch", "Kh").replace("CH", "KH")
        add("czech", _read(_words(_DROPPED.sub("", visible_text(
            czech.translate(_CARON_LETTERS)))), "bgn"))
    if any(lk for _, _, _, lk in words):
        add("lookalike", _read(words, "lookalike"))
    bgn = out["bgn"]
    if "." in visible:
        split = _split_initials(visible)
        if split != visible:
            bgn = _read(_words(_DROPPED.sub("", split)), "bgn")
            add("initials", bgn)
    for raw in (out["bgn"], bgn) if bgn is not out["bgn"] else (bgn,):
        add("spaced", _collapse_spaced(raw))
    return out


@lru_cache(maxsize=65_536)
def primary_raw(text: str) -> Raw:
    """The BGN/PCGN reading only: how listed names are indexed."""
    visible = _DROPPED.sub("", visible_text(text))
    tokens: list[tuple[str, bool]] = []
    for word in _WORD.findall(visible):
        folded = _fold_lookalikes(word)[0].casefold()
        legal = folded in LEGAL_FORMS_CYRILLIC
        tokens.extend((fold(t), legal) for t in _romanise(folded, "bgn"))
    return tuple(tokens)
