"""Driving the official test tool (OCTT) unattended: HTTP client, prompts as data, evidence answers, SUT callbacks."""
