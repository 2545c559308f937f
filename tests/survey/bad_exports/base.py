"""A small, valid KoboToolbox-style export of the project's form, built from the form definition itself.

The corpus of malformed exports (``cases.py``) starts from this export and breaks one thing at a time, so a
case fails for the reason it names and no other. Files are made in memory (bytes) or in pytest tmp dirs;
nothing here reads or writes the source mirror. All values are invented (synthetic).
"""

from __future__ import annotations

import io
import uuid

import pandas as pd

from analysis.survey.questionnaire import FormDefinition, load_form

KELURAHAN = [  # (kota, kecamatan, kelurahan) Kemendagri codes
    ("31.75", "31.75.04", "31.75.04.1005"),
    ("31.75", "31.75.05", "31.75.05.1003"),
    ("31.71", "31.71.01", "31.71.01.1001"),
]


def _uuid(i: int) -> str:
    return str(uuid.UUID(int=0xC0FFEE000 + i))


def base_frames(n_households: int = 6, form: FormDefinition | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(main, roster) with XML headers (group paths) and XML values; every household valid and consenting."""
    form = form or load_form()
    mains, members = [], []
    for i in range(n_households):
        kota, kec, kel = KELURAHAN[i % len(KELURAHAN)]
        size = 2 + i % 3
        uses = [(j + i) % 3 != 0 for j in range(size)]
        mains.append(
            {
                "start": "2025-02-03T09:00:00.000+07:00",
                "end": "2025-02-03T09:40:00.000+07:00",
                "today": "2025-02-03",
                "enumerator": f"E{i % 4 + 1:02d}",
                "consent": "yes",
                "lokasi/kota": kota,
                "lokasi/kecamatan": kec,
                "lokasi/kelurahan": kel,
                "lokasi/kelurahan_other": None,
                "lokasi/rw": str(1 + i % 5),
                "rumah_tangga/hh_size": str(size),
                "rumah_tangga/expenditure_bracket": ["lt1500", "1500_3000", "3000_5000", "5000_7500", "7500_10000", "ge10000"][i % 6],
                "rumah_tangga/dtks": ["yes", "no", "dk"][i % 3],
                "rumah_tangga/received_bansos": "yes" if i % 2 == 0 else "no",
                "rumah_tangga/received_bst": "yes" if i % 2 == 0 else None,
                "rumah_tangga/n_phones": str(1 + i % 2),
                "rumah_tangga/phone_shared": "yes",
                "rumah_tangga/phone_shared_for": "school messaging",
                "rumah_tangga/connection": "mobile_data public_wifi" if i % 2 else "mobile_data",
                "rumah_tangga/quota_spend": str(50_000 + 10_000 * i),
                "layanan/knows_jaki": "yes" if i % 3 else "no",
                "layanan/installed_jaki": ("yes" if i % 2 else "no") if i % 3 else None,
                "layanan/used_bst_check": ("no" if i % 2 else None) if i % 3 else None,
                "layanan/jaki_reasons": "no_quota other" if i % 3 else "did_not_know",
                "layanan/jaki_reasons_other": "sinyal lemah di rumah" if i % 3 else None,
                "layanan/used_qlue": "no",
                "layanan/used_complaint_channel": "yes" if i == 1 else "no",
                "informasi/info_bansos": "rt_rw whatsapp" if i % 2 else "rt_rw door_to_door",
                "penutup/respondent_line_no": "1",
                "penutup/catatan": None,
                "_id": str(1000 + i),
                "_uuid": _uuid(i),
                "_submission_time": "2025-02-03T10:00:00",
                "_validation_status": None,
                "_notes": None,
                "_status": "submitted_via_web",
                "_submitted_by": None,
                "__version__": "vABC",
                "_tags": None,
                "_index": str(i + 1),
            }
        )
        for j in range(size):
            age = [42, 38, 12, 3][j % 4] + i
            members.append(
                {
                    "anggota/line_no": str(j + 1),
                    "anggota/member": f"anggota ke-{j + 1}",
                    "anggota/age": str(age),
                    "anggota/sex": "L" if j % 2 == 0 else "P",
                    "anggota/education": (["sma", "smp", "sd", "d4_s1"][j % 4]) if age >= 5 else None,
                    "anggota/occupation": (["employee", "housework", "school", "other"][j % 4]) if age >= 10 else None,
                    "anggota/literate": "yes" if age >= 5 else None,
                    "anggota/uses_internet": ("yes" if uses[j] else "no") if age >= 5 else None,
                    "anggota/owns_smartphone": ("yes" if uses[j] else "no") if age >= 5 else None,
                    "anggota/digital_skill_basic": ("yes" if uses[j] and j == 0 else "no") if age >= 5 else None,
                    "_index": str(len(members) + 1),
                    "_parent_table_name": "akses_digital_jakarta",
                    "_parent_index": str(i + 1),
                    "_submission__id": str(1000 + i),
                    "_submission__uuid": _uuid(i),
                }
            )
    return pd.DataFrame(mains), pd.DataFrame(members)


def to_labels(main: pd.DataFrame, roster: pd.DataFrame, lang: str = "Indonesian (id)", form: FormDefinition | None = None):
    """The same export as KoboToolbox writes it with "Labels" in ``lang``: label headers and label values
    (select_multiple labels space-joined, plus one 0/1 column per option)."""
    form = form or load_form()
    out = []
    for df in (main, roster):
        new = {}
        for col in df.columns:
            try:
                f = next(f for f in form.fields if f.path == col)
            except StopIteration:
                new[col] = df[col]
                continue
            head = f.labels.get(lang) or f.name
            if f.type == "select_one":
                new[head] = df[col].map(lambda v, f=f: None if v is None or pd.isna(v) else form.choice_label(f.list_name, v, lang))
            elif f.type == "select_multiple":
                new[head] = df[col].map(
                    lambda v, f=f: None if v is None or pd.isna(v) else " ".join(form.choice_label(f.list_name, x, lang) for x in v.split())
                )
                for c in form.choices[f.list_name]:
                    new[f"{head}/{c.labels.get(lang) or c.name}"] = df[col].map(
                        lambda v, c=c: None if v is None or pd.isna(v) else ("1" if c.name in v.split() else "0")
                    )
            else:
                new[head] = df[col]
        out.append(pd.DataFrame(new))
    return out[0], out[1]


def csv_bytes(df: pd.DataFrame, sep: str = ",", encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, sep=sep, lineterminator="\n")
    return buf.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets.items():
        ws = wb.create_sheet(title)
        if df is None:
            continue
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append([None if (v is None or (isinstance(v, float) and pd.isna(v))) else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_export(n_households: int = 6, sep: str = ",") -> dict[str, bytes]:
    main, roster = base_frames(n_households)
    return {"akses_digital_jakarta.csv": csv_bytes(main, sep), "anggota.csv": csv_bytes(roster, sep)}


def xlsx_export(n_households: int = 6) -> bytes:
    main, roster = base_frames(n_households)
    return xlsx_bytes({"Akses Digital dan Layanan Publ": main, "anggota": roster})
