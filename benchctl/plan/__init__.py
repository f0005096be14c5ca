"""Test plans: which Charge Point test cases apply to a station, from its PICS and Appendix C."""

from .pics import Pics, load_pics
from .plan import PlanEntry, make_plan, plan_as_records

__all__ = ["Pics", "PlanEntry", "load_pics", "make_plan", "plan_as_records"]
