"""The roles played by software gear, whatever carries the actions (HTTP, MQTT): each protocol method is one
declared action, and measurements come from the declared read-back.

A transport performs a named action with the values its templates may use, and returns what a read-back gave
as {field: raw value}; it raises DriverError (through the driver's `error`) naming what failed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, ClassVar, Mapping, Protocol

from benchctl.config.schema import Schema
from benchctl.config.typed import schema_of

from ..base import Driver
from ..errors import DriverError
from ..evse_tester import checks, iec61851
from ..evse_tester.protocol import CPMeasurement, EVEmulatorProtocol
from ..meter.protocol import EnergyMeterProtocol, MeterReading
from ..relay.protocol import DigitalOutputProtocol
from ..rfid.protocol import RFIDPresenterProtocol
from ..rfid.uid import normalize_uid
from ..steplog import StepLog, step
from .catalogue import KINDS, PROBE
from .settings import EvRoleSettings, OutputRoleSettings, actions_schema, check_actions

CONFIRM_POLL_S = 0.01  # how often a set output's read-back is looked at until it shows the level
_TRUE = {"1", "ON", "TRUE", "YES", "CLOSED"}
_FALSE = {"0", "OFF", "FALSE", "NO", "OPEN"}


class Transport(Protocol):
    address: str
    timeout_s: float  # how long a request may take

    def has(self, action: str) -> bool: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def perform(self, action: str, values: Mapping[str, Any]) -> None: ...

    async def read(self, action: str, values: Mapping[str, Any]) -> dict[str, Any]: ...


class SoftGear:
    """What every software-gear driver shares: its transport, its common template values and its check."""

    kind: ClassVar[str] = ""
    transport_name: ClassVar[str] = ""  # "http" or "mqtt": which actions schema its settings take
    settings: ClassVar[type | None] = None
    transport: Transport
    connector_id: int

    def __init__(self, role: str, settings: Any, *, steplog: StepLog | None = None) -> None:
        self.transport = self.make_transport(role, settings, self._error)
        assert isinstance(self, Driver)
        Driver.__init__(self, role, self.transport.address, steplog)
        self.connector_id = settings.connector_id
        self.configure(settings)

    def _error(self, message: str) -> DriverError:
        assert isinstance(self, Driver)
        return self.error(message)

    @classmethod
    def make_transport(cls, role: str, settings: Any, fail: Callable[[str], DriverError]) -> Transport:
        """The transport this class's drivers perform their actions over (HTTPGear, MQTTGear say which)."""
        raise TypeError(f"{cls.__name__} is no HTTP or MQTT gear: it names no transport")

    @classmethod
    def schema(cls) -> Schema:
        """The settings dataclass's schema, with `actions` as this role kind's actions over this transport."""
        assert cls.settings is not None
        return Schema({**schema_of(cls.settings).fields, "actions": actions_schema(cls.kind, cls.transport_name)})

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> tuple[str, str] | None:
        return check_actions(cls.kind, settings)

    def configure(self, settings: Any) -> None:
        """Take the role's own settings from the driver's settings (none by default)."""

    def _values(self, **values: Any) -> dict[str, Any]:
        assert isinstance(self, Driver)
        return {"connector_id": self.connector_id, "role": self.role, **values}

    async def _do(self, action: str, **values: Any) -> None:
        if not self.transport.has(action):
            assert isinstance(self, Driver)
            raise self.error(f"the bench config declares no '{action}' action for this role")
        await self.transport.perform(action, self._values(**values))

    async def _read(self, action: str) -> dict[str, Any]:
        return await self.transport.read(action, self._values())

    async def connect(self) -> None:
        await self.transport.open()

    async def close(self) -> None:
        await self.transport.close()

    async def _probe(self) -> dict[str, Any]:
        """The read-back when there is one, else the probe action."""
        read = KINDS[self.kind].read
        if read is not None and self.transport.has(read):
            return await self._read(read)
        await self._do(PROBE)
        return {"probe": "answered"}


def _number(driver: Driver, name: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise driver.error(f"read-back field {name}: expected a number, got {raw!r}")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise driver.error(f"read-back field {name}: expected a number, got {raw!r}") from None


def as_level(driver: Driver, raw: Any) -> bool:
    """A switch state as devices write it: a boolean, 0/1, or ON/OFF, true/false (any case)."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().upper()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise driver.error(f"read-back field level: expected on/off, true/false or 1/0, got {raw!r}")


class SoftEVEmulator(SoftGear, EVEmulatorProtocol):
    kind = "ev_emulator"
    standard: str

    def configure(self, settings: EvRoleSettings) -> None:
        self.standard = checks.standard(settings.standard)

    @step
    async def set_plug(self, connected: bool) -> None:
        connected = checks.flag("connected", connected)
        await self._do("plug" if connected else "unplug", connected=connected)

    @step
    async def set_cp_state(self, state: str) -> None:
        await self._do("cp_state", state=checks.cp_state(state))

    @step
    async def set_diode_fault(self, fault: bool) -> None:
        await self._do("diode_fault", fault=checks.flag("fault", fault))

    @step
    async def set_pp_rating(self, amps: int) -> None:
        await self._do("pp_rating", amps=checks.pp_rating(amps))

    @step
    async def measure(self) -> CPMeasurement:
        fields = await self._read("measure")
        state = str(fields["state"]).strip().upper()
        if state not in iec61851.CP_STATE_VOLTS:
            raise self.error(f"read-back field state: expected a CP state A-F, got {fields['state']!r}")
        duty = _number(self, "duty_pct", fields["duty_pct"])
        pwm = 0.0 < duty < 100.0
        high = _number(self, "high_v", fields["high_v"]) if "high_v" in fields else iec61851.CP_STATE_VOLTS[state]
        low = _number(self, "low_v", fields["low_v"]) if "low_v" in fields else (-12.0 if pwm else high)
        frequency = (_number(self, "frequency_hz", fields["frequency_hz"]) if "frequency_hz" in fields
                     else 1000.0 if pwm else 0.0)
        return CPMeasurement(high_v=high, low_v=low, duty_pct=duty, frequency_hz=frequency, state=state,
                             current_limit_a=iec61851.duty_to_current(duty, self.standard) if pwm else None)

    @step
    async def safe_state(self) -> None:
        # every action is tried even if one fails, the plug first: the charger sees the EV leave
        first: Exception | None = None
        for call in (lambda: self._do("unplug", connected=False), lambda: self._do("cp_state", state="A")):
            try:
                await call()
            except Exception as exc:  # noqa: BLE001 - re-raised below after the other actions
                first = first or exc
        if first is not None:
            raise first

    @step
    async def self_test(self) -> dict[str, Any]:
        return await self._probe()


class SoftCardPresenter(SoftGear, RFIDPresenterProtocol):
    kind = "rfid"

    @step
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        self._cancel_hold()
        await self._do("present", uid=normalize_uid(uid))
        if hold_s is not None:
            self._schedule_removal(hold_s)

    @step
    async def remove(self) -> None:
        self._cancel_hold()
        await self._do("remove")

    @step
    async def safe_state(self) -> None:
        await self.remove()

    @step
    async def self_test(self) -> dict[str, Any]:
        return await self._probe()


class SoftOutput(SoftGear, DigitalOutputProtocol):
    """`get` reads the declared read-back; without one it is the level last set (None before any)."""

    kind = "digital_output"
    safe_level: bool
    _last: bool | None = None

    def configure(self, settings: OutputRoleSettings) -> None:
        self.safe_level = checks.flag("safe_level", settings.safe_level)

    @step
    async def set(self, level: bool) -> None:
        await self._do("on" if level else "off", level=bool(level))
        if self.transport.has("get"):
            await self._confirm(bool(level))
        self._last = bool(level)

    async def _confirm(self, level: bool) -> None:
        """Set means done: over MQTT a command reaches the device some time after it is published, and the next
        step (a tool request the switched fault must change the answer to) may not run before. The declared
        read-back shows the level before set returns; a device that never shows it is a bench error."""
        timeout = self.transport.timeout_s
        deadline = time.monotonic() + timeout
        while (now := as_level(self, (await self._read("get"))["level"])) != level:
            if time.monotonic() > deadline:
                raise self._error(f"set to {'on' if level else 'off'}, its read-back still shows "
                                  f"{'on' if now else 'off'} after {timeout:g} s")
            await asyncio.sleep(CONFIRM_POLL_S)

    @step
    async def get(self) -> bool:
        if self.transport.has("get"):
            return as_level(self, (await self._read("get"))["level"])
        if self._last is None:
            raise self.error("no 'get' read-back declared and the output was not set yet")
        return self._last

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        if self.transport.has("get"):
            return {"level": await self.get(), "safe_level": self.safe_level}
        return await self._probe()


class SoftMeter(SoftGear, EnergyMeterProtocol):
    kind = "meter"

    @step
    async def read(self) -> MeterReading:
        fields = await self._read("read")

        def phases(name: str) -> list[float]:
            raw = fields[name]
            return [_number(self, name, v) for v in raw] if isinstance(raw, list) else [_number(self, name, raw)]

        return MeterReading(voltage_v=phases("voltage_v"), current_a=phases("current_a"),
                            power_w=_number(self, "power_w", fields["power_w"]),
                            energy_wh=_number(self, "energy_wh", fields["energy_wh"]),
                            frequency_hz=_number(self, "frequency_hz", fields.get("frequency_hz", 0.0)))

    @step
    async def self_test(self) -> dict[str, Any]:
        return (await self.read()).as_dict()
