"""A simulated card carousel: a Modbus TCP relay board whose coils each put one real card in the reader's field.

The World has no field per card, so the board keeps which channels are energised and writes the result to
`world.card_uid`: the UID of the one energised card, None when none is. Two energised cards are a collision
the simulated reader cannot resolve: it reads no card (None), and `collisions` counts such moments, so a
test can check the carousel never got there; `max_in_field` is the most cards ever energised at once.

As in `modbus_gear`, nothing is stored in the Modbus tables: reads are computed from the channel state and
writes go straight into it, through the `action` hook of a pymodbus `SimDevice`.
"""

from __future__ import annotations

from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer

from drivers.rfid.uid import normalize_uid

from ..world import World
from .modbus_gear import CoilBoard, ModbusGear, _check_loopback, listening_port, pymodbus_trace


class CarouselCoils(CoilBoard):
    """Coil -> card UID; energising a coil puts that card in the field."""

    def __init__(self, world: World, cards: dict[int, str]) -> None:
        if not cards:
            raise ValueError("a card carousel needs at least one card (coil -> UID)")
        self.world = world
        self.cards: dict[int, str] = {}
        for coil, uid in cards.items():
            if isinstance(coil, bool) or not isinstance(coil, int) or not 0 <= coil <= 0xFFFF:
                raise ValueError(f"card carousel: coil must be 0..65535, not {coil!r}")
            self.cards[coil] = normalize_uid(uid)
        self.energised: set[int] = set()
        self.max_in_field = 0
        self.collisions = 0

    @property
    def in_field(self) -> list[str]:
        return [self.cards[coil] for coil in sorted(self.energised)]

    def set_coil(self, coil: int, on: bool) -> None:
        if coil not in self.cards:
            return
        before = len(self.energised)
        (self.energised.add if on else self.energised.discard)(coil)
        count = len(self.energised)
        self.max_in_field = max(self.max_in_field, count)
        if count > 1 and before <= 1:
            self.collisions += 1
        self.world.set("card_uid", self.cards[next(iter(self.energised))] if count == 1 else None)

    def coil_numbers(self) -> list[int]:
        return sorted(self.cards)

    def coil_level(self, coil: int) -> bool:
        return coil in self.energised


class CardCarouselGear(ModbusGear):
    """The running carousel board; `coils` holds the channel state and the collision counters. Set `silent`
    to make it swallow requests without answering."""

    coils: CarouselCoils


async def start_card_carousel(
    world: World,
    cards: dict[int, str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    device_id: int = 1,
) -> CardCarouselGear:
    """Serve a relay board with one card per coil on host:port (port 0 picks a free one; see `.port`)."""
    _check_loopback(host)
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 1 <= device_id <= 247:
        raise ValueError(f"device_id must be 1..247, not {device_id!r}")
    coils = CarouselCoils(world, cards)
    gear: CardCarouselGear | None = None

    def trace_pdu(sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        # `silent` support, as in modbus_gear: the gear is set before any client can connect
        return gear._trace_pdu(sending, pdu) if gear is not None else pdu

    server = ModbusTcpServer([coils.sim_device(device_id)], address=(host, port),
                              trace_pdu=pymodbus_trace(trace_pdu))
    gear = CardCarouselGear(server, host, port)
    gear.coils = coils
    try:
        await server.serve_forever(background=True)
    except RuntimeError as exc:  # pymodbus reports a failed bind this way, without the reason
        raise OSError(f"simulated card carousel cannot listen on {host}:{port} (port in use?)") from exc
    gear.port = listening_port(server)
    return gear
