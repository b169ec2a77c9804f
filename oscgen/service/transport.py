"""The daemon's edge to the network: the UDP socket, who may talk to it, and OSC bytes in and out.

Nothing here knows about jobs or knobs.  ``decode`` turns one datagram into (address, args)
pairs (oscparse.py: bounded, bundles flattened in order and run now, whatever their timetag);
``encode`` builds one
outbound message; ``Allowlist`` is ``[osc] allowed_hosts``; ``bind``/``resolve`` open the socket
and look up ``[osc] reply_targets`` with errors that say what to change.
"""

from __future__ import annotations

import ipaddress
import math
import socket

from pythonosc.osc_message_builder import OscMessageBuilder

from oscgen.service import oscparse

FLOAT32_MAX = 3.4028234663852886e38


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        # "localhost" may resolve to ::1 first; Max, Pd and TouchDesigner send to 127.0.0.1
        family, _, _, _, addr = min(infos, key=lambda info: info[0] != socket.AF_INET)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind(addr)
    except OSError as exc:
        raise OSError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            + (" (another oscgen serve? pick another --port)" if exc.errno == 98 else "")
        ) from None
    return sock


def resolve(host: str, port: int) -> tuple[str, int]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][:2]
    except OSError as exc:
        raise OSError(f"[osc] reply_targets: cannot resolve {host!r}: {exc.strerror or exc}") from None


class Allowlist:
    """``[osc] allowed_hosts``: addresses and networks ("*" lets everyone in)."""

    def __init__(self, hosts):
        self.hosts = tuple(hosts)
        self.networks = None if "*" in self.hosts else [ipaddress.ip_network(h, strict=False) for h in self.hosts]

    @property
    def everyone(self) -> bool:
        return self.networks is None

    @property
    def loopback_only(self) -> bool:
        return self.networks is not None and all(net.is_loopback for net in self.networks)

    def allows(self, host: str) -> bool:
        if self.networks is None:
            return True
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)


def decode(data: bytes) -> list:
    """(address, args) for every message in a packet, bundles flattened in order and run now,
    whatever their timetag; OscDecodeError (a ValueError) when it is not valid OSC 1.0.
    Bounded by construction: see oscparse.py."""
    return oscparse.decode(data)


def encode(address: str, args) -> bytes:
    builder = OscMessageBuilder(address)
    for value in args:
        builder.add_arg(value, _osc_type(value))
    return builder.build().dgram


def _osc_type(value) -> str:
    """The OSC type a reply value goes out as; never one that cannot hold it (an int beyond
    int32 goes as int64, a float beyond float32's range as a double)."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if value is None:
        return "N"
    if isinstance(value, int):
        return "i" if -2**31 <= value < 2**31 else "h"
    if isinstance(value, float):
        return "d" if math.isfinite(value) and abs(value) > FLOAT32_MAX else "f"
    if isinstance(value, bytes):
        return "b"
    return "s"
