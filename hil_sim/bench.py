"""The simulated bench: world, charger and gear started together, with the endpoints a bench config needs."""

from __future__ import annotations

import contextlib
from typing import Any

from .charger.station import SimStation
from .faults import FaultSet
from .gear.cellular import CellularLink
from .gear.control_http import HTTPControl
from .gear.control_mqtt import MQTTControl
from .gear.e3372_at import SimE3372AT
from .gear.hilink import SimHiLink
from .gear.link_endpoint import LinkEndpoint
from .gear.modbus_gear import ModbusGear, start_modbus_gear
from .gear.rfid_presenter import SimPresenter
from .settings import SimSettings
from .world import Connector, World

METER_DEVICE_ID = 3  # the reference meter shares the Modbus server of the EV emulator and the relay board


class SimBench:
    """Everything a real bench has, in one process, on loopback."""

    def __init__(self, settings: SimSettings, csms_url: str, charge_point_id: str, host: str = "127.0.0.1",
                 csms_tls_url: str | None = None) -> None:
        self.settings = settings
        self.world = World(connectors=[Connector(energy_wh=settings.station.energy_register_wh,
                                                 plug=settings.station.plug)
                                       for _ in range(settings.station.connectors)])
        self.faults = FaultSet(settings.faults)
        self.station = SimStation(self.world, settings.station, csms_url, charge_point_id, self.faults,
                                  csms_tls_url=csms_tls_url)
        self.host = host
        self.modbus: ModbusGear | None = None
        self.presenter = SimPresenter(self.world)
        # the LTE stick in both of its modes, and the far end the link is measured against
        self.cellular = CellularLink.of(self.world)
        self.modem = SimE3372AT(self.world, cellular=self.cellular)
        self.hilink = SimHiLink(self.world, host=host, cellular=self.cellular)
        self.link_endpoint = LinkEndpoint(self.cellular, host=host)
        # the simulated hardware as a firmware's simulation API, when the bench drives it with software gear
        control = settings.control
        self.http_control = HTTPControl(self.world, host=host) if control.http else None
        self.mqtt_control = MQTTControl(self.world, **control.mqtt) if control.mqtt else None

    async def start(self) -> dict[str, Any]:
        """Start the gear, then power the charger; return the endpoints for `${sim.*}` references."""
        self.modbus = await start_modbus_gear(self.world, host=self.host, meter_device_id=METER_DEVICE_ID)
        await self.presenter.start()
        await self.modem.start()
        await self.hilink.start()
        await self.link_endpoint.start()
        for surface in (self.http_control, self.mqtt_control):
            if surface is not None:
                await surface.start()
        await self.station.start()
        return self.endpoints()

    def endpoints(self) -> dict[str, Any]:
        assert self.modbus is not None, "start() first"
        return {
            "sim.modbus.host": self.modbus.host,
            "sim.modbus.port": self.modbus.port,
            "sim.rfid.port": self.presenter.port_name,
            "sim.modem.port": self.modem.modem_port,
            "sim.modem.ports": self.modem.port_names,
            "sim.hilink.host": self.hilink.host,
            "sim.hilink.port": self.hilink.port,
            "sim.link.endpoint": self.link_endpoint.address,
            **self._control_endpoints(),
        }

    def _control_endpoints(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.http_control is not None:
            out["sim.control.url"] = self.http_control.url
        if self.mqtt_control is not None:
            out.update({"sim.control.mqtt_host": self.mqtt_control.host,
                        "sim.control.mqtt_port": self.mqtt_control.port,
                        "sim.control.mqtt_prefix": self.mqtt_control.prefix})
        return out

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.station.stop()
        for gear in (self.presenter, self.modem, self.hilink, self.link_endpoint, self.http_control,
                     self.mqtt_control):
            if gear is None:
                continue
            with contextlib.suppress(Exception):
                await gear.stop()
        if self.modbus is not None:
            await self.modbus.stop()
