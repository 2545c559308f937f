"""Free-text kelurahan names to Kemendagri codes, with a confidence score and a report of what did not match.

Survey exports, open-data tables and NGO spreadsheets write kelurahan names by hand: upper case, typos,
prefixes ("Kel.", "Kelurahan", "Desa", "Kp."), the kota abbreviated in the same cell ("Jaktim", "Jak Tim",
"Kep. Seribu"), missing or extra spaces ("KAMPUNGMELAYU", "Pulo Gadung" vs "Pulogadung"). ``KelurahanMatcher``
maps them to the register (``analysis.etl.registers``) in three steps, the usual record-linkage ladder
(Christen 2012, *Data Matching*, ch. 4-5: cleaning and standardisation, then exact, then approximate
comparison):

1. **exact**: the text equals a register name except for case and surrounding spaces;
2. **normalised**: equal after standardisation (accents, punctuation and spaces removed, prefixes and kota
   stripped, common abbreviations expanded: "Pdk" -> Pondok, "Utr" -> Utara, "2" -> Dua);
3. **fuzzy**: RapidFuzz similarity (``max(ratio on the space-free key, token_sort_ratio on the words)``,
   0-100) computed for all unique spellings at once with ``process.cdist``.

A match is accepted only when it is unique within the hint (kecamatan and/or kota, given as arguments or
found in the text) and, for fuzzy matches, scores at least ``accept`` (85) with a lead of ``margin`` (5)
over the next kelurahan. Everything else is **ambiguous** (several candidates: a name shared by several
kelurahan, an incomplete name like "Rawa Badak", a name that contradicts its hint) or **unmatched** (no
candidate good enough); the best candidates are always listed, never silently chosen.

Every distinct (name, kecamatan, kota) triple is matched once and cached, so ingesting 300,000 households
with a few hundred distinct spellings costs a few hundred lookups.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from analysis.errors import InputError

RESULT_COLUMNS = [
    "input", "kode_kemendagri", "kelurahan", "kecamatan", "kab_kota", "score", "method", "status",
    "kode_kab_kemendagri", "candidates", "reason",
]
ACCEPT = 85.0
MARGIN = 5.0
FLOOR = 60.0  # below this a candidate is not worth showing
MAX_CANDIDATES = 5

# Words that announce the unit type; dropped at the start of a kelurahan name.
ADMIN_PREFIXES = {"kel", "kelurahan", "kelurhan", "klurahan", "desa", "ds", "lurah", "kalurahan"}
KAMPUNG = "kampung"
KECAMATAN_PREFIXES = {"kec", "kecamatan", "kcm"}
KOTA_WORDS = {"kota", "kotamadya", "kotamadia", "kab", "kabupaten", "adm", "administrasi", "administratif", "dki", "provinsi", "prov"}
# Kept when telling "Kabupaten Serang" from "Kota Serang"; the other KOTA_WORDS are noise.
KOTA_TYPES = {"kota": "kota", "kotamadya": "kota", "kotamadia": "kota", "kab": "kabupaten", "kabupaten": "kabupaten"}

# Token abbreviations, any position.
TOKEN_EXPANSIONS = {
    "kp": "kampung", "kmp": "kampung", "kpg": "kampung", "kamp": "kampung", "kampong": "kampung",
    "pd": "pondok", "pdk": "pondok",
    "kb": "kebon",
    "tj": "tanjung", "tg": "tanjung", "tjg": "tanjung", "tanjong": "tanjung",
    "psr": "pasar", "ps": "pasar",
    "jkt": "jakarta",
    "kep": "kepulauan", "kepl": "kepulauan",
    "pl": "pulau",
    "bsr": "besar",
    "2": "dua", "ii": "dua", "3": "tiga", "iii": "tiga", "5": "lima",
}
# Abbreviations that are only expanded after the first word (so "Tim..." or "Bar..." starting a name is kept).
TRAILING_EXPANSIONS = {
    "utr": "utara", "ut": "utara", "u": "utara",
    "sel": "selatan", "slt": "selatan", "sltn": "selatan", "s": "selatan",
    "brt": "barat", "bar": "barat", "b": "barat",
    "tmr": "timur", "tim": "timur", "t": "timur",
    "pst": "pusat", "pus": "pusat",
}
# "P. Tidung" -> Pulau Tidung (first word only).
LEADING_EXPANSIONS = {"p": "pulau"}

DIRECTION_ABBREVIATIONS = {
    "timur": ("timur", "tim", "tmr"),
    "selatan": ("selatan", "sel", "sltn"),
    "barat": ("barat", "bar", "brt"),
    "utara": ("utara", "ut", "utr"),
    "pusat": ("pusat", "pus", "pst"),
}
JAKARTA_PREFIXES = ("jakarta", "jak", "jkt")
SERIBU_ALIASES = ("kepulauanseribu", "kepseribu", "kepulauan1000", "kep1000", "pulauseribu", "seribu", "kepsribu")

_SEPARATORS = re.compile(r"\s*(?:[,;/()\[\]|]|\s-\s)\s*")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_RT_RW = re.compile(r"\b(?:rt|rw)\s*[.:]?\s*\d+(?:\s*/\s*\d+)?", re.I)  # "RT 03", "RW.05", "RT 3/5"


def _ascii_lower(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    return text.encode("ascii", "ignore").decode("ascii").lower()


def tokens_of(text: str) -> list[str]:
    """Lower-case ASCII words of ``text`` with abbreviations expanded (see the module docstring)."""
    words = _NON_ALNUM.sub(" ", _ascii_lower(text).replace("'", "")).split()
    out = []
    for i, w in enumerate(words):
        if i == 0 and w in LEADING_EXPANSIONS and len(words) > 1:
            w = LEADING_EXPANSIONS[w]
        elif i > 0 and w in TRAILING_EXPANSIONS:
            w = TRAILING_EXPANSIONS[w]
        out.append(TOKEN_EXPANSIONS.get(w, w))
    return out


def key_of(text_or_tokens) -> str:
    """The space-free comparison key: ``"Pulo Gadung"`` and ``"PULOGADUNG"`` both give ``"pulogadung"``."""
    tokens = text_or_tokens if isinstance(text_or_tokens, list) else tokens_of(text_or_tokens)
    return "".join(tokens)


def _strip_prefixes(tokens: list[str], prefixes: set[str]) -> list[str]:
    out = list(tokens)
    while len(out) > 1 and out[0] in prefixes:
        out = out[1:]
    return out


@dataclass
class _Unit:
    """One register row as the matcher sees it."""

    code: str
    name: str
    kecamatan: str
    kode_kec: str
    kab_kota: str
    kab_short: str
    kode_kab: str
    key: str
    words: str


@dataclass
class MatchReport:
    """What a ``match`` call could not resolve: counts, and one row per distinct problem spelling."""

    n_total: int
    n_matched: int
    n_ambiguous: int
    n_unmatched: int
    by_method: dict[str, int]
    problems: pd.DataFrame = field(repr=False)

    @property
    def share_matched(self) -> float:
        return self.n_matched / self.n_total if self.n_total else float("nan")

    def __str__(self) -> str:
        lines = [
            f"{self.n_matched} of {self.n_total} names matched ({self.share_matched:.1%}); "
            f"{self.n_ambiguous} ambiguous, {self.n_unmatched} unmatched",
            "by method: " + ", ".join(f"{k} {v}" for k, v in self.by_method.items()),
        ]
        for r in self.problems.itertuples(index=False):
            lines.append(f"  {r.n:>6} x {r.input!r}: {r.status} ({r.reason})" + (f"; candidates: {r.candidates}" if r.candidates else ""))
        return "\n".join(lines)


class KelurahanMatcher:
    """Match free-text kelurahan names against a register (the columns of ``wilayah_register``).

    ``register_df`` needs ``kode_kemendagri, kelurahan, kecamatan, kode_kab_kemendagri, kab_kota`` (and uses
    ``kode_kec_kemendagri`` and ``kab_kota_short`` when present). Works for any region's register, not only DKI.
    """

    def __init__(self, register_df: pd.DataFrame, accept: float = ACCEPT, margin: float = MARGIN):
        need = ["kode_kemendagri", "kelurahan", "kecamatan", "kode_kab_kemendagri", "kab_kota"]
        missing = [c for c in need if c not in register_df.columns]
        if missing:
            raise InputError("missing_columns", f"the register lacks column(s) {', '.join(missing)}", "register")
        if register_df.empty:
            raise InputError("empty_register", "the register has no rows", "register")
        self.accept = float(accept)
        self.margin = float(margin)
        short = register_df["kab_kota_short"] if "kab_kota_short" in register_df.columns else register_df["kab_kota"]
        if "kode_kec_kemendagri" in register_df.columns:
            kec_codes = register_df["kode_kec_kemendagri"].astype(str)
        else:  # a register without kecamatan codes: the kecamatan is identified by its kota and name
            kec_codes = register_df["kode_kab_kemendagri"].astype(str) + "/" + register_df["kecamatan"].astype(str)
        self.units: list[_Unit] = []
        for row, s, kec_code in zip(register_df.itertuples(index=False), short, kec_codes):
            toks = tokens_of(row.kelurahan)
            self.units.append(
                _Unit(
                    code=str(row.kode_kemendagri), name=str(row.kelurahan), kecamatan=str(row.kecamatan),
                    kode_kec=kec_code, kab_kota=str(row.kab_kota), kab_short=str(s),
                    kode_kab=str(row.kode_kab_kemendagri), key="".join(toks), words=" ".join(toks),
                )
            )
        self._keys = [u.key for u in self.units]
        self._words = [u.words for u in self.units]
        self._by_key: dict[str, list[int]] = {}
        self._by_casefold: dict[str, list[int]] = {}
        for i, u in enumerate(self.units):
            self._by_key.setdefault(u.key, []).append(i)
            self._by_casefold.setdefault(" ".join(u.name.split()).casefold(), []).append(i)
        self._kota_aliases = self._build_kota_aliases()
        self._kec_by_key: dict[str, set[str]] = {}
        self._kec_units: dict[str, list[int]] = {}
        self._kab_units: dict[str, list[int]] = {}
        for i, u in enumerate(self.units):
            self._kec_by_key.setdefault(key_of(u.kecamatan), set()).add(u.kode_kec)
            self._kec_units.setdefault(u.kode_kec, []).append(i)
            self._kab_units.setdefault(u.kode_kab, []).append(i)
        self._kec_keys = sorted(self._kec_by_key)
        self._cache: dict[tuple, dict] = {}

    # --- hints ------------------------------------------------------------------------------------------------

    def _build_kota_aliases(self) -> dict[str, set[str]]:
        aliases: dict[str, set[str]] = {}

        def add(alias: str, code: str) -> None:
            aliases.setdefault(alias, set()).add(code)

        for u in self.units:
            short = [t for t in tokens_of(u.kab_short) if t not in KOTA_WORDS]
            full = [t for t in tokens_of(u.kab_kota) if t not in KOTA_WORDS]
            add("".join(short), u.kode_kab)
            add("".join(full), u.kode_kab)
            add(_typed_kota_key(u.kab_kota), u.kode_kab)
            if len(short) == 2 and short[0] == "jakarta" and short[1] in DIRECTION_ABBREVIATIONS:
                for p in JAKARTA_PREFIXES:
                    for d in DIRECTION_ABBREVIATIONS[short[1]]:
                        add(p + d, u.kode_kab)
            if short == ["kepulauan", "seribu"]:
                for a in SERIBU_ALIASES:
                    add(a, u.kode_kab)
        return aliases

    def resolve_kota(self, text) -> set[str] | None:
        """Kemendagri kab/kota codes named by ``text`` ("Jaktim", "Kota Adm. Jakarta Timur", "Kep. Seribu").

        None when ``text`` is empty or names no kab/kota (exactly or with a RapidFuzz ratio >= 90)."""
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            return None
        typed = _typed_kota_key(text)
        if typed in self._kota_aliases:
            return set(self._kota_aliases[typed])
        key = "".join(t for t in tokens_of(text) if t not in KOTA_WORDS)
        if not key:
            return None
        if key in self._kota_aliases:
            return set(self._kota_aliases[key])
        best = process.extractOne(key, list(self._kota_aliases), scorer=fuzz.ratio, score_cutoff=90)
        return set(self._kota_aliases[best[0]]) if best else None

    def resolve_kecamatan(self, text, kab_codes: set[str] | None = None) -> set[str] | None:
        """Kemendagri kecamatan codes named by ``text`` (within ``kab_codes`` when given); None when unknown."""
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            return None
        key = key_of(_strip_prefixes(tokens_of(text), KECAMATAN_PREFIXES))
        if not key:
            return None
        codes = self._kec_by_key.get(key)
        if not codes:
            best = process.extract(key, self._kec_keys, scorer=fuzz.ratio, limit=2, score_cutoff=self.accept)
            if best and (len(best) == 1 or best[0][1] - best[1][1] >= self.margin):
                codes = self._kec_by_key[best[0][0]]
        if not codes:
            return None
        if kab_codes:
            inside = {c for c in codes if self.units[self._kec_units[c][0]].kode_kab in kab_codes}
            return inside or set(codes)
        return set(codes)

    def _split_text(self, text: str) -> tuple[list[str], list[str]]:
        """Split "Tengah, Kramat Jati (Jaktim)" into the name's tokens and the other parts (hint texts).

        A kota written at the end without a separator ("Gedong Jak Tim", "Pulau Tidung Kep Seribu") is
        moved to the hints too."""
        text = _RT_RW.sub(" ", str(text))
        parts = [p for p in _SEPARATORS.split(text) if p and p.strip()]
        if not parts:
            return [], []
        name_tokens = tokens_of(parts[0])
        hints = parts[1:]
        if self._key_hits(name_tokens):
            return name_tokens, hints
        for n in range(min(4, len(name_tokens) - 1), 0, -1):
            suffix = "".join(name_tokens[-n:])
            if suffix in self._kota_aliases:
                i = len(name_tokens) - n
                while i > 1 and name_tokens[i - 1] in KOTA_WORDS:
                    i -= 1
                return name_tokens[:i], [" ".join(name_tokens[-n:]), *hints]
        return name_tokens, hints

    def _key_hits(self, tokens: list[str]) -> bool:
        return any(self._by_key.get("".join(v)) for v in self._variants(tokens))

    @staticmethod
    def _variants(tokens: list[str]) -> list[list[str]]:
        """The name as written, without "Kel."/"Desa", and without a leading "Kampung" (Kampung Tengah is
        kelurahan Tengah; Kampung Melayu stays Kampung Melayu because the full form is tried first)."""
        v0 = list(tokens)
        v1 = _strip_prefixes(v0, ADMIN_PREFIXES)
        v2 = _strip_prefixes(v1, {KAMPUNG})
        out = []
        for v in (v0, v1, v2):
            if v and v not in out:
                out.append(v)
        return out

    def _hint_units(self, kecamatan, kota, text_hints: list[str]) -> tuple[set[int] | None, str]:
        """Register rows allowed by the hints, and a note when a hint could not be used."""
        notes = []
        kab = self.resolve_kota(kota)
        if kota is not None and not _is_blank(kota) and kab is None:
            notes.append("kota hint not recognised")
        kec = self.resolve_kecamatan(kecamatan, kab)
        if kecamatan is not None and not _is_blank(kecamatan) and kec is None:
            notes.append("kecamatan hint not recognised")
        for t in text_hints:
            if kab is None:
                k = self.resolve_kota(t)
                if k:
                    kab = k
                    continue
            if kec is None:
                k = self.resolve_kecamatan(t, kab)
                if k:
                    kec = k
        allowed = None
        if kab:
            allowed = {i for c in kab for i in self._kab_units.get(c, [])}
        if kec:
            kec_rows = {i for c in kec for i in self._kec_units.get(c, [])}
            if allowed is not None and not (allowed & kec_rows):
                notes.append("kecamatan and kota hints disagree; kecamatan used")
                allowed = kec_rows
            else:
                allowed = kec_rows if allowed is None else allowed & kec_rows
        return allowed, "; ".join(notes)

    # --- matching ---------------------------------------------------------------------------------------------

    def _label(self, i: int, score: float | None = None) -> str:
        u = self.units[i]
        s = f" {score:.0f}" if score is not None else ""
        return f"{u.name} ({u.kecamatan}, {u.kab_short}) {u.code}{s}"

    def _labels(self, rows: list[int], scores=None) -> list[str]:
        shown = [self._label(i, None if scores is None else scores[i]) for i in rows[:MAX_CANDIDATES]]
        if len(rows) > MAX_CANDIDATES:
            shown.append(f"... and {len(rows) - MAX_CANDIDATES} more")
        return shown

    def _result(self, status, method, score, unit=None, candidates=(), reason="") -> dict:
        u = self.units[unit] if unit is not None else None
        return {
            "kode_kemendagri": u.code if u else None,
            "kelurahan": u.name if u else None,
            "kecamatan": u.kecamatan if u else None,
            "kab_kota": u.kab_kota if u else None,
            "score": float(round(score, 1)),
            "method": method,
            "status": status,
            "kode_kab_kemendagri": u.kode_kab if u else None,
            "candidates": "; ".join(candidates) if candidates else None,
            "reason": reason or None,
        }

    def _match_exactish(self, raw: str, tokens: list[str], allowed, hint_note: str) -> dict | None:
        """Exact or normalised matches; None when neither finds the name."""
        casefold = " ".join(str(raw).split()).casefold()
        hits, method = self._by_casefold.get(casefold), "exact"
        if not hits:
            method = "normalised"
            for v in self._variants(tokens):
                hits = self._by_key.get("".join(v))
                if hits:
                    break
        if not hits:
            return None
        inside = hits if allowed is None else [i for i in hits if i in allowed]
        if len(inside) == 1:
            return self._result("matched", method, 100.0, inside[0], reason=hint_note)
        if len(inside) > 1:
            why = f"name shared by {len(inside)} kelurahan" + ("" if allowed is not None else "; give the kecamatan or kota")
            return self._result("ambiguous", method, 100.0, None, self._labels(inside), why)
        return self._result(
            "ambiguous", method, 100.0, None, self._labels(hits),
            "hint_conflict: the name exists only outside the given kecamatan/kota",
        )

    def _match_fuzzy(self, tokens: list[str], scores: np.ndarray, allowed, hint_note: str) -> dict:
        """Decide on one row of similarity scores (one per register unit)."""
        variants = self._variants(tokens)
        order = np.argsort(-scores, kind="stable")
        if allowed is not None:
            inside = np.array([i for i in order if i in allowed], dtype=int)
        else:
            inside = order
        # An incomplete name: the words start several kelurahan names ("Rawa Badak" -> Utara / Selatan).
        completions: list[int] = []
        for v in variants:
            words = " ".join(v) + " "
            pool = inside if len(inside) else order
            completions = [int(i) for i in pool if self._words[i].startswith(words)]
            if len(completions) >= 2:
                return self._result(
                    "ambiguous", "fuzzy", float(scores[completions].max()), None,
                    self._labels(completions, scores),
                    "incomplete name: it starts several kelurahan names" + (f"; {hint_note}" if hint_note else ""),
                )
        if len(inside):
            best = int(inside[0])
            s1 = float(scores[best])
            rivals = [int(i) for i in inside[1:] if self.units[int(i)].code != self.units[best].code]
            s2 = float(scores[rivals[0]]) if rivals else 0.0
            if s1 >= self.accept and s1 - s2 >= self.margin:
                return self._result("matched", "fuzzy", s1, best, reason=hint_note)
            close = [best] + [i for i in rivals if scores[i] >= max(FLOOR, s1 - self.margin)]
            if s1 >= self.accept:
                return self._result(
                    "ambiguous", "fuzzy", s1, None, self._labels(close, scores),
                    f"several kelurahan within {self.margin:.0f} points" + (f"; {hint_note}" if hint_note else ""),
                )
        if allowed is not None:
            outside_best = int(order[0])
            if scores[outside_best] >= self.accept and outside_best not in allowed:
                return self._result(
                    "ambiguous", "fuzzy", float(scores[outside_best]), None,
                    [self._label(outside_best, scores[outside_best])],
                    "hint_conflict: the closest name is outside the given kecamatan/kota",
                )
        pool = inside if len(inside) else order
        shown = completions + [int(i) for n, i in enumerate(pool[:3]) if (n == 0 or scores[i] >= FLOOR) and int(i) not in completions]
        best_score = float(scores[pool[0]]) if len(pool) else 0.0
        return self._result(
            "unmatched", "none", best_score, None, [self._label(i, scores[i]) for i in shown],
            f"no kelurahan scores {self.accept:.0f} or more" + (f"; {hint_note}" if hint_note else ""),
        )

    def _scores(self, token_lists: list[list[str]]) -> np.ndarray:
        """Similarity of every (query variant, unit) pair, vectorised with ``process.cdist``; max over the
        variants of each query. Shape (len(token_lists), len(units))."""
        rows, owner = [], []
        for q, tokens in enumerate(token_lists):
            for v in self._variants(tokens):
                rows.append(v)
                owner.append(q)
        if not rows:
            return np.zeros((len(token_lists), len(self.units)))
        keys = ["".join(v) for v in rows]
        words = [" ".join(v) for v in rows]
        by_key = process.cdist(keys, self._keys, scorer=fuzz.ratio, dtype=np.float32, workers=1)
        by_words = process.cdist(words, self._words, scorer=fuzz.token_sort_ratio, dtype=np.float32, workers=1)
        per_variant = np.maximum(by_key, by_words)
        out = np.zeros((len(token_lists), len(self.units)), dtype=np.float32)
        np.maximum.at(out, np.asarray(owner), per_variant)
        return out

    def _match_unique(self, triples: list[tuple]) -> list[dict]:
        results: list[dict | None] = [None] * len(triples)
        pending = []
        for n, (raw, kec, kota) in enumerate(triples):
            if _is_blank(raw):
                results[n] = self._result("unmatched", "none", 0.0, reason="empty name")
                continue
            tokens, text_hints = self._split_text(raw)
            if not tokens:
                results[n] = self._result("unmatched", "none", 0.0, reason="no letters in the name")
                continue
            allowed, note = self._hint_units(kec, kota, text_hints)
            found = self._match_exactish(raw, tokens, allowed, note)
            if found is not None:
                results[n] = found
            else:
                pending.append((n, tokens, allowed, note))
        if pending:
            scores = self._scores([p[1] for p in pending])
            for row, (n, tokens, allowed, note) in enumerate(pending):
                results[n] = self._match_fuzzy(tokens, scores[row], allowed, note)
        return results  # type: ignore[return-value]

    def match(self, names, kecamatan=None, kota=None) -> pd.DataFrame:
        """One row per input name, in input order (columns ``RESULT_COLUMNS``).

        ``kecamatan`` and ``kota`` are optional hints: one value for all names, or one per name (a sequence
        of the same length). Only matched rows carry a code; ambiguous and unmatched rows list candidates.
        """
        names = pd.Series(list(names) if not isinstance(names, pd.Series) else names.to_list(), dtype=object)
        n = len(names)
        kec = self._hint_series(kecamatan, n, "kecamatan")
        kab = self._hint_series(kota, n, "kota")
        frame = pd.DataFrame({"input": names, "kec": kec, "kab": kab})
        # Factorise the (name, kecamatan, kota) triples: each distinct one is matched once.
        keys = frame.astype(object).where(frame.notna(), None)
        triples = list(zip(keys["input"], keys["kec"], keys["kab"]))
        codes, uniques = pd.factorize(pd.Series(triples, dtype=object), use_na_sentinel=False)
        todo = [t for t in uniques if t not in self._cache]
        if todo:
            for t, res in zip(todo, self._match_unique(todo)):
                self._cache[t] = res
            if len(self._cache) > 200_000:
                self._cache.clear()
        unique_rows = pd.DataFrame([self._cache[t] for t in uniques], columns=RESULT_COLUMNS[1:])
        out = unique_rows.iloc[codes].reset_index(drop=True)
        out.insert(0, "input", pd.Series(names.to_list(), dtype=object))
        out["score"] = out["score"].astype("float64")
        return out[RESULT_COLUMNS]

    @staticmethod
    def _hint_series(hint, n: int, what: str) -> list:
        if hint is None or isinstance(hint, str):
            return [hint] * n
        values = list(hint)
        if len(values) != n:
            raise InputError("hint_length", f"{what} hint has {len(values)} values for {n} names", what)
        return values

    def report(self, result: pd.DataFrame) -> MatchReport:
        """Summarise a ``match`` result: counts by status and method, and one row per distinct spelling that
        was not matched (input, status, reason, candidates, n rows), most frequent first."""
        status = result["status"]
        problems = result[status != "matched"]
        if len(problems):
            table = (
                problems.fillna({"candidates": "", "reason": ""})
                .groupby(["input", "status", "reason", "candidates"], dropna=False, sort=False)
                .size()
                .rename("n")
                .reset_index()
                .sort_values(["n", "input"], ascending=[False, True], kind="stable")
                .reset_index(drop=True)
            )
        else:
            table = pd.DataFrame(columns=["input", "status", "reason", "candidates", "n"])
        by_method = {m: int(c) for m, c in result.loc[status == "matched", "method"].value_counts().items()}
        return MatchReport(
            n_total=len(result),
            n_matched=int((status == "matched").sum()),
            n_ambiguous=int((status == "ambiguous").sum()),
            n_unmatched=int((status == "unmatched").sum()),
            by_method=by_method,
            problems=table,
        )


def _typed_kota_key(text) -> str:
    """``"Kab. Serang"`` -> ``"kabupatenserang"``: the kab/kota key keeping whether it is a kabupaten or a kota."""
    toks = tokens_of(text)
    return "".join(KOTA_TYPES.get(t, t) for t in toks if t in KOTA_TYPES or t not in KOTA_WORDS)


def _is_blank(value) -> bool:
    if value is None:
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        pass
    return not str(value).strip()
