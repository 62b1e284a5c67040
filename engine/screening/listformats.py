"""Published sanctions list formats, read into the one model of engine.screening.watchlists: OFAC SDN
and Consolidated (non-SDN) CSV, the US Consolidated Screening List CSV, the EU Financial
Sanctions Files (XML and CSV), the UK Sanctions List CSV (FCDO) and the former UK (OFSI)
consolidated list CSV, and OpenSanctions CSV.

Readers are strict: bad input (a wrong format, a truncated or UTF-16 file, duplicate ids, an
alias of an unknown entry where the format cannot tell a newer file) raises `ListImportError`
naming the file and line; rows that a format allows to be skipped are counted
(`Watchlist.skipped`). Nothing here writes: `engine.screening.watchlists.write_watchlist` does, atomically.

The readers live by origin: engine.screening.formats_us (OFAC SDN and Consolidated, US CSL,
OpenSanctions) and engine.screening.formats_europe (EU, UK), on the shared helpers of
engine.screening.listread; this module names them all.
"""

from engine.screening.formats_europe import (
    EU_CSV_COLUMNS,
    EU_CSV_REQUIRED,
    UK_LIST_COLUMNS,
    UK_LIST_REQUIRED,
    load_eu_fsf,
    load_eu_fsf_csv,
    load_uk_ofsi,
    load_uk_sanctions_list,
)
from engine.screening.formats_us import (
    CSL_COLUMNS,
    CSL_REQUIRED,
    load_ofac_sdn,
    load_opensanctions,
    load_us_csl,
)
from engine.screening.listread import OFAC_EMPTY, country_code

__all__ = [
    "CSL_COLUMNS", "CSL_REQUIRED", "EU_CSV_COLUMNS", "EU_CSV_REQUIRED", "OFAC_EMPTY",
    "UK_LIST_COLUMNS", "UK_LIST_REQUIRED", "country_code", "load_eu_fsf", "load_eu_fsf_csv",
    "load_ofac_sdn", "load_opensanctions", "load_uk_ofsi", "load_uk_sanctions_list",
    "load_us_csl",
]
