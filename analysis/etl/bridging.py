"""BPS's bridging JSON (taufiqart/wilayah-indonesia) -> the flat BPS-Kemendagri crosswalk CSV.

Upstream scraped BPS's bridging service (sig.bps.go.id) into one JSON object per parent unit::

    data/31.json                 kab/kota of the province     {"3171": {"parent": "31", "bps_code": "3171",
    data/31/<kab>.json           kecamatan of a kab/kota        "dagri_code": "31.74", "text": "KOTA ADM. ...",
    data/31/<kab>/<kec>.json     kelurahan of a kecamatan       "postal_codes": ["12100", ...]}, ...}

``crosswalk_csv(root)`` flattens them into the columns ``analysis.etl.registers`` reads
(``level, bps_code, kemendagri_code, name, bps_parent, postal_codes``): kab/kota, then kecamatan, then
kelurahan, each in BPS code order, postal codes ``;``-joined. It only reshapes; every check of codes and
parents is ``registers.parse_crosswalk``'s. A file that is not a JSON object of such entries raises
``InputError`` naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from analysis.errors import InputError

PROVINCE = "31"
HEADER = ["level", "bps_code", "kemendagri_code", "name", "bps_parent", "postal_codes"]
KEYS = ("parent", "bps_code", "dagri_code", "text")


def _read(path: Path, source: str) -> dict:
    if not path.is_file():
        raise InputError("file_missing", f"bridging file {path.name} does not exist", source)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("corrupt_file", f"bridging file {path.name} is not valid JSON: {exc}", source) from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise InputError("corrupt_file", f"bridging file {path.name} is not an object of units", source)
    return doc


def _row(level: str, unit: dict) -> list[str]:
    postal = unit.get("postal_codes") or []
    if isinstance(postal, str):
        postal = [postal]
    return [level, str(unit.get("bps_code", "")), str(unit.get("dagri_code", "")), str(unit.get("text", "")),
            str(unit.get("parent", "")), ";".join(str(p) for p in postal)]


def crosswalk_rows(root: Path, province: str = PROVINCE, source: str = "crosswalk_bps_kemendagri") -> list[list[str]]:
    """Rows of the crosswalk (without header) from the ``data/`` directory ``root`` of the upstream repo."""
    root = Path(root)
    kabs = _read(root / f"{province}.json", source)
    rows = [_row("kabupaten_kota", kabs[k]) for k in sorted(kabs)]
    kel_rows = []
    for kab in sorted(kabs):
        kecs = _read(root / province / f"{kab}.json", source)
        rows.extend(_row("kecamatan", kecs[k]) for k in sorted(kecs))
        for kec in sorted(kecs):
            kels = _read(root / province / kab / f"{kec}.json", source)
            kel_rows.extend(_row("desa_kelurahan", kels[k]) for k in sorted(kels))
    return rows + kel_rows


def crosswalk_csv(root: Path, province: str = PROVINCE, source: str = "crosswalk_bps_kemendagri",
                  kemendagri_order: bool = False) -> bytes:
    """The crosswalk as CSV bytes (UTF-8, CRLF line ends as the ``csv`` module writes them), in the bridging
    files' BPS order, or with ``kemendagri_order`` sorted by level and Kemendagri code: the project's own
    code list that ships as the embedded default (``python -m analysis embed-boundaries``), not a copy of
    anyone's file."""
    rows = crosswalk_rows(root, province, source)
    if kemendagri_order:
        rank = {"kabupaten_kota": 0, "kecamatan": 1, "desa_kelurahan": 2}
        rows = sorted(rows, key=lambda r: (rank.get(r[0], 9), r[2]))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")
