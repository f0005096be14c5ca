"""The step kinds of the scenario language, one module each, registered with `@step_kind` (registry.py).

Importing this package imports every kind's module, which is what registers it; the engine only dispatches.
"""

from . import (  # noqa: F401
               absent,
               action,
               any_order,
               connection,
               expect,
               file,
               pwm,
               send,
               state,
               tool,  # (registration is their import)
               wait,
)
from .registry import EXECUTORS, MODELS, STEP_KINDS, StepExecutor, step_kind

__all__ = ["EXECUTORS", "MODELS", "STEP_KINDS", "StepExecutor", "step_kind"]
