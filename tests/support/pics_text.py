"""A complete, valid PICS as text, for tests that break or extend one line of it."""

PICS_BASE = """\
dut_type: charging_station
product_subtype: standard
connectors: 1
fixed_cable: false
rfid_readers: single
local_start: true
local_stop: true
authorization_cache: true
power_loss_stop: after_reboot
local_auth_list: false
reservation: false
smart_charging: false
firmware_management: false
remote_trigger: true
"""
