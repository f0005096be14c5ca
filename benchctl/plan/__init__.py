"""Test plans: which Charge Point test cases apply to a station, from its PICS and Appendix C."""

from .plan import make_plan, plan_as_records

__all__ = ["make_plan", "plan_as_records"]
