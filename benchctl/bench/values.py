"""The bench's `values:`: the configured values the test case document refers to ("<Configured Heartbeat
interval>", ...) and the bench's own timings, each with its default and what it means. docs/values.md is made
from this schema (benchctl.bench.values_doc), so every key needs its help text here."""

from __future__ import annotations

from benchctl.config.schema import Field, Schema
from benchctl.transfer.server import check_host

# The configured values the test case document refers to ("<Configured Heartbeat interval>", ...).
VALUES_SCHEMA = Schema({
    "connector_id": Field(int, default=1, minimum=1,
                          help="the connector the cases use (<Connector id>), at most dut.connectors"),
    "heartbeat_interval_s": Field(int, default=60, minimum=1,
                                  help="<Configured Heartbeat interval>: the interval the tool sends in its "
                                       "BootNotification answer and sets in HeartbeatInterval"),
    "boot_retry_interval_s": Field(int, default=10, minimum=1,
                                   help="interval the tool sends with BootNotification Rejected/Pending"),
    "meter_value_interval_s": Field(int, default=60, minimum=1,
                                    help="<Configured Meter Value Sample Interval>: the MeterValueSampleInterval "
                                         "the meter value cases set"),
    "clock_aligned_interval_s": Field(int, default=900, minimum=1,
                                      help="<Configured Clock Aligned Data interval>: the ClockAlignedDataInterval "
                                           "the meter value cases set (keep it below message_timeout_s)"),
    "connection_timeout_s": Field(int, default=60, minimum=1,
                                  help="<Configured connectionTimeout>: the ConnectionTimeOut the cases set"),
    "valid_id_tag": Field(str, default="04A1B2C3", help="<Configured valid idTag>: a card the Central System "
                                                        "accepts (presented with the card role; see cards:)"),
    "valid_id_tag_2": Field(str, default="04D4E5F6", help="a second accepted idTag, for the cases that need two "
                                                          "cards (another user, the same group)"),
    "invalid_id_tag": Field(str, default="0BADCAFE", help="<Configured invalid idTag>: a card the Central System "
                                                          "answers Invalid"),
    "parent_id_tag": Field(str, default="PARENT-GROUP-1",
                           help="parentIdTag the tool gives valid_id_tag and valid_id_tag_2 in the group cases"),
    "message_timeout_s": Field(float, default=30.0, minimum=0.1,
                               help="how long to wait for a charger message when the case sets no timing"),
    "timing_tolerance_s": Field(float, default=2.0, minimum=0,
                                help="allowed deviation of intervals the charger must keep"),
    "power_off_s": Field(float, default=3.0, minimum=0, help="how long a power cycle keeps mains off"),
    "transaction_duration_s": Field(float, default=10.0, minimum=0,
                                    help="<Configured Transaction Duration>: how long the tool watches for a "
                                         "transaction that must not start (TC_041, TC_024)"),
    "stop_before_power_down_key": Field(str, default="",
                                        help="vendor key that makes a station with backup power stop its "
                                             "transactions before going down (TC_032_1 prerequisite); empty: none "
                                             "needed"),
    "ev_ready_delay_s": Field(float, default=0.5, minimum=0,
                              help="time between EV state B and C after plug-in"),
    "latch_press_s": Field(float, default=0.5, minimum=0, maximum=10,
                           help="on a Type 1 plug, how long the latch release is held before the unplug: the time a "
                                "vehicle and a station have to stop the current, as a driver's thumb gives them"),
    "appendix_d_wide_transitions": Field(bool, default=False,
                                         help="also accept, while a step waits, any unexpected status OCPP 1.6 "
                                              "lets the connector move into (wider than Appendix D, which names "
                                              "only Suspended* before Start/StopTransaction and Unavailable "
                                              "before Available after a boot); every use is a reported finding"),
    # the security cases (2.24): which profile each one runs the station on, per the station's PICS
    "basic_auth_security_profile": Field(int, default=1, choices=(1, 2),
                                         help="the profile with HTTP Basic authentication the Basic-auth cases "
                                              "(TC_073, TC_085) put the station on, and TC_083 upgrades from"),
    "tls_security_profile": Field(int, default=2, choices=(2, 3),
                                  help="the TLS profile TC_086 puts the station on and TC_084 downgrades from"),
    "cpo_name": Field(str, default="benchctl lab CPO",
                      help="<Configured Vendor Name> of TC_074/077: the CpoName the station puts in its CSR"),
    "charge_point_serial_number": Field(str, default="",
                                        help="the station's serial number, the commonName its client certificate "
                                             "must carry (TC_087); empty: dut.charge_point_id"),
    "reservation_expiry_s": Field(int, default=60, minimum=1,
                                  help="<Configured Reservation Expiry Date Offset>: the expiryDate of the "
                                       "reservation that must expire (TC_047) is this many seconds from its "
                                       "ReserveNow"),
    # the smart charging cases (2.22): the document's <Configured ...> values of the profiles the tool sends
    "charging_rate_unit": Field(str, default="A", choices=("A", "W"),
                                help="<Configured chargingRateUnit>: a unit in the station's "
                                     "ChargingScheduleAllowedChargingRateUnit (W: the document's limits x 1000)"),
    "charging_schedule_duration_s": Field(int, default=300, minimum=1,
                                          help="<Configured duration> of the profiles and composite schedules of "
                                               "TC_056/057/059/082"),
    "charging_profile_stack_level": Field(int, default=0, minimum=0,
                                          help="<Configured StackLevel>: at most ChargeProfileMaxStackLevel"),
    "number_phases": Field(int, default=3, choices=(1, 2, 3),
                           help="<Configured numberPhases> of the schedule periods; also how A and W convert"),
    "max_time_deviation_s": Field(float, default=5.0, minimum=0,
                                  help="<Configured Max Time Deviation>: profiles start this long before they are "
                                       "sent, and a composite schedule must start within it of its answer"),
    "local_limit_a": Field(float, default=None, minimum=0,
                           help="<The local limit of the Charging Station>: the current it offers with no "
                                "charging profile at all (TC_067 step 12); null or left out: it has none, so where "
                                "no profile applies its composite schedule may give no period or its connector's "
                                "maximum, and that stretch is not judged"),
    "operator_pause_s": Field(float, default=2.0, minimum=0,
                              help="how long a tester takes between a charger's message and the next physical step "
                                   "(plug in, present a card): a charger acting before the cable is in shows in it"),
    "supply_voltage_v": Field(float, default=230.0, minimum=1, help="phase voltage, to convert A and W"),
    "pwm_current_tolerance_a": Field(float, default=0.5, minimum=0,
                                     help="how far the current the PWM offers (duty -> A) may be from the limit"),
    "pwm_settle_s": Field(float, default=3.0, minimum=0,
                          help="how long the station may take to put a new limit on the PWM"),
    # warnings (benchctl/run/warnings.py): findings beyond the document that never change a verdict
    "clock_warning_s": Field(float, default=60.0, minimum=0,
                             help="a MeterValues or StatusNotification timestamp further than this from the bench "
                                  "clock is a warning (not one queued while the charger was offline)"),
    "meter_accuracy_pct": Field(float, default=2.0, minimum=0,
                                help="accuracy class of the charger's energy register: a transaction's energy "
                                     "further than this (+ 1 Wh) from the reference meter's (role meter) is a "
                                     "warning"),
    # the file server of the firmware, diagnostics and log cases (benchctl/transfer)
    "file_server_host": Field(str, default="127.0.0.1", check=check_host,
                              help="address the file server listens on: loopback for the simulator, else the "
                                   "bench's address on the charger's network (never a wildcard address)"),
    "firmware_image": Field(str, default="",
                            help="<Firmware Download URL>'s file: the vendor's dummy firmware image (relative to "
                                 "this file); empty on a simulated bench, which builds one"),
    "unsupported_firmware_image": Field(str, default="",
                                        help="a file the station must refuse to install (TC_044_3); empty: a file "
                                             "that is no firmware at all (the simulator: a corrupted image)"),
})
