"""benchctl's own view of OCPP 1.6 Smart Charging (OCPP 1.6 sections 3.13 and 5.5/5.7/5.16).

From the charging profiles a case sent (and the charger accepted), benchctl computes the composite schedule a
correct charger must report and the limit it must apply, so a GetCompositeSchedule.conf can be judged period by
period and the PWM the EV emulator measures can be judged against the limit in force. This is written from the
specification, independently of the simulator's implementation (hil_sim/charger/smart_charging.py), so the two
check each other.

  profiles   charging profiles as sent on the wire, parsed
  composite  the installed set (replacement, clearing, transaction binding) and the composite schedule
  compare    a charger's GetCompositeSchedule.conf schedule against the computed one, with time tolerance
  tracker    what a running case sent and saw, for the scenario engine
"""
