"""OSCQuery for ``oscgen serve``: the address space as JSON over HTTP, values streamed over a
WebSocket (the vidvox OSCQuery proposal), so ossia score, Chataigne, Vezér and other OSC tools
find every knob with its type, range and current value instead of hand-typed addresses.

The tree is built from ``protocol.py`` (the one table): knobs are read-write nodes whose VALUE is
the daemon's current knob (read from its state on every request, so it follows OSC, MIDI and
presets alike), commands are write-only, and what the daemon only sends (progress, done, ...) is
read-only with the last message as its VALUE.  ``LISTEN`` over a WebSocket on the same port
streams, as binary OSC, every message the daemon broadcasts at that path (a knob node gets
``/oscgen/NAME value`` on each change).

One ``websockets`` server answers both: plain GETs in ``process_request`` (JSON), upgrades as
WebSocket connections.  python-oscquery was judged and not used: its HTTP server binds every
interface whatever it is told, it advertises over mDNS on construction, it keeps its own copy of
the address tree, and it has no LISTEN; the HTTP side here is ~100 lines on a well-kept library.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from pythonosc.osc_message_builder import OscMessageBuilder

from oscgen.knobs import KNOBS
from oscgen.service.protocol import INBOUND, OUTBOUND, PREFIX, Address

log = logging.getLogger("oscgen.oscquery")

# What this server supports, for HOST_INFO's EXTENSIONS.
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "UNIT": True,
    "OVERLOADS": True, "LISTEN": True, "TAGS": False, "EXTENDED_TYPE": False, "CRITICAL": False,
    "CLIPMODE": False, "PATH_CHANGED": False, "HTML": False,
}
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION", "UNIT", "OVERLOADS")
UNITS = {"duration": "time.second", "bpm": "time.bpm"}  # the vidvox units list
NO_VALUE, READ, WRITE = 0, 1, 2
MAX_LISTENERS = 32  # WebSocket clients at once; more are refused (each costs two threads)
LISTEN_QUEUE = 256  # messages buffered per listener; a client that stalls loses values, never the daemon


def _type_and_overloads(args: str) -> tuple[str, list[str]]:
    """protocol.py's argument notation -> (OSCQuery TYPE, alternative TYPEs): ``s...`` is one
    string (the words joined), ``[i]`` is optional (no TYPE, an overload with it), ``s|i`` either."""
    optional = args.startswith("[") and args.endswith("]")
    tags = args.strip("[]").replace("...", "")
    choices = tags.split("|") if tags else []
    if optional:
        return "", choices
    return (choices[0] if choices else ""), choices[1:]


def _range(name: str) -> dict | None:
    knob = KNOBS[name]
    if knob.kind is str:
        return None
    low = min([knob.low, *knob.extra]) if knob.low is not None else None
    cast = knob.kind
    return {k: cast(v) for k, v in (("MIN", low), ("MAX", knob.high)) if v is not None}


def _node(address: Address, access: int, args: str, description: str) -> dict:
    node = {"FULL_PATH": address.path, "ACCESS": access, "DESCRIPTION": description}
    type_, overloads = _type_and_overloads(args)
    if type_:
        node["TYPE"] = type_
    if overloads:
        node["OVERLOADS"] = [{"TYPE": t} for t in overloads]
    return node


def address_space(values: dict, last: dict[str, list], presets: tuple[str, ...] = ()) -> dict:
    """The whole tree as OSCQuery JSON: ``values`` are the knobs now (State.snapshot()),
    ``last`` the last arguments broadcast per outbound address, ``presets`` the preset names."""
    nodes: dict[str, dict] = {}
    inbound = {a.path for a in INBOUND}
    for a in INBOUND:
        name = a.path[len(PREFIX) + 1:]
        if name in KNOBS:
            node = _node(a, READ | WRITE, a.args, a.meaning)
            value = values.get(name)
            if value not in (None, ""):  # no prompt yet: a VALUE query answers {}
                node["VALUE"] = [value]
            if (rng := _range(name)) is not None:
                node["RANGE"] = [rng]
            if name in UNITS:
                node["UNIT"] = [UNITS[name]]
        else:
            node = _node(a, WRITE if a.args else NO_VALUE, a.args, a.meaning)
            if a.path == f"{PREFIX}/preset" and presets:
                node["RANGE"] = [{"VALS": list(presets)}]
                node["OVERLOADS"] = [{"TYPE": "i", "RANGE": [{"MIN": 0, "MAX": len(presets) - 1}]}]
        nodes[a.path] = node
    for a in OUTBOUND:
        if a.path in inbound:  # /oscgen/status, /oscgen/preset, /oscgen/queue: the command's node
            nodes[a.path]["DESCRIPTION"] += f"; the daemon answers {a.path} {a.args}: {a.meaning}"
            continue
        if "NAME" in a.path:  # /oscgen/param/NAME echoes are the knob nodes' VALUE and LISTEN
            continue
        node = _node(a, READ, a.args, a.meaning)
        if a.path in last:
            node["VALUE"] = list(last[a.path])
        nodes[a.path] = node
    root = {"FULL_PATH": "/", "ACCESS": NO_VALUE, "DESCRIPTION": "oscgen: text-to-music over OSC", "CONTENTS": {}}
    for path, node in nodes.items():
        parent = root
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts[:-1]):
            parent = parent["CONTENTS"].setdefault(part, {
                "FULL_PATH": "/" + "/".join(parts[:depth + 1]), "ACCESS": NO_VALUE, "CONTENTS": {}})
        parent["CONTENTS"][parts[-1]] = node
    return root


def find(tree: dict, path: str) -> dict | None:
    node = tree
    for part in [p for p in path.split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def answer(tree: dict, host_info: dict, target: str) -> tuple[int, dict | None]:
    """One GET: the request target (path and query) -> (HTTP status, JSON body or None)."""
    parts = urlsplit(target)
    query = [q.split("=", 1)[0].upper() for q in parts.query.split("&") if q]
    if "HOST_INFO" in query:
        return HTTPStatus.OK, host_info
    node = find(tree, unquote(parts.path))
    if node is None:
        return HTTPStatus.NOT_FOUND, None
    if not query:
        return HTTPStatus.OK, node
    attribute = query[0]
    if attribute not in ATTRIBUTES:
        return HTTPStatus.BAD_REQUEST, None
    if attribute == "VALUE" and not node["ACCESS"] & READ:
        return HTTPStatus.NO_CONTENT, None
    return HTTPStatus.OK, ({attribute: node[attribute]} if attribute in node else {})


class OscQueryServer:
    """HTTP + WebSocket on one TCP port.  ``values()`` gives the knobs now; ``allowed(host)`` is
    the daemon's [osc] allowed_hosts check; ``publish(address, args)`` (the daemon's broadcasts)
    feeds LISTEN and the read-only nodes' VALUE.  Thread-safe; ``publish`` never blocks."""

    def __init__(self, host: str, port: int, *, osc_port: int, name: str, values: Callable[[], dict],
                 presets: tuple[str, ...] = (), allowed: Callable[[str], bool] = lambda host: True):
        from websockets.sync.server import serve

        self.name, self.osc_port, self.presets = name, osc_port, tuple(presets)
        self._values, self._allowed = values, allowed
        self._last: dict[str, list] = {}
        self._listeners: dict[object, tuple[set[str], queue.Queue]] = {}
        self._lock = threading.Lock()
        try:
            sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as exc:
            raise OSError(f"OSCQuery cannot listen on TCP {host}:{port}: {exc.strerror or exc}") from None
        self.port = sock.getsockname()[1]
        ws_log = logging.getLogger("oscgen.oscquery.websockets")
        if ws_log.level == logging.NOTSET:  # a line per request and per close is noise in a show's log
            ws_log.setLevel(logging.WARNING)
        self._server = serve(self._connection, sock=sock, process_request=self._http, compression=None,
                             logger=ws_log)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oscgen-oscquery", daemon=True)

    def start(self) -> "OscQueryServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5.0)

    def host_info(self) -> dict:
        return {"NAME": self.name, "OSC_PORT": self.osc_port, "OSC_TRANSPORT": "UDP", "EXTENSIONS": EXTENSIONS}

    def tree(self) -> dict:
        with self._lock:
            last = {k: list(v) for k, v in self._last.items()}
        return address_space(self._values(), last, self.presets)

    def publish(self, address: str, args) -> None:
        """A message the daemon broadcast: remembered as that node's VALUE and streamed to
        whoever LISTENs to it; a knob echo /oscgen/param/NAME is streamed as /oscgen/NAME."""
        if address.startswith(f"{PREFIX}/param/"):
            address = f"{PREFIX}/{address.rsplit('/', 1)[1]}"
        else:
            with self._lock:
                self._last[address] = list(args)
        with self._lock:
            targets = [q for paths, q in self._listeners.values() if address in paths]
        if not targets:
            return
        builder = OscMessageBuilder(address)
        for value in args:
            builder.add_arg(value)
        packet = builder.build().dgram
        for q in targets:
            try:
                q.put_nowait(packet)
            except queue.Full:  # a stalled client misses values; the daemon never waits for it
                pass

    # --- HTTP ------------------------------------------------------------------------------

    def _http(self, connection, request):
        host = connection.remote_address[0]
        if not self._allowed(host):
            log.warning("OSCQuery: refused %s (not in [osc] allowed_hosts)", host)
            return connection.respond(HTTPStatus.FORBIDDEN, "not in [osc] allowed_hosts\n")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            with self._lock:
                full = len(self._listeners) >= MAX_LISTENERS
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many listeners\n") if full else None
        status, body = answer(self.tree(), self.host_info(), request.path)
        if body is None:
            text = {HTTPStatus.NOT_FOUND: f"no OSC node at {urlsplit(request.path).path}\n",
                    HTTPStatus.BAD_REQUEST: f"unknown attribute; supported: HOST_INFO, {', '.join(ATTRIBUTES)}\n"}.get(status, "")
            return connection.respond(status, text)
        response = connection.respond(status, json.dumps(body, ensure_ascii=False))
        del response.headers["Content-Type"]  # Headers is a multi-dict: replace, not add
        response.headers["Content-Type"] = "application/json"
        response.headers["Access-Control-Allow-Origin"] = "*"  # browser-based OSCQuery clients
        return response

    # --- WebSocket ---------------------------------------------------------------------------

    def _connection(self, connection) -> None:
        paths: set[str] = set()
        outbox: queue.Queue = queue.Queue(LISTEN_QUEUE)
        with self._lock:
            self._listeners[connection] = (paths, outbox)
        sender = threading.Thread(target=self._send_loop, args=(connection, outbox), daemon=True)
        sender.start()
        try:
            for message in connection:
                self._command(message, paths)
        except Exception as exc:  # a broken connection ends this listener only
            log.debug("OSCQuery listener %s: %s", connection.remote_address, exc)
        finally:
            with self._lock:
                self._listeners.pop(connection, None)
            outbox.put(None)
            sender.join(5.0)

    def _command(self, message, paths: set[str]) -> None:
        if isinstance(message, bytes):
            log.debug("OSCQuery: ignored an OSC packet over the WebSocket (send OSC over UDP)")
            return
        try:
            command = json.loads(message)
            name, path = command["COMMAND"], command["DATA"]
        except (ValueError, TypeError, KeyError):
            log.debug("OSCQuery: ignored WebSocket text %r", message[:200])
            return
        with self._lock:
            if name == "LISTEN" and isinstance(path, str):
                paths.add(path)
            elif name == "IGNORE" and isinstance(path, str):
                paths.discard(path)

    @staticmethod
    def _send_loop(connection, outbox: queue.Queue) -> None:
        while (packet := outbox.get()) is not None:
            try:
                connection.send(packet)
            except Exception:
                return


class Discovery:
    """What ``start`` brought up for a daemon: the OSCQuery server and the mDNS records."""

    def __init__(self, server: OscQueryServer | None = None, advertiser=None):
        self.server, self.advertiser = server, advertiser

    def close(self) -> None:
        for part in (self.advertiser, self.server):
            if part is not None:
                try:
                    part.close()
                except Exception as exc:
                    log.warning("stopping discovery: %s", exc)


def start(daemon) -> Discovery:
    """OSCQuery on TCP (by default the OSC port's number) and mDNS when the daemon listens
    beyond this computer, as [oscquery] says.  A taken TCP port costs discovery, never OSC."""
    from oscgen.service import mdns

    cfg, osc = daemon.config.oscquery, daemon.config.osc
    name = cfg.name or f"oscgen on {socket.gethostname().split('.')[0]}"
    server = None
    if cfg.enabled:
        try:
            server = OscQueryServer(osc.host, cfg.port or daemon.port, osc_port=daemon.port, name=name,
                                    values=daemon.state.snapshot, presets=tuple(p.name for p in daemon.config.presets),
                                    allowed=daemon.allowlist.allows).start()
        except OSError as exc:
            log.warning("%s; running without OSCQuery ([oscquery] port picks another)", exc)
        else:
            daemon.out.listeners.append(server.publish)
            log.info("OSCQuery on http://%s:%d/ (%r)", osc.host, server.port, name)
    advertiser = None
    if cfg.mdns:
        advertiser = mdns.advertise(name, osc.host, server.port if server else None, daemon.port)
    return Discovery(server, advertiser)
