"""`AT+CSQ` signal quality <-> dBm (3GPP TS 27.007), so the link check can compare RSSI with the −81 dBm limit.

CSQ 0 means "−113 dBm or less" and 31 "−51 dBm or more"; we report the bound itself, which is what a
report should show for a clipped reading. CSQ 99 means the modem does not know.
"""

from __future__ import annotations

CSQ_UNKNOWN = 99
CSQ_MIN, CSQ_MAX = 0, 31
DBM_AT_CSQ_0 = -113


def csq_to_dbm(csq: int) -> int | None:
    """RSSI in dBm for a `+CSQ` value 0..31 (−113 + 2·CSQ); None for 99 (unknown)."""
    # bool is an int in Python, but True is not a signal reading
    if isinstance(csq, bool) or not isinstance(csq, int):
        raise ValueError(f"csq must be an integer 0..31 or 99, not {csq!r}")
    if csq == CSQ_UNKNOWN:
        return None
    if not CSQ_MIN <= csq <= CSQ_MAX:
        raise ValueError(f"csq must be 0..31 or 99, not {csq}")
    return DBM_AT_CSQ_0 + 2 * csq


def dbm_to_csq(dbm: float | None) -> int:
    """The `+CSQ` value a modem reports for this RSSI: clipped to 0..31, rounded down; None gives 99."""
    if dbm is None:
        return CSQ_UNKNOWN
    if isinstance(dbm, bool) or not isinstance(dbm, (int, float)) or dbm != dbm:  # dbm != dbm: NaN
        raise ValueError(f"dbm must be a number or None, not {dbm!r}")
    if dbm <= DBM_AT_CSQ_0:
        return CSQ_MIN
    if dbm >= DBM_AT_CSQ_0 + 2 * CSQ_MAX:
        return CSQ_MAX
    # each CSQ step covers 2 dB starting at its own value, so −110 dBm still reads as CSQ 1 (−111 dBm)
    return int((dbm - DBM_AT_CSQ_0) // 2)
