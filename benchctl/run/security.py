"""Between cases: the station back on the bench's own security settings (dut.csms), so a case after a security
case connects as the bench expects.

  security profile  the whitepaper only lets it go up over OCPP, so a case that raised it (TC_083, the setup of
                    TC_074/084-087) leaves it raised; the station's local reset (the bench role `security_reset`,
                    an installer's service input) brings back the commissioned profile and AuthorizationKey. A bench
                    without one keeps the station on the higher profile, which the Central System still accepts.
  AuthorizationKey  write-only, so not read back: the Central System knows which key it last gave the station and
                    sets the bench's again (or the local reset does).
  CentralSystemRootCertificate  a case that deleted certificates (TC_076) may have taken the root of the Central
                    System's server certificate: it is installed again, or the next TLS connection would fail.
"""

from __future__ import annotations

import asyncio
import logging

from benchctl.bench.bench import Bench
from benchctl.csms.link import ChargerLink, ToolRequestError
from benchctl.security.pki import fingerprint_ids

log = logging.getLogger("benchctl.security")

RESET_ROLE = "security_reset"
PRESS_S = 0.3  # how long the service input is held


def _needs_reset(link: ChargerLink) -> bool:
    security = link.security
    config = security.config
    raised = security.current_profile is not None and security.current_profile != config.profile
    key_changed = bool(security.commissioned_key) and security.keys[:1] != [security.commissioned_key]
    return raised or key_changed or "SecurityProfile" in security.touched


async def _reconnected(link: ChargerLink, since: int, profile: int, timeout: float) -> bool:
    def back() -> bool:
        fresh = link.security.connections[since:]
        return any(c["accepted"] and c["security_profile"] == profile and c.get("attached") for c in fresh) \
            and link.connected.is_set()
    return bool(await link.wait_until(back, timeout))


async def restore_security(bench: Bench, link: ChargerLink, timeout: float) -> str | None:
    """Bring the station back to the bench's security settings; return why it could not be, or None."""
    security = link.security
    config = security.config
    if _needs_reset(link):
        if bench.has(RESET_ROLE):
            since = len(security.connections)
            log.info("resetting the station's security settings locally (profile %s)", config.profile)
            relay = bench.output(RESET_ROLE)
            await relay.set(True)
            await asyncio.sleep(PRESS_S)
            await relay.set(False)
            security.reset()  # the Central System knows the station is back on its commissioned settings
            if not await _reconnected(link, since, config.profile, timeout):
                return f"the station did not reconnect with security profile {config.profile} after its local reset"
        else:
            problem = await _restore_key(link, timeout)
            if problem is not None:
                return problem
            if security.current_profile not in (None, config.profile):
                log.warning("the station stays on security profile %s (the bench's is %s): lowering it is a local "
                            "action and this bench has no %s role", security.current_profile, config.profile,
                            RESET_ROLE)
    if "DeleteCertificate" in security.touched and config.pki is not None:
        await link.wait_until(lambda: link.connected.is_set(), timeout)
        problem = await _reinstall_csms_root(link)
        if problem is not None:
            return problem
    security.touched.clear()
    return None


async def _restore_key(link: ChargerLink, timeout: float) -> str | None:
    security = link.security
    wanted = security.commissioned_key
    if not wanted or security.keys[:1] == [wanted]:
        return None
    await link.wait_until(lambda: link.connected.is_set(), timeout)
    since = len(security.connections)
    try:
        response, _ = await link.call("ChangeConfiguration", {"key": "AuthorizationKey", "value": wanted})
    except ToolRequestError as exc:
        return f"AuthorizationKey not restored: {exc}"
    if response.get("status") != "Accepted":
        return f"AuthorizationKey not restored: the charger answered {response.get('status')}"
    profile = security.current_profile
    if profile in (1, 2) and not await _reconnected(link, since, profile, timeout):
        return "the station did not reconnect with the bench's AuthorizationKey"
    return None


async def _reinstall_csms_root(link: ChargerLink) -> str | None:
    pki = link.security.config.pki
    assert pki is not None
    pem = pki.csms_root.cert_pem
    serial = fingerprint_ids(pem)["serialNumber"]
    try:
        response, _ = await link.call("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
        if any(item.get("serialNumber") == serial for item in response.get("certificateHashData") or []):
            return None
        response, _ = await link.call("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                             "certificate": pem})
    except ToolRequestError as exc:
        return f"CentralSystemRootCertificate not reinstalled: {exc}"
    log.info("reinstalled the Central System root certificate: %s", response.get("status"))
    return None if response.get("status") == "Accepted" else \
        f"CentralSystemRootCertificate not reinstalled: the charger answered {response.get('status')}"
