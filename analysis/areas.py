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
