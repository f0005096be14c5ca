"""Card UIDs and OCPP idTags: pure helpers, no I/O.

A card presenter needs a UID (ISO 14443-A: 4 bytes "single size" or 7 bytes "double size"); a scenario
speaks in OCPP idTags. `uid_for_id_tag` maps one to the other using the bench config's `cards` table,
or takes the idTag itself when it already is a UID written in hex (what most chargers send).
"""

from __future__ import annotations

import string

UID_SIZES = (4, 7)  # bytes; ISO/IEC 14443-3 single and double size UIDs
ID_TAG_MAX_LEN = 20  # OCPP 1.6 idToken is a CiString20Type

_SEPARATORS = ":- \t"
_HEX = set(string.hexdigits)


def normalize_uid(text: str) -> str:
    """Return the UID in `text` as upper-case hex without separators.

    Accepts "04:A1:B2:C3", "04-a1-b2-c3", "04 a1 b2 c3", "04a1b2c3". The UID must be 4 or 7 bytes.
    """
    if not isinstance(text, str):
        raise ValueError(f"UID {text!r} is not a string; a card UID is 4 or 7 bytes written in hex")
    digits = "".join(ch for ch in text if ch not in _SEPARATORS)
    allowed = " or ".join(str(n) for n in UID_SIZES)
    if not digits:
        raise ValueError(f"UID {text!r} is empty; a card UID must be {allowed} bytes written in hex")
    bad = sorted({ch for ch in digits if ch not in _HEX})
    if bad:
        raise ValueError(
            f"UID {text!r} is not hexadecimal (unexpected {''.join(bad)!r}); "
            f"a card UID must be {allowed} bytes written in hex, e.g. '04:A1:B2:C3'"
        )
    if len(digits) % 2:
        raise ValueError(
            f"UID {text!r} has an odd number of hex digits ({len(digits)}); "
            f"a card UID must be {allowed} bytes ({' or '.join(str(2 * n) for n in UID_SIZES)} hex digits)"
        )
    size = len(digits) // 2
    if size not in UID_SIZES:
        raise ValueError(
            f"UID {text!r} is {size} bytes; a card UID must be {allowed} bytes "
            f"({' or '.join(str(2 * n) for n in UID_SIZES)} hex digits)"
        )
    return digits.upper()


def check_id_tag(id_tag: str) -> str:
    """Return `id_tag` if OCPP 1.6 allows it (CiString20Type: 1-20 printable ASCII characters)."""
    if not isinstance(id_tag, str):
        raise ValueError(f"idTag {id_tag!r} is not a string")
    if not id_tag:
        raise ValueError("idTag is empty; OCPP 1.6 idTags are 1 to 20 characters")
    if len(id_tag) > ID_TAG_MAX_LEN:
        raise ValueError(
            f"idTag {id_tag!r} is {len(id_tag)} characters; OCPP 1.6 idTags are 1 to {ID_TAG_MAX_LEN} "
            "characters (CiString20Type)"
        )
    bad = sorted({ch for ch in id_tag if not (" " <= ch <= "~")})
    if bad:
        raise ValueError(
            f"idTag {id_tag!r} contains {''.join(bad)!r}; OCPP 1.6 idTags allow printable ASCII only"
        )
    return id_tag


def uid_for_id_tag(id_tag: str, cards: dict[str, str] | None = None) -> str:
    """The UID of the card that makes the charger send `id_tag`.

    `cards` (the bench config's idTag -> UID table) wins; it is looked up exactly first, then ignoring
    case, since OCPP compares idTags case-insensitively. Without an entry, an idTag of 8 or 14 hex digits
    is taken as the UID itself. Anything else raises ValueError.
    """
    check_id_tag(id_tag)
    if cards:
        if id_tag in cards:
            return _card_uid(id_tag, cards[id_tag])
        folded = id_tag.casefold()
        matches = {key: value for key, value in cards.items() if key.casefold() == folded}
        if matches:
            uids = {_card_uid(key, value) for key, value in matches.items()}
            if len(uids) > 1:
                raise ValueError(
                    f"idTag {id_tag!r} matches several entries of the bench config's cards "
                    f"({', '.join(sorted(matches))}) with different UIDs; OCPP compares idTags "
                    "case-insensitively, so keep one"
                )
            return uids.pop()
    if len(id_tag) in (2 * n for n in UID_SIZES) and all(ch in _HEX for ch in id_tag):
        return id_tag.upper()
    raise ValueError(
        f"idTag {id_tag!r} is not a card UID (8 or 14 hex digits) and is not listed in the bench "
        f"config's cards; add it there, e.g. cards: {{{id_tag!r}: '04A1B2C3'}}, to say which card "
        "UID makes the charger send it"
    )


def _card_uid(id_tag: str, uid: str) -> str:
    try:
        return normalize_uid(uid)
    except ValueError as exc:
        raise ValueError(f"the bench config's cards entry for idTag {id_tag!r}: {exc}") from None
