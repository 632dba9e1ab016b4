"""IATI 2.03 codelists the project ships as data files (currencies, DAC sectors)."""

import csv
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def _load(filename):
    with open(DATA_DIR / filename, newline="", encoding="utf-8") as f:
        return {row["code"]: (row["name"], row["status"]) for row in csv.DictReader(f)}


@cache  # read for every row of a list page: built once per process
def currencies():
    """Active ISO 4217 currencies, code to name (read once; do not change the answer)."""
    return {
        code: name for code, (name, status) in _load("currencies.csv").items() if status == "active"
    }


@cache  # read for every row of a list page: built once per process
def sectors():
    """Active OECD DAC 5-digit purpose codes, code to name (read once; do not change it)."""
    return {
        code: name
        for code, (name, status) in _load("dac_sectors.csv").items()
        if status == "active"
    }


# Codes the list still calls active that no one pays a tranche in: currencies already replaced
# (Croatia's kuna by the euro in 2023, the old leone by SLE, Cuba's convertible peso), fund and
# index units (BOV, CLF, COU, MXV, UYI, USN) and non-national units (XBT is not even ISO 4217;
# XDR is the IMF's unit of account). The pickers leave them out; a stored one still shows.
NOT_PAID_IN = frozenset(
    {"HRK", "SLL", "CUC", "BOV", "CLF", "COU", "MXV", "UYI", "UYW", "USN", "CHE", "CHW"}
    | {"XBT", "XDR", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XPD", "XPT", "XSU", "XTS", "XUA"}
    | {"XXX"}
)


def money_currencies():
    """The currencies money is paid in: active, national (or a currency union's), in use."""
    return {code: name for code, name in currencies().items() if code not in NOT_PAID_IN}


def currency_choices():
    return [(code, f"{code} – {name}") for code, name in sorted(currencies().items())]


def sector_choices():
    return [(code, f"{code} – {name}") for code, name in sorted(sectors().items())]
