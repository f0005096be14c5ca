"""How the proxy checks the upstream Central System's certificate on wss:// (and, for security profile 3, which
client certificate it presents)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UpstreamTls:
    """Verification is on unless `insecure`: against `cafile` when given, else the system's trust store.
    `certfile`/`keyfile`: the client certificate presented to the upstream (security profile 3)."""

    cafile: Path | None = None
    insecure: bool = False
    certfile: Path | None = None
    keyfile: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # the security whitepaper's floor
        if self.insecure:
            # a lab tool with a self-signed certificate nobody handed over: the operator asked for it explicitly
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.certfile is not None:
            context.load_cert_chain(str(self.certfile), str(self.keyfile) if self.keyfile else None)
        return context


def upstream_context(upstream: str, tls: UpstreamTls | ssl.SSLContext | None) -> ssl.SSLContext | None:
    """The SSL context for dialing `upstream`: None for ws://; for wss:// verification on by default."""
    if not upstream.lower().startswith("wss://"):
        if tls is not None:
            raise ValueError(f"upstream {upstream!r} is ws:// but TLS options were given; use wss://")
        return None
    if isinstance(tls, ssl.SSLContext):
        return tls
    return (tls or UpstreamTls()).context()
