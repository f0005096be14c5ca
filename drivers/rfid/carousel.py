"""Card presenter made of real cards, one per relay channel: a card carousel.

Each physical card sits on its own digital output of the bench: a small actuator that moves it in front of
the reader, or a relay that connects the card's antenna. The carousel presents a card by energising its
channel, after de-energising every other one, so there is never more than one card in the field.

The setting `cards` maps each card's UID (hex, 4 or 7 bytes, any separators) to the role name of the digital
output it sits on. Those outputs are roles of the same bench, built on their own; the bench hands them over
with `bind(drivers)` once every role is built (the carousel never opens them itself, and closing it leaves
them to the bench). Card channels should keep `safe_level: false`, so the bench's safe state empties the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..base import Driver
from ..relay.protocol import DigitalOutputProtocol
from ..steplog import StepLog, step
from .protocol import RFIDPresenterProtocol
from .settings import CarouselSettings
from .uid import normalize_uid, uid_for_id_tag

_HEX_OR_SEPARATOR = set("0123456789abcdefABCDEF: -\t")


def check_cards(cards: Any) -> str | None:
    """What is wrong with a `cards` setting (UID -> output role), or None. For the bench config schema."""
    try:
        _parse_cards(cards)
    except ValueError as exc:
        return str(exc)
    return None


def _parse_cards(cards: Any) -> dict[str, str]:
    if not isinstance(cards, Mapping) or not cards:
        raise ValueError("cards must map each card UID to the role of the output it sits on, "
                         "e.g. {'04A1B2C3': card_a, '04D4E5F6': card_b}")
    parsed: dict[str, str] = {}
    roles: dict[str, str] = {}
    for key, role in cards.items():
        if not isinstance(key, str):
            raise ValueError(f"card UID {key!r} is not text; write it as a string of hex digits, "
                             f"e.g. '{key}': {role}")
        try:
            uid = normalize_uid(key)
        except ValueError as exc:
            raise ValueError(f"cards: {exc}") from None
        if not isinstance(role, str) or not role:
            raise ValueError(f"card {uid}: the role of its output must be a role name, not {role!r}")
        if uid in parsed:
            raise ValueError(f"card {uid} is listed twice in cards")
        if role in roles:
            raise ValueError(f"cards {roles[role]} and {uid} both sit on output '{role}'; "
                             "a channel holds one card")
        parsed[uid] = role
        roles[role] = uid
    return parsed


class CardCarousel(RFIDPresenterProtocol):
    """Present real cards by switching the one channel each sits on; never two cards in the field."""

    backend = "carousel"
    kind = "rfid"
    settings = CarouselSettings
    summary = "real cards, one per relay channel (actuator or antenna relay), switched one at a time"
    on_lost = (
        "the card relays do what their backend does (see `modbus_coil`, `gpio_relay`); give card channels "
        "`safe_level: false` so the safe state empties the field."
    )

    def __init__(self, role: str, settings: CarouselSettings, *, steplog: StepLog | None = None) -> None:
        parsed = _parse_cards(settings.cards)
        super().__init__(role, "cards on " + ", ".join(parsed.values()), steplog)
        if not settings.swap_gap_s >= 0:
            raise ValueError(f"swap_gap_s must be >= 0 seconds, got {settings.swap_gap_s!r}")
        self.cards = parsed  # UID -> output role
        self.swap_gap_s = settings.swap_gap_s  # the field stays empty this long between two cards
        self._outputs: dict[str, DigitalOutputProtocol] | None = None  # UID -> output, set by bind()
        self._lock = asyncio.Lock()

    # wiring ---------------------------------------------------------------------------------------

    def bind(self, drivers: Mapping[str, Driver]) -> None:
        """Take the card outputs from the bench's drivers (role -> driver), once every role is built."""
        outputs: dict[str, DigitalOutputProtocol] = {}
        for uid, role in self.cards.items():
            driver = drivers.get(role)
            if driver is None:
                others = ", ".join(sorted(r for r in drivers if r != self.role)) or "none"
                raise self.error(f"card {uid} sits on output role '{role}', but this bench has no role "
                                 f"'{role}' (roles: {others}); add it as a digital output or fix `cards`")
            if driver is self:
                raise self.error(f"card {uid} sits on role '{role}', which is this carousel itself")
            if not isinstance(driver, DigitalOutputProtocol):
                raise self.error(f"card {uid} sits on role '{role}', which is a {type(driver).__name__}, "
                                 "not a digital output (relay)")
            outputs[uid] = driver
        self._outputs = outputs

    @property
    def outputs(self) -> dict[str, DigitalOutputProtocol]:
        if self._outputs is None:
            raise self.error("the card outputs are not bound yet; the bench binds them once every role is "
                             "built (call bind(drivers))")
        return self._outputs

    # lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect the card outputs (idempotent for every output driver)."""
        for output in self.outputs.values():
            await output.connect()

    async def close(self) -> None:
        """Cancel a pending timed removal. The outputs are the bench's roles: the bench closes them."""
        self._cancel_hold()

    # role commands --------------------------------------------------------------------------------

    @step
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        """Every other card out of the field, then this one in; out again after `hold_s` if given.

        `uid` is a UID in hex (separators allowed) or an idTag made of 8 or 14 hex digits. The call
        returns once the card's channel is energised. A later present() or remove() replaces a pending
        timed removal.
        """
        card_uid = _to_uid(uid)
        if hold_s is not None and not hold_s >= 0:
            raise ValueError(f"hold_s must be >= 0 seconds or None, got {hold_s!r}")
        outputs = self.outputs
        if card_uid not in outputs:
            raise ValueError(f"the carousel holds no card {card_uid}; it holds "
                             f"{', '.join(f'{u} (on {r})' for u, r in self.cards.items())}")
        self._cancel_hold()
        async with self._lock:
            # every other channel off first: a failure here raises before the card goes in
            for other, output in outputs.items():
                if other != card_uid:
                    await output.set(False)
            if self.swap_gap_s:
                await asyncio.sleep(self.swap_gap_s)
            await outputs[card_uid].set(True)
        if hold_s is not None:
            self._schedule_removal(hold_s)

    @step
    async def remove(self) -> None:
        """Every card channel off; all are tried even when one fails, then the first failure is raised."""
        self._cancel_hold()
        outputs = self.outputs
        async with self._lock:
            failures: list[Exception] = []
            for output in outputs.values():
                try:
                    await output.set(False)
                except Exception as exc:  # noqa: BLE001 - the other cards must still leave the field
                    failures.append(exc)
            if failures:
                raise failures[0]

    @step
    async def safe_state(self) -> None:
        """No card in the field."""
        await self.remove()

    @step
    async def self_test(self) -> dict[str, Any]:
        """Read every card channel; report which card is in the field."""
        outputs = self.outputs
        async with self._lock:
            levels = {uid: await output.get() for uid, output in outputs.items()}
        in_field = [uid for uid, level in levels.items() if level]
        return {
            "cards": {uid: {"role": self.cards[uid], "on": level} for uid, level in levels.items()},
            "in_field": in_field[0] if len(in_field) == 1 else (None if not in_field else in_field),
        }


def _to_uid(uid: str) -> str:
    """A UID in hex, or an idTag that is one; the ValueError explains whichever reading fits."""
    try:
        return normalize_uid(uid)
    except ValueError:
        if isinstance(uid, str) and uid and any(ch not in _HEX_OR_SEPARATOR for ch in uid):
            return uid_for_id_tag(uid)  # raises, telling to list the idTag in the bench config's cards
        raise
