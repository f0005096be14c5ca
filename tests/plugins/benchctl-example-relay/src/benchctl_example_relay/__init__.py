"""An example driver plug-in: one channel of a (fictional) Acme relay board on Modbus TCP/RTU, whose channels are
numbered from 1 as printed on the board, with one coil per channel (coil = channel - 1).

It declares itself as every benchctl driver does (drivers/base.py): kind, summary, on_lost and a settings
dataclass, here the shared Modbus link settings plus its own; its distribution's pyproject.toml registers it as
`acme_relay` in the `benchctl.drivers` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting
from drivers.modbus_device import ModbusDevice
from drivers.modbus_settings import ModbusLinkSettings
from drivers.relay.protocol import DigitalOutputProtocol
from drivers.steplog import StepLog, step


@dataclass(kw_only=True)
class AcmeRelaySettings(ModbusLinkSettings):
    channel: int = setting(required=True, minimum=1, maximum=16, help="channel as printed on the board, 1..16")
    safe_level: bool = setting(default=False, help="level of the channel in the safe state")


class AcmeRelay(ModbusDevice, DigitalOutputProtocol):
    backend = "Acme relay"
    kind = "digital_output"
    settings = AcmeRelaySettings
    summary = "one channel of an Acme relay board (Modbus, channels from 1)"
    on_lost = "the board keeps its outputs."

    def __init__(self, role: str, settings: AcmeRelaySettings, *, steplog: StepLog | None = None) -> None:
        self._init_modbus(role, steplog, settings, what=f"channel {settings.channel}")
        self.coil = settings.channel - 1
        self.safe_level = settings.safe_level

    @step
    async def set(self, level: bool) -> None:
        await self.link.write_coil(self.role, self.coil, bool(level))

    @step
    async def get(self) -> bool:
        return (await self.link.read_coils(self.role, self.coil))[0]

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        return {"channel": self.coil + 1, "level": await self.get()}
