"""The dongle role: choose the radio generation (2G/3G/4G/auto), read the signal, measure the link.

The generation is what the stick is told to use (its acquisition order / network mode), not what it camps
on: with "auto" the stick picks. `signal()` tells which generation is actually serving.

`measure_link` is the same for every backend: it opens TCP connections to a link endpoint (see
`drivers.dongle.link`) through whatever route the host has, so on a bench the endpoint must be reached
over the dongle (a host route to the endpoint via the stick, or `local_host` set to the stick's address).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

from ..base import Driver
from ..steplog import StepLog, step
from .link import DEFAULT_BYTES, DEFAULT_PINGS, DEFAULT_TIMEOUT_S, LinkError, LinkFigures, measure

GENERATIONS = ("2G", "3G", "4G", "auto")

# Huawei's acquisition order (AT^SYSCFGEX) and HiLink NetworkMode use the same codes.
ACQ_ORDER_FOR_GENERATION = {"auto": "00", "2G": "01", "3G": "02", "4G": "03"}
GENERATION_FOR_ACQ_CODE = {"01": "2G", "02": "3G", "03": "4G"}


def normalize_generation(gen: str) -> str:
    """"2G", "3G", "4G" or "auto" (any case); ValueError for anything else."""
    if isinstance(gen, str):
        for known in GENERATIONS:
            if gen.strip().lower() == known.lower():
                return known
    raise ValueError(f"generation must be one of {', '.join(GENERATIONS)}, not {gen!r}")


def generation_for_acq_order(order: str) -> str:
    """The generation an acquisition order stands for.

    "00" is auto, "01"/"02"/"03" one generation only. A preference list such as "030201" (4G, then 3G,
    then 2G) that names all three generations behaves as auto; a list leaving some out ("0302") is no
    single choice, so it is a ValueError naming the order (set_generation makes it one again).
    """
    order = order.strip().strip('"')
    if order == "00":
        return "auto"
    if order in GENERATION_FOR_ACQ_CODE:
        return GENERATION_FOR_ACQ_CODE[order]
    codes = [order[i : i + 2] for i in range(0, len(order), 2)]
    if len(order) % 2 == 0 and codes and all(c in GENERATION_FOR_ACQ_CODE for c in codes):
        if set(codes) == set(GENERATION_FOR_ACQ_CODE):
            return "auto"
        named = "/".join(GENERATION_FOR_ACQ_CODE[c] for c in codes)
        raise ValueError(f"acquisition order {order!r} allows {named}, which is none of {', '.join(GENERATIONS)}")
    raise ValueError(f"unknown acquisition order {order!r}")


@dataclass(frozen=True)
class Signal:
    """One signal reading; None where the serving generation (or the backend) does not give the figure."""

    generation: str | None  # serving generation "2G"/"3G"/"4G", None without service
    csq: int | None = None  # AT+CSQ 0..31, None when unknown (99) or not available
    rssi_dbm: float | None = None
    rsrp_dbm: float | None = None  # LTE
    sinr_db: float | None = None  # LTE
    rsrq_db: float | None = None  # LTE
    rscp_dbm: float | None = None  # WCDMA
    ecio_db: float | None = None  # WCDMA

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DongleProtocol(Driver):
    """A mobile dongle: generation switching, signal, link figures against a link endpoint."""

    def __init__(
        self,
        role: str,
        address: str,
        link_endpoint: str | None = None,
        steplog: StepLog | None = None,
    ) -> None:
        super().__init__(role, address, steplog)
        self.link_endpoint = parse_endpoint(link_endpoint) if link_endpoint else None

    @abstractmethod
    async def set_generation(self, gen: str) -> None:
        """Make the stick use only this generation ("2G", "3G", "4G") or choose itself ("auto")."""

    @abstractmethod
    async def get_generation(self) -> str:
        """The generation the stick is set to: "2G", "3G", "4G" or "auto"."""

    @abstractmethod
    async def signal(self) -> Signal:
        """The current signal reading of the serving cell."""

    @step
    async def measure_link(
        self,
        endpoint_host: str | None = None,
        endpoint_port: int | None = None,
        bytes_: int = DEFAULT_BYTES,
        pings: int = DEFAULT_PINGS,
        *,
        local_host: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> LinkFigures:
        """Latency (TCP connect, `pings` echo round trips) and download bandwidth (`bytes_` bytes).

        The endpoint defaults to the driver's `link_endpoint` ("host:port"); `local_host` binds the
        client side to an address (e.g. the one the stick gives the bench) so the traffic takes the dongle.
        """
        if endpoint_host is None and endpoint_port is None:
            if self.link_endpoint is None:
                raise ValueError(f"{self.role}: no link endpoint given and none configured (link_endpoint)")
            endpoint_host, endpoint_port = self.link_endpoint
        if not endpoint_host or endpoint_port is None:
            raise ValueError("give both endpoint_host and endpoint_port, or neither")
        try:
            return await measure(endpoint_host, endpoint_port, bytes_=bytes_, pings=pings,
                                 local_host=local_host, timeout_s=timeout_s)
        except LinkError as exc:
            raise self.error(f"link measurement against {endpoint_host}:{endpoint_port}: {exc}") from exc


def parse_endpoint(text: str) -> tuple[str, int]:
    """"host:port" (or "[v6]:port") -> (host, port); ValueError naming the text otherwise."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"link_endpoint must be host:port, not {text!r}")
    return host, int(port)
