"""Draw docs/wiring/gpio-bench.png, the wiring of a Raspberry-Pi-based bench (see docs/gpio-bench.md).

Needs Pillow, which is not a benchctl dependency: `pip install Pillow`, then
`python docs/wiring/draw_gpio_bench.py`. The pin plan below is the one the guide's example config uses.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).with_name("gpio-bench.png")
W, H = 2000, 1480
INK, GREY, BLUE, RED, GREEN = "#111111", "#777777", "#1f4e9a", "#b3261e", "#2e7d32"
FILL = "#f3f6fb"

# relay channel, role / setting, BCM number, header pin, what it switches
PINS = [
    ("K1", "ev plug_pin", 16, 36, "CP to the EV side (plug)"),
    ("K2", "ev state_b_pin", 17, 11, "2.74 kΩ → state B"),
    ("K3", "ev state_c_pin", 27, 13, "1.3 kΩ ∥ → state C"),
    ("K4", "ev state_d_pin", 22, 15, "270 Ω ∥ → state D"),
    ("K5", "ev state_e_pin", 23, 16, "CP shorted to PE → E"),
    ("K6", "ev diode_fault_pin", 24, 18, "short across the diode"),
    ("K7", "ev pp_pins[13]", 25, 22, "PP 1.5 kΩ (13 A)"),
    ("K8", "ev pp_pins[20]", 12, 32, "PP 680 Ω (20 A)"),
    ("K9", "ev pp_pins[32]", 13, 33, "PP 220 Ω (32 A)"),
    ("K10", "ev pp_pins[63]", 19, 35, "PP 100 Ω (63 A)"),
    ("K11", "cable pin", 26, 37, "CP+PP, charger side"),
    ("K12", "mains pin", 20, 38, "contactor coil (NC)"),
    ("K13", "network pin", 21, 40, "Ethernet pairs (NC)"),
]


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/Library/Fonts"):
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


F_TITLE, F_HEAD, F_TEXT, F_SMALL = font(30, True), font(22, True), font(19), font(16)
F_MONO = font(18)

img = Image.new("RGB", (W, H), "white")
d = ImageDraw.Draw(img)


def line(*points: tuple[float, float], color: str = INK, width: int = 3) -> None:
    d.line(list(points), fill=color, width=width, joint="curve")


def text(x: float, y: float, s: str, f=F_TEXT, color: str = INK, anchor: str = "la") -> None:
    d.text((x, y), s, font=f, fill=color, anchor=anchor)


def dot(x: float, y: float) -> None:
    d.ellipse((x - 6, y - 6, x + 6, y + 6), fill=INK)


def box(x1: float, y1: float, x2: float, y2: float, title: str | None = None, color: str = INK) -> None:
    d.rounded_rectangle((x1, y1, x2, y2), radius=12, outline=color, width=3, fill=FILL)
    if title:
        text(x1 + 14, y1 + 10, title, F_HEAD, color)


def contact_h(x1: float, x2: float, y: float, label: str, nc: bool = False, color: str = BLUE) -> None:
    """A relay contact on a horizontal wire, drawn released (open for NO, closed for NC)."""
    line((x1, y), (x1 + 18, y))
    line((x2 - 18, y), (x2, y))
    d.ellipse((x1 + 13, y - 5, x1 + 23, y + 5), outline=INK, width=2)
    if nc:
        line((x2 - 18, y), (x2 - 18, y + 16))
        line((x1 + 18, y), (x2 - 12, y + 18), color=color, width=4)
    else:
        line((x1 + 18, y), (x2 - 18, y - 26), color=color, width=4)
    text((x1 + x2) / 2, y - 34, label, F_HEAD, color, "md")


def contact_v(x: float, y1: float, y2: float, label: str, color: str = BLUE) -> None:
    """A normally-open relay contact on a vertical wire, drawn released (open)."""
    line((x, y1), (x, y1 + 16))
    line((x, y2 - 16), (x, y2))
    d.ellipse((x - 5, y1 + 11, x + 5, y1 + 21), outline=INK, width=2)
    line((x, y1 + 16), (x - 24, y2 - 18), color=color, width=4)
    text(x + 14, (y1 + y2) / 2, label, F_HEAD, color, "lm")


def resistor_v(x: float, y1: float, y2: float, value: str, note: str = "") -> None:
    line((x, y1), (x, y1 + 14))
    d.rectangle((x - 13, y1 + 14, x + 13, y2 - 14), outline=INK, width=3, fill="white")
    line((x, y2 - 14), (x, y2))
    text(x + 22, (y1 + y2) / 2 - 12, value, F_TEXT, INK, "lm")
    if note:
        text(x + 22, (y1 + y2) / 2 + 14, note, F_SMALL, GREY, "lm")


def diode_h(x1: float, x2: float, y: float) -> None:
    """Anode left, cathode right: current flows from CP into the resistors only."""
    mid = (x1 + x2) / 2
    line((x1, y), (mid - 18, y))
    line((mid + 18, y), (x2, y))
    d.polygon([(mid - 18, y - 18), (mid - 18, y + 18), (mid + 16, y)], outline=INK, fill="white", width=3)
    line((mid + 18, y - 18), (mid + 18, y + 18), width=4)


# ---------------------------------------------------------------- title
text(40, 24, "benchctl GPIO bench: Raspberry Pi → relay boards → EV emulator, cable, mains, network",
     F_TITLE)
text(40, 66, "Contacts are drawn released (pin low, relay de-energised): that is also what a dead, "
             "rebooting or closed controller gives. BCM numbers as in the example config of docs/gpio-bench.md.",
     F_SMALL, GREY)

# ---------------------------------------------------------------- Pi and relay boards
TOP, ROW = 170, 52
box(30, 110, 400, TOP + ROW * len(PINS) + 60, "Raspberry Pi 40-pin header")
box(430, 110, 780, TOP + ROW * len(PINS) + 60, "Relay boards, active-high")
text(50, 146, "BCM  (header pin)", F_SMALL, GREY)
text(450, 146, "input → relay: switches", F_SMALL, GREY)
for i, (k, role, bcm, header, what) in enumerate(PINS):
    y = TOP + 20 + ROW * i
    text(50, y, f"BCM{bcm:<2} ({header})", F_MONO, INK, "lm")
    text(210, y, role, F_SMALL, GREY, "lm")
    line((380, y), (460, y), color=GREY, width=2)
    dot(380, y)
    text(470, y, k, F_HEAD, BLUE, "lm")
    text(530, y, what, F_SMALL, INK, "lm")
    d.line((470, y + 20, 765, y + 20), fill="#dde3ee", width=1)
y_gnd = TOP + 20 + ROW * len(PINS)
text(50, y_gnd, "GND  (39)", F_MONO, INK, "lm")
line((380, y_gnd), (460, y_gnd), color=GREY, width=2)
text(470, y_gnd, "GND of every board", F_SMALL, INK, "lm")

# ---------------------------------------------------------------- EV emulator
EX = 820
box(EX - 20, 110, W - 20, 985)
text(EX, 122, "EV emulator (driver gpio_ev) and cable (gpio_relay role \"cable\")", F_HEAD)
CP_Y, PP_Y, PE_Y, CP_PE_Y = 290, 680, 945, 590
box(EX, 200, EX + 120, 970, None, INK)
text(EX + 60, 216, "tester", F_SMALL, INK, "ma")
text(EX + 60, 236, "plug", F_SMALL, INK, "ma")
for name, y in (("CP", CP_Y), ("PP", PP_Y), ("PE", PE_Y)):
    text(EX + 60, y, name, F_HEAD, INK, "mm")
    line((EX + 120, y), (EX + 150, y))

# CP path: plug → K11a → K1 → X ─ diode ─ Y ─ resistors
X, Y = 1290, 1480
contact_h(EX + 150, EX + 240, CP_Y, "K11")
line((EX + 240, CP_Y), (1080, CP_Y))
contact_h(1080, 1190, CP_Y, "K1 plug")
line((1190, CP_Y), (X, CP_Y))
dot(X, CP_Y)
diode_h(X, Y, CP_Y)
dot(Y, CP_Y)
text((X + Y) / 2, CP_Y + 30, "diode", F_SMALL, GREY, "ma")
# K6 across the diode
K6_Y = CP_Y - 80
line((X, CP_Y), (X, K6_Y))
line((X, K6_Y), (X + 40, K6_Y))
contact_h(X + 40, Y - 40, K6_Y, "")
text((X + Y) / 2, K6_Y - 30, "K6 diode fault", F_HEAD, BLUE, "md")
line((Y - 40, K6_Y), (Y, K6_Y), (Y, CP_Y))
# E: CP straight to PE
contact_v(X, CP_Y + 30, CP_Y + 140, "K5  E")
line((X, CP_Y), (X, CP_Y + 30))
line((X, CP_Y + 140), (X, CP_PE_Y))
# the three resistors behind the diode
line((Y, CP_Y), (1840, CP_Y))
for x, k, ohms, state in ((1560, "K2", "2.74 kΩ", "B"), (1700, "K3", "1.3 kΩ", "C ∥"),
                          (1840, "K4", "270 Ω", "D ∥")):
    if x != 1840:
        dot(x, CP_Y)
    contact_v(x, CP_Y, CP_Y + 110, k)
    resistor_v(x, CP_Y + 150, CP_Y + 270, ohms, f"state {state}")
    line((x, CP_Y + 110), (x, CP_Y + 150))
    line((x, CP_Y + 270), (x, CP_PE_Y))
line((X, CP_PE_Y), (1940, CP_PE_Y), (1940, PE_Y))
dot(X, CP_PE_Y)
text(1000, CP_PE_Y - 14, "A: all open   B: K2   C: K2+K3", F_SMALL, INK)
text(1000, CP_PE_Y + 10, "D: K2+K4   E: K5   F: not possible", F_SMALL, INK)

# PP path: plug → K11b → PP bus → one resistor per rating
contact_h(EX + 150, EX + 240, PP_Y, "K11")
line((EX + 240, PP_Y), (1780, PP_Y))
text(EX + 150, PP_Y + 150, "K11: one 2-pole relay,", F_SMALL, GREY)
text(EX + 150, PP_Y + 172, "the cable at the charger", F_SMALL, GREY)
for x, k, ohms, amps in ((1180, "K7", "1.5 kΩ", 13), (1380, "K8", "680 Ω", 20), (1580, "K9", "220 Ω", 32),
                         (1780, "K10", "100 Ω", 63)):
    if x != 1780:
        dot(x, PP_Y)
    contact_v(x, PP_Y, PP_Y + 100, k)
    resistor_v(x, PP_Y + 130, PP_Y + 240, ohms, f"{amps} A")
    line((x, PP_Y + 100), (x, PP_Y + 130))
    line((x, PP_Y + 240), (x, PE_Y))
    dot(x, PE_Y)
line((EX + 150, PE_Y), (1940, PE_Y), width=4)
text(1180, PE_Y + 12, "PE: straight through, never switched", F_SMALL, GREEN)

# ---------------------------------------------------------------- mains and network
MY = 1030
box(EX - 20, MY - 20, W - 20, MY + 200)
text(EX, MY - 8, "Mains (gpio_relay role \"mains\": invert: true, safe_level: true, min_off_s)", F_HEAD)
box(EX, MY + 50, EX + 170, MY + 140)
text(EX + 85, MY + 95, "grid L1-L3, N", F_TEXT, INK, "mm")
box(1180, MY + 40, 1420, MY + 150)
text(1300, MY + 74, "contactor", F_TEXT, INK, "mm")
text(1300, MY + 104, "(rated for the charger)", F_SMALL, GREY, "mm")
box(1740, MY + 50, 1960, MY + 140)
text(1850, MY + 95, "charger (DUT)", F_TEXT, INK, "mm")
line((EX + 170, MY + 95), (1180, MY + 95), width=5)
line((1420, MY + 95), (1740, MY + 95), width=5)
text(1580, MY + 65, "power", F_SMALL, GREY, "mm")
line((EX + 85, MY + 140), (EX + 85, MY + 175), (1050, MY + 175))
contact_h(1050, 1160, MY + 175, "K12 NC", nc=True)
line((1160, MY + 175), (1300, MY + 175), (1300, MY + 150))
text(1450, MY + 168, "coil only: a relay board never carries the charger's current", F_SMALL, GREY)

NY = 1260
box(EX - 20, NY - 20, W - 20, H - 20)
text(EX, NY - 8, "Network (gpio_relay role \"network\": invert: true, safe_level: true)", F_HEAD)
box(EX, NY + 50, EX + 220, NY + 140)
text(EX + 110, NY + 95, "switch / router", F_TEXT, INK, "mm")
box(1740, NY + 50, 1960, NY + 140)
text(1850, NY + 95, "charger Ethernet", F_TEXT, INK, "mm")
line((EX + 220, NY + 95), (1150, NY + 95))
contact_h(1150, 1290, NY + 95, "K13 NC", nc=True)
line((1290, NY + 95), (1740, NY + 95))
text(1320, NY + 120, "4 poles: pairs 1/2 and 3/6 (10/100 Mbit/s, no PoE)", F_SMALL, GREY)

# ---------------------------------------------------------------- safe state legend
LY = TOP + ROW * len(PINS) + 90
box(30, LY, 760, H - 20, "When the controller disappears")
notes = [
    ("Relay boards: active-high, pull-down on every input.", INK),
    ("A released pin (close(), crash + reboot, dead Pi) then", INK),
    ("drops every relay: the drawing as it is.", INK),
    ("A crashed process may hold its last levels: see the guide.", RED),
    ("Released =", INK),
    ("  K1 open → EV unplugged     K2-K5 open → state A", GREEN),
    ("  K6 open → diode intact     K11 open → cable out", GREEN),
    ("  K12 NC closed → mains ON   K13 NC closed → link UP", GREEN),
    ("Safe levels, all with the pin LOW:", INK),
    ("  ev: plug open, A, no diode fault   cable: false", INK),
    ("  mains: safe_level true + invert true", INK),
    ("  network: safe_level true + invert true", INK),
    ("Avoid BCM0-8 (pull-ups at power-on) and 14/15 (UART).", INK),
]
for i, (s, color) in enumerate(notes):
    text(50, LY + 50 + 31 * i, s, F_SMALL, color)

# a palette image: a quarter of the size, and the drawing has few colours anyway
img.quantize(colors=64).save(OUT, optimize=True)
print(f"wrote {OUT} ({W}x{H})")
