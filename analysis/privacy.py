"""Personal data: find it in free text, remove it, and prove that none is left.

Survey exports carry free-text answers ("other, please specify", enumerator notes) into which respondents and
enumerators type identity numbers, phone numbers and names even though the questionnaire never asks for them.
UU 27/2022 on personal data protection (UU PDP) and the project's own rule say none of it may reach
``data/processed``, a page, a download, a log or an error message. This module:

- ``scrub_text`` / ``Scrubber``: replace every detected value with ``MARKER`` ("[dihapus]") and return counts
  per kind (``nik``, ``kk``, ``phone``, ``name``, ``email``, ``other_id``), never the values;
- ``scan_for_pii``: scan a DataFrame, a file or a whole directory (CSV, Parquet, JSON, text, XLSX) for NIK, KK
  and phone patterns and report where (file, column, row), never what;
- ``redact_errors``: turn a parser's exception, whose message may quote a cell, into an ``InputError`` that
  names the file and the problem only.

Detection
---------
- **NIK** (Nomor Induk Kependudukan, Permendagri 2019 on NIK structure): 16 digits ``PP KK CC DDMMYY SSSS``,
  optionally written in groups with spaces, dots or dashes. A 16-digit number is a NIK when
  ``lokal.nik.parse_nik`` accepts its structure: a known province code, regency and district not ``00``, a real
  date of birth where women add 40 to the day, serial not ``0000``.
- **KK** (Nomor Kartu Keluarga): also 16 digits with the same region and date layout (the date is the issue
  date), so a KK and a man's NIK cannot be told apart by structure. A 16-digit number is a KK when the words
  "KK", "no. KK" or "kartu keluarga" come right before it, or when it is not a valid NIK; otherwise a NIK.
- **Phone numbers**: Indonesian mobile numbers ``+62 8xx``, ``62 8xx``, ``0062 8xx``, ``08xx`` with spaces,
  dots or dashes, and landlines such as ``(021) 555-1234`` or ``021-5551234``; validated with
  ``lokal.phone.parse_phone`` (length and prefix).
- **Names**: the heuristics of ``lokal.samaran`` (names after "nama", "nama saya", "atas nama", honorifics
  Bapak/Ibu/Pak/Bu/Sdr/Sdri, titles and roles, known Indonesian given names), plus the project's own rule for
  survey notes: an honorific followed by up to three words, skipping roles such as "RT", "RW" or "Lurah"
  ("Pak RT Budi" -> "Pak RT [dihapus]"). Names are heuristic: a capitalised common word after "Bu" may be
  removed too, which costs a word of free text and never a statistic.
- **Other identifiers** ``lokal.samaran`` recognises (e-mail, NPWP, BPJS, passport, SIM, bank account, card,
  vehicle plate, birth date, street address) are removed as ``email`` or ``other_id``; finally any remaining
  run of ten or more digits is removed as ``other_id`` (no survey answer needs one).

Sensitive attributes that are not identifiers (health, religion, income) are left alone: the free-text
reasons are the point of the question.
"""

from __future__ import annotations

import bisect
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from lokal.nik import parse_nik
from lokal.phone import parse_phone
from lokal.samaran import detect_pii

from analysis.errors import InputError
from analysis.etl.readers import decode_text, sniff_delimiter

MARKER = "[dihapus]"
KINDS = ("nik", "kk", "phone", "name", "email", "other_id")
# Kinds ``scan_for_pii`` looks for by default: the patterns that must never appear in any output.
SCAN_KINDS = ("nik", "kk", "phone")

# lokal.samaran types removed here, and the kind each is counted as.
_SAMARAN_KIND = {
    "NIK": "nik",
    "KK": "kk",
    "PHONE": "phone",
    "NAME": "name",
    "EMAIL": "email",
    "NPWP": "other_id",
    "PASSPORT": "other_id",
    "SIM": "other_id",
    "NIP": "other_id",
    "BPJS": "other_id",
    "NISN": "other_id",
    "AKTA": "other_id",
    "BANK_ACCOUNT": "other_id",
    "CARD": "other_id",
    "PLATE": "other_id",
    "BIRTH_DATE": "other_id",
    "ADDRESS": "other_id",
}
_SAMARAN_TYPES = tuple(_SAMARAN_KIND)

# The one matcher of identifiers, shared by the scrubber and the output scan. Digits may be grouped by one
# separator between any two digits: space, no-break space, dot, dash, slash, comma, underscore or a line break
# ("3172 0512 0890 0003", "3172/0512/0890/0003", "3,172,051,208,900,003", a NIK split over two lines). Text is
# first folded to ASCII digits (``fold_digits``: full-width and Arabic-Indic digits, one character for one, so
# offsets stay valid). "Word" boundaries treat an underscore as a separator ("hp_081234567890").
_SEP = r"(?:[ \u00a0.\-/,_]|\r?\n)"
_NOT_WORD_BEFORE = r"(?<![^\W_])"
_NOT_WORD_AFTER = r"(?![^\W_])"
# 16 digits, optionally grouped; not part of a longer number or a decimal.
_SIXTEEN = re.compile(rf"(?<![\d])(?<!\d[.,])\d(?:{_SEP}?\d){{15}}(?![\d])(?![.,]\d)")
_KK_CUE = re.compile(r"\b(?:kk|no\.?\s*kk|nomor\s+kk|kartu\s+keluarga)\b[^\d\n]{0,12}$", re.IGNORECASE)
# Mobile: +62 / 62 / 0062 / 0, then 8 and 8-11 more digits in groups of at least two.
_MOBILE = re.compile(rf"{_NOT_WORD_BEFORE}(?<!\+)(?:\+62|0062|62|0){_SEP}?8\d{{1,3}}(?:{_SEP}?\d{{2,5}}){{1,4}}(?![\d]){_NOT_WORD_AFTER}")
# Landline: (021) 555-1234, 021-5551234, 021 555 1234, +62 21 5551234.
_LANDLINE = re.compile(
    rf"{_NOT_WORD_BEFORE}(?<!\+)(?:\(0\d{{1,3}}\)|\(\+62[ ]?\d{{1,3}}\)|0[2-79]\d{{0,2}}|\+62{_SEP}?[2-79]\d{{0,2}}){_SEP}?\d{{3,4}}{_SEP}?\d{{3,4}}(?![\d]){_NOT_WORD_AFTER}"
)
# Any run of ten or more digits (grouped or not) that survived the detectors above.
_LONG_NUMBER = re.compile(rf"(?<![\d])(?<!\d[.,])\d(?:{_SEP}?\d){{9,}}(?![\d])")
_ANY_DIGIT = re.compile(r"\d")
# "RT 05 RW 03" locates a neighbourhood of hundreds of households (the RW is a survey variable): not an address.
_RT_RW_ONLY = re.compile(r"^(?:(?:rt|rw)[\s.:/]*\d{1,3}[\s,/]*)+$", re.IGNORECASE)
# Dotted Kemendagri region codes ("31.75.04.1005") are places, not identifiers.
_KODE_WILAYAH = re.compile(r"^\d{2}(?:\.\d{2}){1,2}(?:\.\d{4})?$")
# UUIDs (submission ids, 8-4-4-4-12 hex) are not personal data, but about 1 in 2,000 has four all-digit groups
# that read as a 16-digit number: they are masked out before any pattern is applied.
_UUID = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])")
_UPPER = re.compile(r"[A-Z]")

# The project's own honorific rule (see the module docstring).
_HONORIFIC = re.compile(
    r"(?<![\w-])(bapak|ibu|bpk\.?|pak|bu|sdr\.?|sdri\.?|saudara|saudari)[ \t]+", re.IGNORECASE
)
_LONG_HONORIFIC = {"bapak", "ibu", "bpk", "bpk.", "sdr", "sdr.", "sdri", "sdri.", "saudara", "saudari"}
_ROLE_WORDS = {
    "rt", "rw", "lurah", "camat", "ketua", "kepala", "haji", "h.", "hj.", "ustad", "ustadz", "ustadzah", "guru",
    "bidan", "dokter", "dr.", "kader", "sekretaris", "bendahara", "wakil", "pengurus",
}
_NOT_A_NAME = set(
    (
        "yang dan atau dengan di ke dari untuk pada dalam ini itu saya kami kita dia beliau mereka sudah belum mau "
        "bisa tidak tak gak nggak bukan juga saja aja kasih bilang tahu tau kata punya ada pernah sering "
        "kota negara rumah kantor kelurahan kecamatan posyandu pkk dasawisma warga semua rt rw lurah camat ketua "
        "kepala guru bidan dokter kader tetangga anak suami istri ayah tua jakarta info informasi via lewat grup group "
        "whatsapp wa sms telepon telpon hp jaki qlue bansos bst dtks pkh kjp bpnt sembako"
    ).split()
)
_WORD = re.compile(r"[ \t]*([A-Za-z][A-Za-z'\-]*\.?)")
_NAME_INTRO = re.compile(r"\b(?:nama(?:nya)?|namanya|bernama)\b[ \t]*[:=]?[ \t]*", re.IGNORECASE)

# Text that can hold nothing we detect: no digit, no capital, no '@' and none of these cue words.
_CUES = re.compile(
    r"nama|bapak|ibu|pak\b|bu\b|bpk|sdr|saudar|mbak|mas\b|kak\b|bang\b|tn\.|ny\.|nn\.|jl|jalan|gang|gg\b|@|\bat\b|"
    r"kata\b|bilang|inisial|almarhum|ustad|tante|om\b|koh\b|cik\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    kind: str


class _Taken:
    """Non-overlapping spans kept sorted by start: an overlap test is two neighbours found by bisection, so
    taking n hits costs O(n log n) (an all-pairs test made a 1 MB cell of phone numbers take 47 s)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.hits: list[_Hit] = []

    def overlaps(self, hit: _Hit) -> bool:
        i = bisect.bisect_right(self.starts, hit.start)
        if i > 0 and self.hits[i - 1].end > hit.start:
            return True
        return i < len(self.hits) and self.hits[i].start < hit.end

    def add(self, hit: _Hit) -> bool:
        """Keep ``hit`` unless it overlaps a kept span; True when kept."""
        if hit.end <= hit.start or self.overlaps(hit):
            return False
        i = bisect.bisect_right(self.starts, hit.start)
        self.starts.insert(i, hit.start)
        self.hits.insert(i, hit)
        return True


class _DigitFold(dict):
    """``str.translate`` table: every Unicode decimal digit (full-width, Arabic-Indic, ...) to its ASCII digit,
    full-width plus and hyphen to ASCII; one character for one, so match offsets apply to the original text."""

    def __missing__(self, code: int):
        ch = chr(code)
        d = unicodedata.decimal(ch, None)
        out = str(d) if d is not None else {"\uff0b": "+", "\uff0d": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u3000": " ", "\uff0e": ".", "\uff0f": "/", "\uff0c": ","}.get(ch)
        self[code] = out if out is not None else code
        return self[code]


_FOLD = _DigitFold()


def fold_digits(text: str) -> str:
    """``text`` with non-ASCII digits and separators folded to ASCII, length unchanged (see ``_DigitFold``)."""
    return text if text.isascii() else text.translate(_FOLD)


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _is_decimal(value: str) -> bool:
    """"4875.000000000001" is a number with a decimal point, not a grouped identifier: grouping uses two or more
    separators ("3174 0155 0890 0002", "317401.550890.0002"), a decimal exactly one dot or comma."""
    seps = [ch for ch in value if not ch.isdigit()]
    return len(seps) == 1 and seps[0] in ".,"


def _sixteen(text: str):
    return (m for m in _SIXTEEN.finditer(text) if not _is_decimal(m.group(0)))


def _sixteen_digit_hits(text: str) -> list[_Hit]:
    hits = []
    for m in _sixteen(text):
        digits = _digits(m.group(0))
        before = text[max(0, m.start() - 30) : m.start()]
        if _KK_CUE.search(before):
            kind = "kk"
        elif parse_nik(digits).valid:
            kind = "nik"
        else:
            kind = "kk"
        hits.append(_Hit(m.start(), m.end(), kind))
    return hits


def _phone_hits(text: str) -> list[_Hit]:
    hits = []
    for rx in (_MOBILE, _LANDLINE):
        for m in rx.finditer(text):
            value = m.group(0)
            if value.startswith("00"):
                value = "+" + value[2:]
            if parse_phone(value).valid:
                hits.append(_Hit(m.start(), m.end(), "phone"))
    return hits


def _honorific_name_hits(text: str) -> list[_Hit]:
    """Honorific (or "nama:") + up to three name words; roles after the honorific are skipped."""
    hits = []
    for rx in (_HONORIFIC, _NAME_INTRO):
        for m in rx.finditer(text):
            honorific = m.group(1).lower() if rx is _HONORIFIC else "nama"
            any_case = rx is _NAME_INTRO or honorific in _LONG_HONORIFIC
            pos = m.end()
            words: list[tuple[int, int]] = []
            while len(words) < 3:
                w = _WORD.match(text, pos)
                if not w:
                    break
                word = w.group(1)
                bare = word.rstrip(".").lower()
                if not words and (bare in _ROLE_WORDS or word.lower() in _ROLE_WORDS):
                    pos = w.end()
                    continue
                if bare in _NOT_A_NAME or len(bare) < 2:
                    break
                if not any_case and not word[0].isupper():
                    break
                if any_case and words and not word[0].isupper() and not text[words[0][0]].islower():
                    break  # "Ibu Sari bilang": a capitalised name ends at the first lowercase word
                words.append((w.start(1), w.start(1) + len(word.rstrip("."))))
                pos = w.end()
                if word.endswith("."):
                    break
            if words:
                hits.append(_Hit(words[0][0], words[-1][1], "name"))
    return hits


def _might_hold_pii(text: str) -> bool:
    return bool(_ANY_DIGIT.search(text) or _UPPER.search(text) or _CUES.search(text))


def _digit_hits(text: str) -> list[_Hit]:
    """Stage 1: the project's own number detectors (16 digits, phones), cheap regexes, no context beyond a
    keyword window."""
    text = fold_digits(text)
    taken = _Taken()
    for h in sorted(
        [_Hit(m.start(), m.end(), "uuid") for m in _UUID.finditer(text)] + _sixteen_digit_hits(text) + _phone_hits(text),
        key=lambda h: (h.start, -(h.end - h.start)),
    ):
        taken.add(h)
    return [h for h in taken.hits if h.kind != "uuid"]


def find_pii(text: str) -> list[_Hit]:
    """Spans of personal data in ``text`` (offsets and kinds only), non-overlapping, in reading order.

    Priority: 16-digit numbers (NIK/KK), phone numbers, then ``lokal.samaran``'s identifiers and names, then
    the honorific rule, then any long digit run.
    """
    if not text or not _might_hold_pii(text):
        return []
    text = fold_digits(text)
    taken = _Taken()

    def take(hits: Iterable[_Hit]) -> None:
        for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
            taken.add(h)

    uuids = [_Hit(m.start(), m.end(), "uuid") for m in _UUID.finditer(text)]
    take(uuids)
    take(_sixteen_digit_hits(text))
    take(_phone_hits(text))
    take(
        _Hit(m.start, m.end, _SAMARAN_KIND[m.type])
        for m in detect_pii(text, types=_SAMARAN_TYPES)
        if not (m.type == "ADDRESS" and _RT_RW_ONLY.match(m.value))
    )
    take(_honorific_name_hits(text))
    take(_Hit(m.start(), m.end(), "other_id") for m in _LONG_NUMBER.finditer(text)
         if not _is_decimal(m.group(0)) and not _KODE_WILAYAH.match(m.group(0)))
    return [h for h in taken.hits if h.kind != "uuid"]


def _replace(text: str, hits: list[_Hit]) -> str:
    out, cursor = [], 0
    for h in hits:
        out.append(text[cursor : h.start])
        out.append(MARKER)
        cursor = h.end
    out.append(text[cursor:])
    return "".join(out)


def scrub_text(text: str) -> tuple[str, Counter]:
    """``text`` with every detected personal value replaced by ``MARKER``, and the counts per kind."""
    hits = find_pii(text)
    if not hits:
        return text, Counter()
    return _replace(text, hits), Counter(h.kind for h in hits)


@dataclass
class Scrubber:
    """Scrubs many cells, remembering each distinct value (survey free text repeats a lot).

    ``counts`` accumulates removals per kind over every call (each occurrence counts); ``cells_changed`` counts
    the cells that changed. Neither keeps a value. The cache lives as long as the instance: use one per ingest.
    """

    counts: Counter = field(default_factory=Counter)
    cells_changed: int = 0
    _cache: dict = field(default_factory=dict, repr=False)
    _rest_cache: dict = field(default_factory=dict, repr=False)

    def _two_stage(self, text: str) -> tuple[str, Counter]:
        """Numbers first (cheap), then the full detector on what remains, cached by that remainder.

        Free text is repetitive once the numbers are out ("No KK [dihapus]" for every KK typed after the same
        words), so the expensive name and identifier heuristics of ``lokal.samaran`` run once per distinct
        remainder instead of once per distinct note. The result equals ``scrub_text`` up to which detector
        claims a span.
        """
        if not text or not _might_hold_pii(text):
            return text, Counter()
        first = _digit_hits(text)
        rest = _replace(text, first) if first else text
        hit = self._rest_cache.get(rest)
        if hit is None:
            hit = scrub_text(rest)
            self._rest_cache[rest] = hit
        clean, counts = hit
        return clean, counts + Counter(h.kind for h in first)

    def scrub(self, text: str) -> str:
        hit = self._cache.get(text)
        if hit is None:
            hit = self._two_stage(text)
            self._cache[text] = hit
        clean, counts = hit
        if counts:
            self.counts.update(counts)
            self.cells_changed += 1
        return clean

    def scrub_series(self, series: pd.Series) -> pd.Series:
        """A copy of ``series`` with every non-missing cell scrubbed (non-strings are turned into strings)."""
        mask = series.notna()
        if not mask.any():
            return series
        values = series[mask].astype(object).map(str)
        uniques = pd.unique(values)
        cleaned = {}
        for u in uniques:
            if u not in self._cache:
                self._cache[u] = self._two_stage(u)
            cleaned[u] = self._cache[u]
        # Count every occurrence, not every distinct value.
        freq = values.value_counts()
        for u, n in freq.items():
            counts = cleaned[u][1]
            if counts:
                for kind, k in counts.items():
                    self.counts[kind] += k * int(n)
                self.cells_changed += int(n)
        out = series.astype(object).copy()
        out[mask] = values.map({u: c[0] for u, c in cleaned.items()})
        return out.astype(series.dtype) if pd.api.types.is_string_dtype(series.dtype) else out

    def scrub_frame(self, df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
        out = df.copy()
        for c in columns:
            if c in out.columns:
                out[c] = self.scrub_series(out[c])
        return out

    def report(self) -> dict[str, int]:
        """Counts per kind (all kinds, zero included) and the number of cells changed."""
        return {k: int(self.counts.get(k, 0)) for k in KINDS} | {"cells_changed": int(self.cells_changed)}


# --- scanning outputs ----------------------------------------------------------------------------------------

# Patterns a scan looks for: deliberately independent of the scrubber's context rules (no keywords needed), so
# that a scan catches what the scrubber might miss.
_SCAN_PATTERNS = {
    "sixteen": _SIXTEEN,
    "phone": _MOBILE,
    "landline": _LANDLINE,
}


def _scan_text(text: str, kinds: tuple[str, ...]) -> Counter:
    found: Counter = Counter()
    if not text or not _ANY_DIGIT.search(text):
        return found
    text = fold_digits(text)
    if "-" in text:
        text = _UUID.sub(" ", text)
    for _, kind in _identifier_hits(text, kinds):
        found[kind] += 1
    return found


def scan_text_clean(text: str, kinds: Iterable[str] = SCAN_KINDS) -> bool:
    """True when ``text`` (a message, a note, a file name) holds no NIK, KK or phone pattern: the same matcher
    as ``scan_for_pii``, for strings that are shown rather than stored."""
    return not _scan_text(str(text), tuple(kinds))


def _identifier_hits(text: str, kinds: tuple[str, ...]):
    """Yield ``(offset, kind)`` for every NIK / KK (16 digits; NIK when its region and date parts are valid)
    and valid phone number in ``text``, for the requested kinds. Shared by the cell and the column scans."""
    if "nik" in kinds or "kk" in kinds:
        for m in _sixteen(text):
            kind = "nik" if parse_nik(_digits(m.group(0))).valid else "kk"
            if kind in kinds:
                yield m.start(), kind
    if "phone" in kinds:
        for hit in _phone_hits(text):
            yield hit.start, "phone"


@dataclass
class PiiScan:
    """What a scan found: counts per kind and where (``file``, ``column``, ``row``), never the values."""

    counts: Counter = field(default_factory=Counter)
    locations: list[dict] = field(default_factory=list)
    files_scanned: int = 0
    cells_scanned: int = 0

    @property
    def clean(self) -> bool:
        return not self.counts

    def merge(self, other: PiiScan) -> None:
        self.counts.update(other.counts)
        self.locations.extend(other.locations)
        self.files_scanned += other.files_scanned
        self.cells_scanned += other.cells_scanned

    def __str__(self) -> str:
        where = ", ".join(f"{loc['file']}:{loc['column']}:{loc['row']}" for loc in self.locations[:10])
        return f"PII scan: {dict(self.counts) or 'nothing found'} in {self.files_scanned} file(s); at {where}"


def _cells(series: pd.Series) -> pd.Series:
    """Cells of a column as text, for scanning: strings and integers as written; floats only when they hold a
    whole number of 15-16 digits (a NIK fits exactly in a float64 below 2**53)."""
    kind = series.dtype.kind
    if kind == "f":
        v = series.to_numpy(dtype=float, na_value=np.nan)
        big = np.isfinite(v) & (np.abs(v) >= 1e9) & (np.floor(v) == v)
        return pd.Series([str(int(x)) for x in v[big]], index=series.index[big], dtype=object)
    if kind in "biuMm":
        if kind == "b":
            return pd.Series([], dtype=object)
        return series.dropna().astype(str)
    return series.dropna().astype(str)


_CELL_JOIN = "\x1f"  # ASCII unit separator


def _blank_uuids(text: str) -> str:
    return _UUID.sub(lambda m: " " * len(m.group(0)), text) if "-" in text else text


def _scan_column(cells: pd.Series, kinds: tuple[str, ...]) -> dict:
    """Row label -> Counter of kinds found, for one column, with the regexes run once over the whole column.

    The cells are joined with ``_CELL_JOIN`` (no pattern crosses it) and match offsets are mapped back to
    rows with a binary search over the line starts: C-speed regex over megabytes instead of a Python loop
    over cells.
    """
    values = cells.tolist()
    # Cells are joined with a character no pattern accepts as a separator (a line break inside a cell is one).
    text = _CELL_JOIN.join(v.replace(_CELL_JOIN, " ") for v in values)
    if not _ANY_DIGIT.search(text):
        return {}
    text = _blank_uuids(fold_digits(text))
    starts = np.cumsum([0] + [len(v) + 1 for v in values[:-1]])
    found: dict = {}

    def add(pos: int, kind: str) -> None:
        row = cells.index[int(np.searchsorted(starts, pos, side="right") - 1)]
        found.setdefault(row, Counter())[kind] += 1

    for pos, kind in _identifier_hits(text, kinds):
        add(pos, kind)
    return found


def _scan_frame(df: pd.DataFrame, kinds: tuple[str, ...], label: str) -> PiiScan:
    result = PiiScan(files_scanned=0)
    for col in df.columns:
        if col == "geometry":
            continue
        cells = _cells(df[col])
        result.cells_scanned += len(cells)
        if cells.empty:
            continue
        for row, found in _scan_column(cells, kinds).items():
            result.counts.update(found)
            result.locations.append({"file": label, "column": str(col), "row": str(row), "kinds": sorted(found)})
    # Column names are text too.
    for col in df.columns:
        found = _scan_text(col, kinds) if isinstance(col, str) else Counter()
        if found:
            result.counts.update(found)
            result.locations.append({"file": label, "column": "<header>", "row": "", "kinds": sorted(found)})
    return result


def _json_strings(obj) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_strings(v)
    elif obj is not None:
        yield str(obj)


def _scan_file(path: Path, kinds: tuple[str, ...], label: str) -> PiiScan:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        cols = [c for c in table.column_names if c != "geometry"]
        result = _scan_frame(table.select(cols).to_pandas(), kinds, label)
    elif suffix in (".csv", ".tsv"):
        try:
            text, _ = decode_text(path.read_bytes(), label)
            sep = "\t" if suffix == ".tsv" else sniff_delimiter(text)
            df = pd.read_csv(io.StringIO(text), dtype=str, sep=sep, keep_default_na=False)
        except (InputError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return _scan_plain(path.read_bytes().decode("utf-8", "replace"), kinds, label)
        result = _scan_frame(df, kinds, label)
    elif suffix in (".xlsx", ".xlsm"):
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        result = PiiScan()
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if rows:
                cells = pd.DataFrame([[("" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))) for v in r] for r in rows])
                result.merge(_scan_frame(cells.astype(object), kinds, f"{label}[{name}]"))
    elif suffix in (".json", ".geojson"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return _scan_plain(path.read_bytes().decode("utf-8", "replace"), kinds, label)
        if suffix == ".geojson" and isinstance(doc, dict):
            doc = [f.get("properties") for f in doc.get("features", [])]
        result = _scan_plain("\n".join(_json_strings(doc)), kinds, label)
    else:
        result = _scan_plain(path.read_bytes().decode("utf-8", "replace"), kinds, label)
    result.files_scanned = 1
    return result


def _scan_plain(text: str, kinds: tuple[str, ...], label: str) -> PiiScan:
    result = PiiScan(files_scanned=1)
    for i, line in enumerate(text.splitlines(), start=1):
        result.cells_scanned += 1
        found = _scan_text(line, kinds)
        if found:
            result.counts.update(found)
            result.locations.append({"file": label, "column": "<line>", "row": str(i), "kinds": sorted(found)})
    return result


_TEXT_SUFFIXES = {".csv", ".tsv", ".parquet", ".json", ".geojson", ".txt", ".md", ".xlsx", ".xlsm", ".log", ".html"}


def scan_for_pii(target, kinds: Iterable[str] = SCAN_KINDS, *, exclude: Iterable[str] = ()) -> PiiScan:
    """Scan a DataFrame, a file, or every data file under a directory for NIK, KK and phone patterns.

    ``target``: a ``pd.DataFrame``, a path to a file, or a directory (scanned recursively; files with a data or
    text suffix). ``exclude``: relative paths (or their first parts) under a directory to skip. Returns a
    ``PiiScan`` whose ``clean`` is True when nothing was found; it holds locations, never values.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(SCAN_KINDS)
    if unknown:
        raise ValueError(f"scan_for_pii scans {SCAN_KINDS}, not {sorted(unknown)}")
    if isinstance(target, pd.DataFrame):
        result = _scan_frame(target, kinds, "<dataframe>")
        result.files_scanned = 0
        return result
    path = Path(target)
    if path.is_file():
        return _scan_file(path, kinds, path.name)
    if not path.is_dir():
        raise FileNotFoundError(f"nothing to scan at {path}")
    excluded = tuple(Path(e).parts for e in exclude)
    result = PiiScan()
    for f in sorted(path.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        rel = f.relative_to(path)
        if any(rel.parts[: len(e)] == e for e in excluded):
            continue
        result.merge(_scan_file(f, kinds, rel.as_posix()))
    return result


# --- errors without values -----------------------------------------------------------------------------------


@contextmanager
def redact_errors(code: str, what: str, source: str | None = None):
    """Run a parser; if it fails, raise ``InputError(code, ...)`` naming the problem, never the cell.

    Parser messages quote the offending text (pandas: "could not convert string to float: '0812...'",
    openpyxl and the csv module: the line). Only the exception *type* is kept, and the original exception is
    detached (no ``__cause__``/``__context__``) so no traceback or log shows its message either.
    ``InputError`` raised inside passes through unchanged.
    """
    try:
        yield
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes one clear, value-free error
        err = InputError(code, f"{what} ({type(exc).__name__}; cell values are not shown to protect personal data)", source)
        # Python chains the exception being handled as __context__ of anything raised in __exit__; suppress
        # it from tracebacks and empty it, so neither a traceback nor a log shows the parser's message.
        _wipe(exc)
        err.__suppress_context__ = True
        raise err from None


def _wipe(exc: BaseException) -> None:
    """Remove what an exception could quote (message arguments, the undecodable bytes, the traceback)."""
    try:
        exc.args = (type(exc).__name__,)
    except (AttributeError, TypeError):  # pragma: no cover - exotic exception types
        pass
    if isinstance(exc, UnicodeError):
        for attr, empty in (("object", b""), ("reason", "")):
            try:
                setattr(exc, attr, empty)
            except (AttributeError, TypeError):  # pragma: no cover
                pass
    exc.__traceback__ = None
    for name in ("__cause__", "__context__"):
        inner = getattr(exc, name, None)
        if inner is not None and inner is not exc:
            setattr(exc, name, None)
