"""Our randomuser.me API 1.4 compatible HTTP API: deterministic generator, server, fault switches."""

from randomuser_api.faults import Fault, FaultPlan
from randomuser_api.generate import build_response
from randomuser_api.nationalities import NATIONALITIES
from randomuser_api.params import MAX_RESULTS
from randomuser_api.server import LocalApi

__all__ = ["MAX_RESULTS", "NATIONALITIES", "Fault", "FaultPlan", "LocalApi", "build_response"]
