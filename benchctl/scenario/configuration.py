"""A case's Configuration State(s) (its Before block and each reusable state's): set with ChangeConfiguration; a
key the charger will not change is read back, and what it holds decides whether the state is there anyway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchctl.csms.link import ToolRequestError
from benchctl.record.case import Check

from .errors import ConfigurationNotApplicable, ConfigurationStateError
from .values import substitute

if TYPE_CHECKING:
    from .engine import CaseRunner


def config_text(value: Any) -> str:
    """A configuration value as ChangeConfiguration carries it: a string, booleans as true/false."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def same_config_value(a: str | None, b: str) -> bool:
    """Configuration values as a charger reports them: booleans in any case, no surrounding blanks."""
    return a is not None and a.strip().lower() == b.strip().lower()


async def apply_configuration(runner: CaseRunner, configuration: dict[str, Any]) -> None:
    """The runner restores every changed key after the case. A read-only key that already holds the value is the
    state; one that holds another makes the case NOT_APPLICABLE."""
    for key, value in configuration.items():
        text = config_text(substitute(value, runner.vars))
        known = runner.known_keys.get(key)
        if known is not None and known.get("readonly"):
            await _read_only_state(runner, key, text, None)
            continue
        try:
            response, frame = await runner.link.call("ChangeConfiguration", {"key": key, "value": text})
        except ToolRequestError as exc:
            raise ConfigurationStateError(f"configuration state {key}={text}: {exc}") from exc
        status = response.get("status")
        # "(If implemented)" in the document: a key the station does not have leaves the case runnable
        if status in ("Accepted", "NotSupported"):
            runner.checks.append(Check(None, f"configuration state {key} = {text}", True, status, [frame.index]))
        else:
            await _read_only_state(runner, key, text, (status, frame.index))


async def _read_only_state(runner: CaseRunner, key: str, text: str, refused: tuple[Any, int] | None) -> None:
    """A key the charger would not change (`refused`: its answer and frame), or one reported read-only: what it
    holds now decides whether the case's Configuration State is there anyway."""
    try:
        response, frame = await runner.link.call("GetConfiguration", {"key": [key]})
    except ToolRequestError as exc:
        raise ConfigurationStateError(f"configuration state {key}={text}: reading it back failed: {exc}") from exc
    entry = next((k for k in response.get("configurationKey") or [] if k.get("key") == key), None)
    said = "" if refused is None else f"the charger answered {refused[0]} (frame #{refused[1]}); "
    if entry is None:
        raise ConfigurationStateError(f"configuration state {key}={text}: {said}GetConfiguration does not report "
                                      f"the key (frame #{frame.index})")
    access = "read-only" if entry.get("readonly") else "read-write"
    held = entry.get("value")
    if entry.get("readonly") and same_config_value(held, text):
        runner.checks.append(Check(None, f"configuration state {key} = {text} (read-only, already set)", True,
                                   held, [frame.index]))
        return
    where = f"{said}{key} is {access} with the value {held!r} (frame #{frame.index})"
    if entry.get("readonly"):
        raise ConfigurationNotApplicable(f"configuration state {key}={text} cannot be set: {where}")
    raise ConfigurationStateError(f"configuration state {key}={text} was not established: {where}")
