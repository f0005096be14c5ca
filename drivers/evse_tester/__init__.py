"""IEC 61851 EV emulators (EVSE testers): CP state, PP rating, diode fault, plug relay, PWM measurement."""
