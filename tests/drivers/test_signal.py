"""AT+CSQ <-> dBm."""

from __future__ import annotations

import math

import pytest

from drivers.dongle.signal import csq_to_dbm, dbm_to_csq

CSQ_TABLE = [(0, -113), (1, -111), (2, -109), (15, -83), (16, -81), (30, -53), (31, -51), (99, None)]


@pytest.mark.parametrize("csq, dbm", CSQ_TABLE)
def test_csq_to_dbm(csq: int, dbm: int | None) -> None:
    assert csq_to_dbm(csq) == dbm


@pytest.mark.parametrize("csq", [-1, 32, 50, 98, 100, 255, True, 1.0, "15", None])
def test_csq_to_dbm_rejects_other_values(csq: object) -> None:
    with pytest.raises(ValueError, match="csq"):
        csq_to_dbm(csq)  # type: ignore[arg-type]


DBM_TABLE = [
    (-math.inf, 0),
    (-120, 0),
    (-113, 0),
    (-112, 0),
    (-111.5, 0),
    (-111, 1),
    (-110, 1),
    (-81, 16),
    (-80.5, 16),
    (-53, 30),
    (-52, 30),
    (-51.5, 30),
    (-51, 31),
    (-40, 31),
    (math.inf, 31),
    (None, 99),
]


@pytest.mark.parametrize("dbm, csq", DBM_TABLE)
def test_dbm_to_csq(dbm: float | None, csq: int) -> None:
    assert dbm_to_csq(dbm) == csq


@pytest.mark.parametrize("dbm", [math.nan, "−81", True])
def test_dbm_to_csq_rejects_non_numbers(dbm: object) -> None:
    with pytest.raises(ValueError, match="dbm"):
        dbm_to_csq(dbm)  # type: ignore[arg-type]


@pytest.mark.parametrize("csq", [*range(32), 99])
def test_round_trip(csq: int) -> None:
    assert dbm_to_csq(csq_to_dbm(csq)) == csq
