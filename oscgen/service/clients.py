"""Who hears the daemon: known clients, reply destinations, and error replies (rate-limited per
host so that a patch stuck in a loop of bad messages is not drowned in replies, nor the log).

``Replies`` is the one object that sends: ``broadcast`` (every known client + [osc]
reply_targets), ``reply`` (the sender's host on the reply port + the targets), ``error``
(/oscgen/error to one sender, rate-limited, or to everyone) and ``echo`` (knob changes).
"""

from __future__ import annotations

import logging
import time

from oscgen.service.protocol import PREFIX
from oscgen.service.transport import encode

log = logging.getLogger("oscgen")

MAX_CLIENTS = 64
MAX_ERROR_CHARS = 1000
REPLY_BURST, REPLY_RATE = 30, 5.0  # replies larger than their request, per host: a patch opening asks ~12


class ErrorRateLimit:
    """Per-host token bucket for error replies: a burst of ``burst``, then ``per_second``.

    ``allow(host)`` is None when this error should not be answered, else how many were dropped
    since the last one answered (so the reply can say so)."""

    def __init__(self, burst: int = 20, per_second: float = 5.0, max_hosts: int = MAX_CLIENTS):
        self.burst, self.per_second, self.max_hosts = burst, per_second, max_hosts
        self._buckets: dict[str, list] = {}  # host -> [tokens, last refill time, dropped]

    def allow(self, host: str, now: float | None = None) -> int | None:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(host, None) or [float(self.burst), now, 0]
        self._buckets[host] = bucket  # most recent last, so the oldest host is evicted first
        while len(self._buckets) > self.max_hosts:
            self._buckets.pop(next(iter(self._buckets)))
        bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.per_second)
        bucket[1] = now
        if bucket[0] < 1.0:
            bucket[2] += 1
            return None
        bucket[0] -= 1.0
        dropped, bucket[2] = bucket[2], 0
        return dropped

    def full(self, host: str) -> bool:
        """True when ``host`` has (nearly) its whole burst left: it has been quiet a while."""
        bucket = self._buckets.get(host)
        return bucket is None or bucket[0] >= self.burst - 1.0

    def exhausted(self, host: str) -> bool:
        """True when the next error from ``host`` would not be answered."""
        bucket = self._buckets.get(host)
        return bucket is not None and bucket[0] < 1.0


class Replies:
    """The daemon's outbound side: known clients (most recent last, at most MAX_CLIENTS), the
    configured targets, and the socket it sends from.

    No amplifier: UDP senders can be forged, so a request answered with more bytes than it
    had (/oscgen/status: 20 bytes in, ~450 out; a bare knob query) takes a token from a
    per-host bucket (``reply_limit``); with none left, its replies to that host are dropped
    (the configured targets still get theirs), and the host hears once, through the
    rate-limited errors, that it is asking too often.  Ping (a reply no larger than its
    request) is never limited."""

    def __init__(self, sock, reply_port: int, targets, verbose: bool = False):
        self.sock, self.reply_port, self.targets, self.verbose = sock, reply_port, list(targets), verbose
        self.clients: dict[tuple[str, int], float] = {}
        self.error_limit = ErrorRateLimit()
        self.listeners: list = []  # publish(address, args) of every broadcast (OSCQuery's LISTEN)
        self.reply_limit = ErrorRateLimit(burst=REPLY_BURST, per_second=REPLY_RATE)
        self._request: list | None = None  # [host, bytes received, bytes answered, allowed]
        self._told: set[str] = set()  # hosts told that their replies are being dropped

    def begin_request(self, sender, size: int) -> None:
        """Replies to ``sender`` from now until end_request answer a request of ``size`` bytes."""
        self._request = [sender[0], size, 0, None]

    def end_request(self) -> None:
        self._request = None

    def remember(self, sender) -> None:
        dest = (sender[0], self.reply_port)
        self.clients.pop(dest, None)
        self.clients[dest] = time.monotonic()
        while len(self.clients) > MAX_CLIENTS:
            self.clients.pop(next(iter(self.clients)))

    def reply_dests(self, sender) -> list:
        return _unique([(sender[0], self.reply_port), *self.targets])

    def everyone(self) -> list:
        return _unique([*self.clients, *self.targets])

    def broadcast(self, address: str, *args) -> None:
        """Send to every known client and the configured targets (and the listeners)."""
        self.send(self.everyone(), address, args)
        for publish in self.listeners:
            publish(address, args)

    def reply(self, sender, address: str, *args) -> None:
        """Send to the client that sent a message (its host, the reply port) and the targets."""
        dests = self.reply_dests(sender)
        if self._request is not None and self._request[0] == sender[0] and not self._may_amplify(address, args):
            dests = [d for d in dests if d in self.targets]
        self.send(dests, address, args)

    def _may_amplify(self, address: str, args) -> bool:
        request = self._request
        request[2] += len(encode(address, args))
        if request[2] <= request[1]:
            return True
        if request[3] is None:  # the first byte beyond the request's own size: one token
            host = request[0]
            request[3] = self.reply_limit.allow(host) is not None
            if request[3]:
                if self.reply_limit.full(host):  # quiet again: the next flood is told once more
                    self._told.discard(host)
            else:
                log.info("replies to %s dropped: it asks for more than %d replies a second larger than their request",
                         host, REPLY_RATE, extra={"fold": ("amplify", host)})
                if host not in self._told:
                    self._told.add(host)
                    self._request = None  # the error below is not itself a reply to be counted
                    self.error(-1, f"{address}: replies to {host} larger than their request are limited to "
                                   f"{REPLY_RATE:g} a second after a burst of {REPLY_BURST}; this one was dropped", (host, 0))
                    self._request = request
        return request[3]

    def echo(self, echoes) -> None:
        for name, value in echoes:
            self.broadcast(f"{PREFIX}/param/{name}", value)

    def error(self, job_id: int, message: str, reply_to=None) -> None:
        """/oscgen/error to ``reply_to`` (rate-limited per host) or, when None, to everyone."""
        if len(message) > MAX_ERROR_CHARS:  # a reply must fit a datagram whatever it quotes
            message = message[:MAX_ERROR_CHARS] + "..."
        if reply_to is not None:
            suppressed = self.error_limit.allow(reply_to[0])
            if suppressed is None:
                return
            if suppressed:
                message += f" ({suppressed} more errors from {reply_to[0]} were not answered)"
            if self.error_limit.exhausted(reply_to[0]):
                message += f" (too many errors: further ones from {reply_to[0]} are answered at most {self.error_limit.per_second:g} per second)"
        log.info("error%s%s: %s", f" (job {job_id})" if job_id != -1 else "", f" to {reply_to[0]}" if reply_to else "", message,
                 extra={"fold": ("error", reply_to[0])} if reply_to else None)
        if reply_to is None:
            self.broadcast(f"{PREFIX}/error", job_id, message)
        else:  # not through reply(): errors have their own limit, not the amplification one
            self.send(self.reply_dests(reply_to), f"{PREFIX}/error", (job_id, message))

    def send(self, dests, address: str, args) -> None:
        dgram = encode(address, args)
        if self.verbose and address != f"{PREFIX}/progress":
            log.debug("-> %s %s %s", ",".join(f"{h}:{p}" for h, p in dests) or "(nobody)", address, " ".join(map(repr, args)))
        for dest in dests:
            try:
                self.sock.sendto(dgram, dest)
            except OSError as exc:  # an unreachable client must not stop the others
                log.debug("sending %s to %s failed: %s", address, dest, exc)


def _unique(dests) -> list:
    return list(dict.fromkeys(dests))
