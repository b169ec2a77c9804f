"""mDNS / Bonjour for ``oscgen serve`` (python-zeroconf): ``_oscjson._tcp`` points OSCQuery
clients at the HTTP server, ``_osc._udp`` OSC tools at the UDP port.  Only when the daemon
listens beyond this computer: a daemon on 127.0.0.1 cannot be reached from elsewhere, so it
announces nothing (and sends no multicast at all)."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading

log = logging.getLogger("oscgen.mdns")

OSCQUERY_TYPE = "_oscjson._tcp.local."
OSC_TYPE = "_osc._udp.local."


def advertised_addresses(host: str) -> list[str]:
    """The addresses to announce for a daemon bound to ``host``: none for loopback, ``host``
    itself for one address, every non-loopback IPv4 address of this machine for 0.0.0.0."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # a name, e.g. "localhost" or this machine's host name
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except OSError:
            return []
    if ip.is_loopback:
        return []
    if not ip.is_unspecified:
        return [str(ip)]
    import ifaddr  # zeroconf's own dependency

    found = []
    for adapter in ifaddr.get_adapters():
        for a in adapter.ips:
            if isinstance(a.ip, str) and not ipaddress.ip_address(a.ip).is_loopback:
                found.append(a.ip)
    return sorted(set(found))


def service_infos(name: str, addresses: list[str], http_port: int, osc_port: int, hostname: str | None = None):
    """The two ServiceInfo records oscgen registers (built without touching the network)."""
    from zeroconf import ServiceInfo

    server = f"{(hostname or socket.gethostname()).split('.')[0]}.local."
    common = {"addresses": [socket.inet_aton(a) for a in addresses], "server": server,
              "properties": {"txtvers": "1"}}
    return [
        ServiceInfo(OSCQUERY_TYPE, f"{name}.{OSCQUERY_TYPE}", port=http_port, **common),
        ServiceInfo(OSC_TYPE, f"{name}.{OSC_TYPE}", port=osc_port, **common),
    ]


class Advertiser:
    """Registers the records in a thread (mDNS probing takes ~1 s; the daemon does not wait)
    and withdraws them at ``close()``.  ``zeroconf_factory`` is for tests."""

    def __init__(self, infos, interfaces, zeroconf_factory=None):
        self.infos, self.interfaces = infos, interfaces
        self._factory = zeroconf_factory
        self._zc = None
        self._thread = threading.Thread(target=self._register, name="oscgen-mdns", daemon=True)

    def start(self) -> "Advertiser":
        self._thread.start()
        return self

    def _register(self) -> None:
        try:
            if self._factory is None:
                from zeroconf import Zeroconf

                self._factory = Zeroconf
            self._zc = self._factory(interfaces=self.interfaces)
            for info in self.infos:
                self._zc.register_service(info, allow_name_change=True)
                log.info("mDNS: advertising %s on port %d", info.name, info.port)
        except Exception as exc:  # no multicast route, a firewall: discovery off, OSC unaffected
            log.warning("mDNS advertising failed (%s); tools can still be pointed at the address by hand", exc)

    def close(self) -> None:
        self._thread.join(5.0)
        if self._zc is not None:
            try:
                self._zc.unregister_all_services()
                self._zc.close()
            except Exception as exc:
                log.debug("mDNS: closing: %s", exc)


def advertise(name: str, host: str, http_port: int | None, osc_port: int) -> Advertiser | None:
    """Start advertising, or None (and a log line) when ``host`` is loopback-only."""
    addresses = advertised_addresses(host)
    if not addresses:
        log.info("mDNS: not advertised (listening on %s, this computer only)", host)
        return None
    infos = service_infos(name, addresses, http_port, osc_port)
    if http_port is None:  # OSCQuery off: announce the OSC port alone
        infos = infos[1:]
    from zeroconf import InterfaceChoice

    every_interface = host in ("0.0.0.0", "::")
    return Advertiser(infos, InterfaceChoice.All if every_interface else addresses).start()
