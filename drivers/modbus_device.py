"""What every Modbus driver shares: the transport its settings describe, one link over it, connect and close."""

from __future__ import annotations

from typing import Any

from .modbus_link import ModbusLink
from .modbus_settings import ModbusLinkSettings, check_transport
from .steplog import StepLog, step


def register_runs(addresses: dict[str, int], width: int = 1) -> list[tuple[int, list[str]]]:
    """Group values `width` registers wide into runs of adjacent addresses, so reading them costs one
    request per run and never reads a gap."""
    runs: list[tuple[int, list[str]]] = []
    for name, address in sorted(addresses.items(), key=lambda item: item[1]):
        if runs and runs[-1][0] + width * len(runs[-1][1]) == address:
            runs[-1][1].append(name)
        else:
            runs.append((address, [name]))
    return runs


class ModbusDevice:
    """Mixin for a Driver that talks to one Modbus device id. Call `_init_modbus` from `__init__`."""

    link: ModbusLink
    role: str  # the Driver's, which this mixin is combined with
    steplog: StepLog

    def _init_modbus(self, role: str, steplog: StepLog | None, settings: ModbusLinkSettings,
                     what: str = "") -> None:
        link_transport = settings.resolve_transport()
        address = f"{link_transport.describe()} device {settings.device_id}" + (f" {what}" if what else "")
        super().__init__(role, address, steplog)  # type: ignore[call-arg]
        self.link = ModbusLink(transport=link_transport, device_id=settings.device_id,
                               timeout_s=settings.timeout_s, retries=settings.retries,
                               error=self.error)  # type: ignore[attr-defined]

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> tuple[str, str] | None:
        return check_transport(settings)

    @step
    async def connect(self) -> None:
        await self.link.connect()

    @step
    async def close(self) -> None:
        await self.link.close()
