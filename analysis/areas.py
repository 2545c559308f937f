"""Area codes every stage shares.

Areas are identified by Kemendagri codes (``31`` DKI Jakarta, ``31.71`` Jakarta Pusat, ...). BPS numbers the
kota differently (BPS 3171 is Jakarta Selatan): join the two only through the crosswalk, never by prefix.
"""

from __future__ import annotations

CITY_CODE = "31"
"""DKI Jakarta's Kemendagri province code: the ``area`` of every city-level row."""

FIELD_SITE_NAMES = {
    # The kampung of the field research (Joveto & Irwansyah 2023, JDPL 5(3): the BST check in JAKI in Kampung
    # Tengah, Kramat Jati, and Kampung Gedong, Pasar Rebo), under the names residents and the paper use for them.
    "31.75.04.1002": "Kampung Tengah",
    "31.75.05.1001": "Kampung Gedong",
}
"""Names people search for that are not the register's kelurahan name."""

CITY_NAME = "DKI Jakarta"


def area_names(register) -> dict[str, str]:
    """Kemendagri code -> name for every area of the register: ``31`` DKI Jakarta, each kota (``kab_kota``)
    and each kelurahan (``kelurahan``). Empty (but for the city) without a register."""
    names = {CITY_CODE: CITY_NAME}
    if register is None or not len(register):
        return names
    if {"kode_kab_kemendagri", "kab_kota"} <= set(register.columns):
        names |= dict(zip(register["kode_kab_kemendagri"].astype(str), register["kab_kota"].astype(str)))
    names |= dict(zip(register["kode_kemendagri"].astype(str), register["kelurahan"].astype(str)))
    return names


def with_area_name(data, register, code: str = "area_code"):
    """``data`` with an ``area_name`` column (last) naming the area of column ``code`` (``area_names``); empty
    for a code the register does not know."""
    import pandas as pd

    names = area_names(register)
    out = data.copy()
    out["area_name"] = pd.array([names.get(str(c)) if not pd.isna(c) else None for c in out[code]], dtype="string")
    return out
