"""Table tests for the UID / idTag helpers."""

from __future__ import annotations

import pytest

from drivers.rfid.uid import normalize_uid, uid_for_id_tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04:A1:B2:C3", "04A1B2C3"),
        ("04a1b2c3", "04A1B2C3"),
        ("04 a1 b2 c3", "04A1B2C3"),
        ("  04A1B2C3  ", "04A1B2C3"),
        ("04-A1-B2-C3", "04A1B2C3"),
        ("04:5a:8b:12:6c:80:01", "045A8B126C8001"),
        ("045A8B126C8001", "045A8B126C8001"),
        ("04 5A 8B 12 6C 80 01", "045A8B126C8001"),
        ("00000000", "00000000"),
    ],
)
def test_normalize_uid_accepts(text: str, expected: str) -> None:
    assert normalize_uid(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("04A1B2", "3 bytes"),
        ("04A1B2C3D4", "5 bytes"),
        ("04A1B2C3D4E5F6A7", "8 bytes"),
        ("04A1B2C", "odd number"),
        ("04:A1:B2:ZZ", "not hexadecimal"),
        ("0x04A1B2C3", "not hexadecimal"),
    ],
)
def test_normalize_uid_rejects(text: str, complaint: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_uid(text)
    message = str(info.value)
    assert complaint in message
    assert repr(text) in message  # names the value
    assert "4 or 7 bytes" in message  # and the allowed sizes


CARDS = {"ALICE": "04:A1:B2:C3", "bob-7b": "04 5A 8B 12 6C 80 01", "DEADBEEF": "11223344"}


@pytest.mark.parametrize(
    ("id_tag", "cards", "expected"),
    [
        ("ALICE", CARDS, "04A1B2C3"),  # listed
        ("alice", CARDS, "04A1B2C3"),  # OCPP idTags are case-insensitive
        ("BOB-7B", CARDS, "045A8B126C8001"),
        ("DEADBEEF", CARDS, "11223344"),  # the cards table wins over the hex reading
        ("deadbeef", None, "DEADBEEF"),  # 8 hex digits: the idTag is the UID
        ("045a8b126c8001", None, "045A8B126C8001"),  # 14 hex digits
        ("04A1B2C3", {}, "04A1B2C3"),
        ("A", {"A": "01020304"}, "01020304"),  # 1 character is allowed
        ("X" * 20, {"X" * 20: "01020304"}, "01020304"),  # 20 characters is allowed
    ],
)
def test_uid_for_id_tag(id_tag: str, cards: dict[str, str] | None, expected: str) -> None:
    assert uid_for_id_tag(id_tag, cards) == expected


@pytest.mark.parametrize(
    ("id_tag", "cards", "complaint"),
    [
        ("", CARDS, "empty"),
        ("X" * 21, {"X" * 21: "01020304"}, "21 characters"),
        ("CAROL", CARDS, "cards"),  # unknown, not hex: must be listed
        ("CAROL", None, "cards"),
        ("04A1B2", None, "cards"),  # hex but 3 bytes: not a UID
        ("04A1B2C3D4", None, "cards"),  # hex but 5 bytes
        ("ALICE\n", CARDS, "printable ASCII"),
        ("BROKEN", {"BROKEN": "0102"}, "2 bytes"),  # a bad entry in the table is reported as such
        ("dup", {"DUP": "01020304", "Dup": "05060708"}, "several entries"),
    ],
)
def test_uid_for_id_tag_rejects(id_tag: str, cards: dict[str, str] | None, complaint: str) -> None:
    with pytest.raises(ValueError) as info:
        uid_for_id_tag(id_tag, cards)
    assert complaint in str(info.value)


def test_unlisted_id_tag_message_says_where_to_list_it() -> None:
    with pytest.raises(ValueError) as info:
        uid_for_id_tag("CAROL", CARDS)
    message = str(info.value)
    assert "'CAROL'" in message
    assert "bench config's cards" in message


def test_same_uid_under_two_cases_is_not_ambiguous() -> None:
    assert uid_for_id_tag("dup", {"DUP": "01020304", "Dup": "01:02:03:04"}) == "01020304"
