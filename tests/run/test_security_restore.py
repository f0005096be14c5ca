"""Between cases the station goes back to the bench's security settings: a raised security profile through its local
reset (the security_reset relay), a changed AuthorizationKey, a deleted Central System root. Without the reset role
the station stays on the higher profile and the cases after still connect."""

from __future__ import annotations

from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.run.pipeline import Run
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import Standalone
from benchctl.scenario.model import Scenario


async def test_the_cases_after_security_cases_find_the_bench_settings(sim_config: BenchConfig,
                                                                       scenarios: dict[str, Scenario],
                                                                       tmp_path: Path) -> None:
    run = Run(sim_config, RunDir.create(tmp_path, "sim"), Standalone(sim_config), [])
    await run.start()
    try:
        assert run.source.session is not None and run.source.session.sim is not None
        station, security = run.source.session.sim.station, run.source.session.link.security
        # TC_084 leaves the station on profile 2, TC_073 with a new password, TC_076 without the CSMS root
        for case in ("TC_084_CS", "TC_073_CS", "TC_076_CS", "TC_085_CS"):
            result = await run.case(scenarios[case])
            assert result.verdict == "PASS", (case, result.reason)
        # TC_085 passed: it found the station on profile 0 with the bench's key before raising it to 1 itself
        assert station.keys["SecurityProfile"].value == "1"
        result = await run.case(scenarios["TC_003_CS"])
        assert result.verdict == "PASS", result.reason
        assert station.keys["SecurityProfile"].value == "0" and security.current_profile == 0
        assert station.keys["AuthorizationKey"].value == sim_config.authorization_key
        assert station.certificates.of_type("CentralSystemRootCertificate")  # TC_076's deletion undone
    finally:
        await run.close()


async def test_without_a_reset_role_the_station_stays_up_and_still_connects(sim_config: BenchConfig,
                                                                             scenarios: dict[str, Scenario],
                                                                             tmp_path: Path) -> None:
    del sim_config.roles["security_reset"]
    run = Run(sim_config, RunDir.create(tmp_path, "sim"), Standalone(sim_config), [])
    await run.start()
    try:
        assert run.source.session is not None and run.source.session.sim is not None
        for case in ("TC_084_CS", "TC_003_CS"):
            result = await run.case(scenarios[case])
            assert result.verdict == "PASS", (case, result.reason)
        assert run.source.session.link.security.current_profile == 2  # not lowered, but the Central System takes it
        assert run.source.session.sim.station.keys["SecurityProfile"].value == "2"
    finally:
        await run.close()
