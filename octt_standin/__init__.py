"""A stand-in for the OCA's OCPP 1.6 test tool (OCTT): its HTTP API and its side of a few cases, for tests."""

from .tool import StandInTool

__all__ = ["StandInTool"]
