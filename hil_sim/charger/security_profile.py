"""How the simulated station connects to the Central System: the security profiles of the OCPP 1.6 security
whitepaper, its SecurityProfile and AuthorizationKey configuration keys, and the switches between profiles.

  0  ws://   no credentials              2  wss://  TLS, server checked against the installed
  1  ws://   HTTP Basic authentication              CentralSystemRootCertificates, plus Basic authentication
                                         3  wss://  TLS with the ChargePointCertificate as client certificate

Basic authentication sends the charge point id as the username and the AuthorizationKey's bytes as the password
(the key is set as hexadecimal). The key is write-only: GetConfiguration never shows it.

SecurityProfile may only go up over OCPP, and only when the station has what the new profile needs (a password,
a Central System root, a client certificate); lowering it is a local action of the installer (the sim bench's
`security_reset` relay: back to the commissioned profile and key). After an accepted change the station
reconnects with the new profile; when that does not work it falls back to the profile it last connected with.
A server certificate that does not chain to an installed root ends the attempt and is reported as an
InvalidCentralSystemCertificate security event.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
from typing import TYPE_CHECKING, Any, Callable

from .config_keys import Key

if TYPE_CHECKING:
    from .station import SimStation

log = logging.getLogger("hil_sim.security")

FALLBACK_AFTER = 3  # failed attempts with a new profile before going back to the last one that worked
KEY_BYTES = (16, 20)  # the whitepaper's AuthorizationKey: at least 16 bytes, at most 20 (40 hex digits)


def key_valid(value: str) -> bool:
    try:
        raw = binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        return False
    return KEY_BYTES[0] <= len(raw) <= KEY_BYTES[1]


class LinkSecurity:
    def __init__(self, station: "SimStation", tls_url: str | None) -> None:
        self.station = station
        self.tls_url = None if tls_url is None else f"{tls_url.rstrip('/')}/{station.charge_point_id}"
        settings = station.settings
        self.committed = settings.security_profile  # the profile it last connected with (flash)
        self._key_in_use = settings.authorization_key.upper()  # the password the connection manager sends
        self._cert_event_sent = False  # one InvalidCentralSystemCertificate per run of failed attempts
        self._failures = 0
        station.keys.update({k.name: k for k in [
            Key("SecurityProfile", str(settings.security_profile), check=self._profile_allowed),
            Key("AuthorizationKey", settings.authorization_key.upper(), check=key_valid, write_only=True),
        ]})
        station.world.subscribe(self._on_world)

    @property
    def profile(self) -> int:
        return int(self.station.keys["SecurityProfile"].value)

    @property
    def faults(self) -> Any:
        return self.station.faults

    # ------------------------------------------------------------------ configuration
    def _profile_allowed(self, value: str) -> bool:
        """ChangeConfiguration(SecurityProfile): an upgrade whose prerequisites are met (or the same profile)."""
        if not value.isdigit() or not 0 <= int(value) <= 3:
            return False
        new = int(value)
        if new < self.profile and not self.faults.active("security_profile_downgrade_accepted"):
            return False  # lowering it is for the installer on site, never over OCPP
        store = self.station.certificates
        if new in (1, 2) and not self.station.keys["AuthorizationKey"].value:
            return False
        if new >= 2 and (self.tls_url is None or not store.trusted_csms_roots()):
            return False
        needs_client_certificate = new == 3 or (new == 2 and self.faults.active("security_profile_upgrade_rejected"))
        return not (needs_client_certificate and store.client_files() is None)

    def configuration_changed(self, key: str) -> None:
        if key == "SecurityProfile" and self.profile != self.committed:
            self._failures = 0
            self.reconnect()
        elif key == "AuthorizationKey":
            if not self.faults.active("authorization_key_change_not_applied"):
                self._key_in_use = self.station.keys["AuthorizationKey"].value.upper()
            self.reconnect_if(lambda profile: profile in (1, 2))

    def _on_world(self, event: str, value: Any) -> None:
        if event == "security_reset" and value:
            self.local_reset()

    def local_reset(self) -> None:
        """The installer's reset of the connection settings to the commissioned ones (the only way down)."""
        settings, keys = self.station.settings, self.station.keys
        keys["SecurityProfile"].value = str(settings.security_profile)
        keys["AuthorizationKey"].value = self._key_in_use = settings.authorization_key.upper()
        log.info("security settings reset locally: profile %s", settings.security_profile)
        self.committed = settings.security_profile
        self.reconnect()

    # ------------------------------------------------------------------ the link
    def reconnect_if(self, condition: Callable[[int], bool]) -> None:
        if condition(self.profile):
            self.reconnect()

    def reconnect(self) -> None:
        """Close the current connection (after the pending answer went out); the link loop dials again."""
        rt = self.station.rt
        if rt is None or rt.ws is None:
            return
        # the ChangeConfiguration.conf / CertificateSigned.conf is on the wire before the link closes
        self.station.spawn_after_answer(rt.ws.close())

    def connect_args(self, ws_url: str) -> tuple[str, dict[str, Any]]:
        """The URL and the websockets.connect options of the active profile."""
        profile, extra = self.profile, dict[str, Any]()
        if profile in (1, 2):
            extra["additional_headers"] = {"Authorization": self._basic()}
        if profile < 2:
            return ws_url, extra
        assert self.tls_url is not None  # a TLS profile is only accepted with a TLS URL
        extra["ssl"] = self._tls_context(profile)
        return self.tls_url, extra

    def _basic(self) -> str:
        key = self._key_in_use
        password = key.encode() if self.faults.active("authorization_key_sent_as_hex") else binascii.unhexlify(key)
        token = base64.b64encode(self.station.charge_point_id.encode() + b":" + password).decode()
        return f"Basic {token}"

    def _tls_context(self, profile: int) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the server's chain and name
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        roots = self.station.certificates.trusted_csms_roots()
        if roots:
            context.load_verify_locations(cadata=roots)
        if self.faults.active("tls_without_gcm_suites"):  # an old TLS 1.2-only stack with CBC suites only
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384")
        files = self.station.certificates.client_files()
        if profile == 3 and files is not None:
            context.load_cert_chain(*files)
        return context

    async def failed(self, exc: BaseException) -> None:
        """A connection attempt did not work: report an untrusted server; fall back from a new profile."""
        if isinstance(exc, ssl.SSLCertVerificationError) and not self._cert_event_sent:
            self._cert_event_sent = True
            await self.station.security_event("InvalidCentralSystemCertificate", str(exc.verify_message))
        if self.profile == self.committed:
            return
        self._failures += 1
        if self._failures >= FALLBACK_AFTER:
            log.warning("cannot connect with security profile %s; back to %s", self.profile, self.committed)
            self.station.keys["SecurityProfile"].value = str(self.committed)
            self._failures = 0

    def connected(self) -> None:
        self.committed, self._failures, self._cert_event_sent = self.profile, 0, False
