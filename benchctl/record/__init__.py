"""What a run leaves behind, as one set of types that are both written and read back.

`CaseResult` is one line of results.jsonl: the engine, follow and octt write it, the reports read it back with
`CaseResult.from_record` (tolerant of a damaged or older file). `RunRecord` is a whole run directory read back,
`PlanEntry` one row of the plan kept in run.json. This package sits at the bottom of benchctl: it imports
nothing above the foundation, so every layer may use it.
"""
