"""docs/backends.md, generated from the drivers' declarations (drivers/base.py): each driver's kind, summary,
what its gear does when the controller disappears, and its settings with their types, defaults and help.

Regenerate after changing a driver's declaration: `python -m benchctl.bench.reference > docs/backends.md`
(tests/config/test_backends_reference.py fails while the committed file is stale). Only built-in drivers are
listed: a plug-in documents its own.
"""

from __future__ import annotations

import sys

from benchctl.config.reference import schema_table

from . import registry
from .registry import KIND_NAMES, DriverSpec

COMMAND = "python -m benchctl.bench.reference > docs/backends.md"

_INTRO = """\
A bench config binds each role to one of these drivers (`driver:` in `roles.<name>`). Every driver has a
timeout on every I/O, bounded retries where the protocol allows them, `safe_state()` and a self-test
(`benchctl check`). Errors name the role, the backend and the address, e.g.
`ev: Modbus 127.0.0.1:5020 device 1: no answer after 3 tries of 1 s`.

`timeout_s` and `retries` mean the same for every driver (drivers/retry.py): `timeout_s` bounds one try,
`retries` is how many more tries follow a first one that got no answer (`retries: 0` sends once). An answer
that refuses (a Modbus exception, an error status) is not retried.

"When the controller disappears" is what the gear does if benchctl, or the machine it runs on, dies without
putting the bench in its safe state. benchctl puts the gear in its safe state on every exit path it
controls; this table is about the ones it does not (kill -9, power loss of the controller, a cut cable)."""

_PLUGINS = """\
## Bring your own gear: driver plug-ins

A driver is a subclass of `drivers.base.Driver` that declares itself once: `kind` (one of
{kinds}), `summary`, `on_lost`, and `settings`, a dataclass whose fields are declared with
`benchctl.config.typed.setting()` (type, default, choices, minimum/maximum, help). The bench config is
validated against that dataclass (FILE:LINE errors, unknown keys with a suggestion), the driver gets its
instance (`Driver(role, settings, steplog=...)`), and `benchctl check` shows the driver and its kind.
Optional: `check_settings` (settings that only make sense together), `read_files` (a file a setting names),
`create` (another way to build it from its settings), `extra` (the extra holding a hardware library).

Register it by name in the `benchctl.drivers` entry-point group of its own distribution, and install that
next to benchctl:

    [project.entry-points."benchctl.drivers"]
    acme_relay = "acme_bench.relay:AcmeRelay"

Built-in drivers are registered the same way (benchctl's pyproject.toml). A plug-in that cannot be imported,
is no such declaration, or takes a name another distribution declares too is refused with an error naming
its distribution and entry point. tests/plugins/benchctl-example-relay is a complete example."""

_OUTRO = """\
Hardware-only libraries are optional extras: GPIO needs `pip install 'benchctl[gpio]'` (RPi.GPIO, or
rpi-lgpio on a Raspberry Pi 5). Without it, a bench that uses `gpio_relay` or `gpio_ev` stops with a message
naming the extra, and `benchctl check` shows that role as FAIL.

Example benches: [`bench_configs/sim.yaml`](../bench_configs/sim.yaml) (the simulator),
[`bench_configs/sim-type1.yaml`](../bench_configs/sim-type1.yaml) (the simulator as a Type 1 station),
[`bench_configs/rpi-lab.yaml`](../bench_configs/rpi-lab.yaml) (Raspberry Pi with GPIO relays, Modbus EV
emulator, serial card presenter, E3372h) and [`bench_configs/modbus-lab.yaml`](../bench_configs/modbus-lab.yaml)
(every instrument on Modbus, the relay board and meter sharing one RS-485 adapter)."""

_TESTER_PLUGS = """\
## Tester plugs

Every EV emulator driver takes `plug`, the plug between the station and the emulator
(`drivers/evse_tester/proximity.py` has the circuits and the public sources of their figures):

| `plug` | what it is | PP | latch |
|--------|------------|----|-------|
| `type2` (default) | a Type 2 tester cable in the station's socket | the emulator selects the cable's resistor (13/20/32/63 A: 1.5 kΩ, 680 Ω, 220 Ω, 100 Ω) | none |
| `tethered` | the station's own Type 2 cable in the emulator's inlet | the station's cable, nothing to select | none |
| `type1` | the station's SAE J1772 coupler in the emulator's inlet | about 150 Ω latched, about 480 Ω with the release button pressed (switch S3 open), open when unplugged | pressed by the emulator: Modbus `latch_pressed` register, serial `L`/`l`, GPIO `latch_pin` |

On a `type1` bench the `unplug` and `ev_side_disconnect` actions press the latch, hold it for `latch_press_s`
(bench value, default 0.5 s), unplug, then let go (also when the unplug fails); each is a step in the action
log. The vehicle, and a station that watches S3, stop the current while the button is held, so the pins never
part under load. A PP rating on a plug other than `type2`, or a latch on a plug other than `type1`, is a config
error (FILE:LINE) or, at run time, a `DriverError` naming the driver and the plug. The simulator's
`simulator.station.plug: type1` (with `fixed_cable: true`) is a J1772 station: it reads the latch on PP and
delivers no current while it is pressed; the EV emulator's plug must match it."""

_SOFTWARE_GEAR = """\
## Software gear

For a firmware running on a PC (software in the loop) the "gear" is its simulation API: the `http_*` and `mqtt_*`
drivers ([drivers/software/](../drivers/software/)) do each action of their role as a request or a publish the
bench config declares, so no glue server is needed. The actions of each role kind:

| role kind | actions (values the templates may name besides `{connector_id}` and `{role}`) | read-back fields |
| --- | --- | --- |
| EV emulator | `plug`, `unplug` (`{connected}`), `cp_state` (`{state}`: A-F), `diode_fault` (`{fault}`), `pp_rating` (`{amps}`), `measure` | `state`, `duty_pct` (required), `high_v`, `low_v`, `frequency_hz` (derived from the state and duty when left out) |
| RFID presenter | `present` (`{uid}`, hex), `remove`, `probe` | none |
| digital output | `on`, `off` (`{level}`: true/false), `get` | `level` (true/false, on/off, 1/0) |
| meter | `read` | `voltage_v`, `current_a` (a number or a list per phase), `power_w`, `energy_wh`, optional `frequency_hz` |

`plug`, `unplug`, `cp_state` (EV), `present`, `remove` (card), `on`, `off` (switch) and `read` (meter) are
required; `benchctl check` asks the read-back, or the `probe` request when the kind has none. A template naming a
value its action does not have is refused when the bench config is loaded, with its file and line. In a JSON
body a string that is exactly one placeholder keeps the value's type (`{"fault": "{fault}"}` sends `true`). A
field's JSON path is dot-separated (`connectors.0.cp.duty`); for MQTT the empty path is the payload as text.

An HTTP action answered with another status than its `status` (default 200), or not within its timeout, fails
the bench action with the method, the URL and the status (`PUT http://127.0.0.1:8080/api/switches/x: status 404,
expected 204`); the case is an ERROR and the run goes on after the safe state. An MQTT read-back takes the last
message of its state topic (retained ones too); with a `request` it publishes that and takes only a newer one.

Examples: [`bench_configs/sim-http.yaml`](../bench_configs/sim-http.yaml) (a REST simulation API, served by
hil_sim's [control_http.py](../hil_sim/gear/control_http.py)) and
[`bench_configs/sim-mqtt.yaml`](../bench_configs/sim-mqtt.yaml) (a hardware layer simulated over MQTT,
[control_mqtt.py](../hil_sim/gear/control_mqtt.py)). For power cycles of a firmware process, give `mains` the
`process` driver:

```yaml
  mains:
    driver: process
    command: ./build/charger-fw --config sim.toml
    ready_tcp: 127.0.0.1:8080        # its simulation API answers once it has booted
    stop_signal: SIGTERM
```"""


def reference() -> str:
    """docs/backends.md as Markdown."""
    specs = [s for s in registry.all_specs().values() if not s.plugin]
    specs.sort(key=lambda s: (list(KIND_NAMES).index(s.kind), s.name))
    lines = ["# Driver backends: what each needs, and what it does when benchctl goes away", "",
             "Generated from the drivers' declarations; do not edit it by hand, regenerate it:", "",
             f"    {COMMAND}", "", _INTRO, "",
             "| driver | role kind | what it is | when the controller disappears |", "| --- | --- | --- | --- |"]
    lines += [_summary_row(s) for s in specs]
    lines += ["", _TESTER_PLUGS, "", _SOFTWARE_GEAR, "", "## Settings of each driver"]
    for s in specs:
        lines += ["", f"### `{s.name}`", "", _about(s), "", *schema_table(s.schema)]
    lines += ["", _PLUGINS.format(kinds=", ".join(f"`{k}`" for k in KIND_NAMES)), "", _OUTRO]
    return "\n".join(lines) + "\n"


def _summary_row(s: DriverSpec) -> str:
    cells = [f"[`{s.name}`](#{s.name})", KIND_NAMES[s.kind].split(" ", 1)[1], s.cls.summary,
             " ".join(s.cls.on_lost.split())]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _about(s: DriverSpec) -> str:
    text = f"{s.cls.summary[0].upper()}{s.cls.summary[1:]} ({KIND_NAMES[s.kind]}; `{s.target}`)."
    if s.cls.docs:
        text += f" See [{s.cls.docs}]({s.cls.docs})."
    if s.cls.extra:
        text += f" Needs `pip install 'benchctl[{s.cls.extra}]'`."
    return text


if __name__ == "__main__":
    sys.stdout.write(reference())
