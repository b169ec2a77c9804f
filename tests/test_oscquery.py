"""OSCQuery and mDNS, as units: the address tree built from protocol.py, the HTTP answers a real
client gets from the server on 127.0.0.1, LISTEN over a real WebSocket, and the mDNS records
built (never registered: no multicast leaves this machine in the tests)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscgen.config import load_config
from oscgen.knobs import KNOBS
from oscgen.service import mdns, protocol
from oscgen.service.oscquery import OscQueryServer, address_space, answer, find

VALUES = {**load_config().defaults, "prompt": "warm pads", "temperature": 0.9, "model": "tiny-random"}


def test_every_address_of_the_table_is_a_node_with_its_type():
    tree = address_space(VALUES, {}, ("ambient", "drums"))
    for a in protocol.INBOUND:
        node = find(tree, a.path)
        assert node is not None and node["FULL_PATH"] == a.path, a.path
    for a in protocol.OUTBOUND:
        if "NAME" not in a.path:
            assert find(tree, a.path) is not None, a.path
    for name, knob in KNOBS.items():
        node = find(tree, f"/oscgen/{name}")
        assert node["ACCESS"] == 3 and node["TYPE"] == knob.osc_tag and node["VALUE"] == [VALUES[name]]
        assert node["DESCRIPTION"].startswith(knob.meaning)
    assert find(tree, "/oscgen/temperature")["RANGE"] == [{"MIN": 0.0, "MAX": 10.0}]
    assert find(tree, "/oscgen/top_k")["RANGE"] == [{"MIN": 0, "MAX": 2048}]
    assert find(tree, "/oscgen/seed")["RANGE"] == [{"MIN": -1, "MAX": 2**31 - 1}]
    assert find(tree, "/oscgen/duration")["UNIT"] == ["time.second"]
    assert "RANGE" not in find(tree, "/oscgen/prompt")
    # commands: no value, write-only; optional arguments as overloads
    assert find(tree, "/oscgen/ping") == {"FULL_PATH": "/oscgen/ping", "ACCESS": 0, "DESCRIPTION": "reply /oscgen/pong"}
    generate = find(tree, "/oscgen/generate")
    assert generate["ACCESS"] == 2 and "TYPE" not in generate and generate["OVERLOADS"] == [{"TYPE": "s"}]
    preset = find(tree, "/oscgen/preset")
    assert preset["TYPE"] == "s" and preset["RANGE"] == [{"VALS": ["ambient", "drums"]}]
    assert preset["OVERLOADS"] == [{"TYPE": "i", "RANGE": [{"MIN": 0, "MAX": 1}]}]
    # what the daemon only sends: read-only, no value until one was sent
    progress = find(tree, "/oscgen/progress")
    assert progress["ACCESS"] == 1 and progress["TYPE"] == "if" and "VALUE" not in progress
    assert find(address_space(VALUES, {"/oscgen/progress": [3, 0.5]}), "/oscgen/progress")["VALUE"] == [3, 0.5]
    assert find(tree, "/oscgen")["CONTENTS"] and find(tree, "/")["FULL_PATH"] == "/"


def test_an_empty_prompt_has_no_value_yet():
    node = find(address_space({**VALUES, "prompt": ""}, {}), "/oscgen/prompt")
    assert "VALUE" not in node


@pytest.fixture
def server():
    values = dict(VALUES)
    s = OscQueryServer("127.0.0.1", 0, osc_port=9123, name="oscgen test", values=lambda: dict(values),
                       presets=("ambient",)).start()
    s.values = values
    yield s
    s.close()


def _get(server, target):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{target}", timeout=10) as reply:
        return reply.status, reply.headers["Content-Type"], reply.read()


def _status(server, target) -> int:
    try:
        return _get(server, target)[0]
    except urllib.error.HTTPError as exc:
        return exc.code


def test_http_answers_host_info_nodes_and_attributes(server):
    status, kind, body = _get(server, "/?HOST_INFO")
    info = json.loads(body)
    assert status == 200 and kind == "application/json"
    assert info["NAME"] == "oscgen test" and info["OSC_PORT"] == 9123 and info["OSC_TRANSPORT"] == "UDP"
    assert info["EXTENSIONS"]["VALUE"] is True and info["EXTENSIONS"]["LISTEN"] is True
    assert json.loads(_get(server, "/oscgen/temperature?VALUE")[2]) == {"VALUE": [0.9]}
    server.values["temperature"] = 1.3  # the daemon's state changed (OSC, MIDI or a preset)
    assert json.loads(_get(server, "/oscgen/temperature?VALUE")[2]) == {"VALUE": [1.3]}
    assert json.loads(_get(server, "/oscgen/cfg?RANGE")[2]) == {"RANGE": [{"MIN": 1.0, "MAX": 20.0}]}
    assert json.loads(_get(server, "/oscgen/ping?TYPE")[2]) == {}
    tree = json.loads(_get(server, "/")[2])
    assert tree["CONTENTS"]["oscgen"]["CONTENTS"]["prompt"]["VALUE"] == ["warm pads"]
    assert json.loads(_get(server, "/oscgen/")[2])["FULL_PATH"] == "/oscgen"
    assert _status(server, "/oscgen/nothing") == 404
    assert _status(server, "/oscgen/generate?VALUE") == 204  # write-only
    assert _status(server, "/oscgen/temperature?FLAVOUR") == 400


def _wait_listening(server, *paths, timeout=10.0):
    """Commands travel over the socket: wait until the server has taken them in."""
    deadline = time.monotonic() + timeout
    while not any(set(paths) <= listened for listened, _ in list(server._listeners.values())):
        assert time.monotonic() < deadline, f"server never listened to {paths}"
        time.sleep(0.01)


def test_listen_streams_knob_changes_and_replies_as_osc_over_a_websocket(server):
    from pythonosc.osc_message import OscMessage
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{server.port}") as ws:
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/oscgen/temperature"}))
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/oscgen/progress"}))
        _wait_listening(server, "/oscgen/temperature", "/oscgen/progress")
        server.publish("/oscgen/param/top_k", [40])  # not listened to
        server.publish("/oscgen/param/temperature", [0.5])
        server.publish("/oscgen/progress", [7, 0.25])
        got = [OscMessage(ws.recv(timeout=10)) for _ in range(2)]
        assert [(m.address, list(m.params)) for m in got] == [("/oscgen/temperature", [0.5]), ("/oscgen/progress", [7, 0.25])]
        ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/oscgen/progress"}))
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/oscgen/done"}))
        _wait_listening(server, "/oscgen/done")
        server.publish("/oscgen/progress", [7, 0.5])
        server.publish("/oscgen/done", [7, "/x.wav", 1.0])
        assert OscMessage(ws.recv(timeout=10)).address == "/oscgen/done"
    assert json.loads(_get(server, "/oscgen/progress?VALUE")[2]) == {"VALUE": [7, 0.5]}


def test_hosts_outside_allowed_hosts_are_refused():
    s = OscQueryServer("127.0.0.1", 0, osc_port=1, name="x", values=lambda: VALUES, allowed=lambda host: False).start()
    try:
        assert _status(s, "/?HOST_INFO") == 403
    finally:
        s.close()


def test_a_taken_port_is_a_clear_error(server):
    with pytest.raises(OSError, match=f"OSCQuery cannot listen on TCP 127.0.0.1:{server.port}"):
        OscQueryServer("127.0.0.1", server.port, osc_port=1, name="x", values=lambda: VALUES)


def test_nothing_is_advertised_for_a_daemon_on_loopback():
    for host in ("127.0.0.1", "::1", "localhost"):
        assert mdns.advertised_addresses(host) == []
        assert mdns.advertise("oscgen", host, 9000, 9000) is None
    assert mdns.advertised_addresses("192.0.2.10") == ["192.0.2.10"]


def test_the_mdns_records_point_at_the_http_and_osc_ports():
    oscjson, osc = mdns.service_infos("oscgen on stage", ["192.0.2.10"], 9100, 9000, hostname="box.example")
    assert (oscjson.type, oscjson.name, oscjson.port) == ("_oscjson._tcp.local.", "oscgen on stage._oscjson._tcp.local.", 9100)
    assert (osc.type, osc.name, osc.port) == ("_osc._udp.local.", "oscgen on stage._osc._udp.local.", 9000)
    for info in (oscjson, osc):
        assert info.parsed_addresses() == ["192.0.2.10"] and info.server == "box.local."
        assert info.properties == {b"txtvers": b"1"}


def test_the_advertiser_registers_both_and_withdraws_them():
    calls = []

    class FakeZeroconf:  # stands in for the network: records what would be announced
        def __init__(self, interfaces):
            calls.append(("open", interfaces))

        def register_service(self, info, allow_name_change):
            calls.append(("register", info.type, allow_name_change))

        def unregister_all_services(self):
            calls.append(("unregister",))

        def close(self):
            calls.append(("close",))

    infos = mdns.service_infos("oscgen", ["192.0.2.10"], 9100, 9000, hostname="box")
    adv = mdns.Advertiser(infos, ["192.0.2.10"], zeroconf_factory=FakeZeroconf).start()
    adv.close()
    assert calls == [("open", ["192.0.2.10"]), ("register", "_oscjson._tcp.local.", True),
                     ("register", "_osc._udp.local.", True), ("unregister",), ("close",)]


_TREE = address_space(VALUES, {"/oscgen/progress": [1, 0.5]}, ("ambient",))
_PATHS = [a.path for a in protocol.INBOUND] + ["/", "/oscgen", "/oscgen/", "/nope", "/oscgen/progress"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=60),
    st.builds(lambda p, q: p + q, st.sampled_from(_PATHS),
              st.one_of(st.just(""), st.builds(lambda q: "?" + q, st.text(max_size=30)),
                        st.sampled_from(["?VALUE", "?value", "?HOST_INFO", "?RANGE&TYPE", "?=", "?&&", "?%00", "#VALUE"]))),
))
def test_any_request_target_gets_a_status_never_an_exception(target):
    status, body = answer(_TREE, {"NAME": "x"}, target)
    assert status in (200, 204, 400, 404)
    assert (body is None) == (status != 200)
    if status == 200:
        json.dumps(body)  # always serialisable
