"""Max/MSP: patches/oscgen.maxpat checked structurally (Max cannot run here).  It must parse, every
box and cord must be well formed, what it sends must be exactly what the daemon accepts (with the
OSC types Max will produce), what it routes must be what the daemon sends, and the ports must be
the defaults."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from oscgen.config import load_config
from oscgen.service import protocol
from patches.tools import build_maxpat
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS
from tests._patch_helpers import PATCHES, conforms

MAXPAT = PATCHES / "oscgen.maxpat"
INBOUND = {a.path: a.args for a in protocol.INBOUND}
OUTBOUND = {a.path for a in protocol.OUTBOUND}
DEVICE_HEIGHT = 169  # a Max for Live device's view


@pytest.fixture(scope="module")
def patcher():
    return json.loads(MAXPAT.read_text())["patcher"]


@pytest.fixture(scope="module")
def graph(patcher):
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    out_edges = defaultdict(list)  # id -> [(outlet, dst id, inlet)]
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        out_edges[src].append((outlet, dst, inlet))
    return boxes, out_edges


def text(box) -> str:
    return box.get("text", "")


def find(boxes, predicate) -> list[dict]:
    return [b for b in boxes.values() if predicate(b)]


def downstream(graph, start: str, outlet: int | None = None) -> list[dict]:
    boxes, edges = graph
    return [boxes[dst] for o, dst, _ in edges[start] if outlet is None or o == outlet]


def test_committed_patch_is_what_the_generator_writes():
    assert MAXPAT.read_text() == build_maxpat.build(), "stale: run python patches/tools/build.py"


def test_boxes_are_well_formed_with_unique_ids(patcher):
    ids = [b["box"]["id"] for b in patcher["boxes"]]
    assert len(ids) == len(set(ids))
    for entry in patcher["boxes"]:
        box = entry["box"]
        assert set(entry) == {"box"}
        assert isinstance(box["maxclass"], str) and box["maxclass"]
        assert isinstance(box["numinlets"], int) and box["numinlets"] >= 0
        assert isinstance(box["numoutlets"], int) and box["numoutlets"] >= 0
        assert len(box.get("outlettype", [])) == box["numoutlets"], box
        rect = box["patching_rect"]
        assert len(rect) == 4 and all(isinstance(v, float) for v in rect) and rect[2] > 0 and rect[3] > 0
        if box["maxclass"] in ("newobj", "message", "comment"):
            assert isinstance(box["text"], str)
        if box["maxclass"] == "newobj":
            assert box["text"], box
            # the counts agree with the generator's table of Max objects
            assert build_maxpat.newobj_io(box["text"]) == (box["numinlets"], box["numoutlets"], box.get("outlettype", []))


def test_every_cord_joins_existing_boxes_at_real_inlets_and_outlets(patcher, graph):
    boxes, _ = graph
    assert patcher["lines"]
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        assert src in boxes and dst in boxes, line
        assert 0 <= outlet < boxes[src]["numoutlets"], line
        assert 0 <= inlet < boxes[dst]["numinlets"], line
        signal_out = boxes[src]["outlettype"][outlet] == "signal"
        assert not signal_out or text(boxes[dst]).split()[0].endswith("~"), line  # audio into audio


def test_ports_are_the_daemon_defaults(graph):
    boxes, _ = graph
    (send,) = find(boxes, lambda b: text(b).startswith("udpsend"))
    (recv,) = find(boxes, lambda b: text(b).startswith("udpreceive"))
    assert text(send).split()[1:] == ["127.0.0.1", str(protocol.DEFAULT_LISTEN_PORT)]
    assert text(recv).split()[1:] == [str(protocol.DEFAULT_REPLY_PORT)]
    shipped = load_config().osc  # the config.toml a fresh daemon runs with
    assert (shipped.port, shipped.reply_port) == (protocol.DEFAULT_LISTEN_PORT, protocol.DEFAULT_REPLY_PORT)


def test_everything_it_sends_is_an_address_the_daemon_accepts_with_the_right_type(graph):
    boxes, _ = graph
    (send,) = find(boxes, lambda b: text(b).startswith("udpsend"))
    feeders = [b for b in boxes.values() if any(dst["id"] == send["id"] for dst in downstream(graph, b["id"]))]
    sent = {}
    for box in feeders:
        words = text(box).split()
        if box["maxclass"] == "message":  # '/oscgen/temperature $1', '/oscgen/generate', '/oscgen/preset 0'
            address, args = words[0], words[1:]
            if args and args != ["$1"]:  # literal arguments: Max types them as it parses them
                literal = [int(a) if a.lstrip("-").isdigit() else a for a in args]
                assert conforms(address, literal), box
                sent[address] = box
                continue
        elif words[0] == "prepend" and words[1].startswith("/"):  # prepend /oscgen/prompt
            address, args = words[1], ["$1"]
        else:
            assert words[:2] == ["prepend", "host"], box  # udpsend's own 'host' message
            continue
        assert address in INBOUND, address
        spec = INBOUND[address].strip("[]")
        assert len(args) == (1 if spec else 0) or INBOUND[address].startswith("["), (address, args)
        sent[address] = box
    # each knob's value comes from a box that makes the type the daemon declares
    for knob in NUMBER_KNOBS:
        msg = sent[knob.address]
        (source,) = [b for b in boxes.values() if msg in downstream(graph, b["id"])]
        assert source["maxclass"] == {"f": "flonum", "i": "number"}[knob.osc_type], knob
        # dragging stays within what the daemon accepts
        if knob.range:
            assert (source["minimum"], source["maximum"]) == knob.range, knob
        else:
            assert "minimum" not in source and "maximum" not in source, knob
    # strings: textedit -> route text -> tosymbol (ONE OSC string) -> prepend /oscgen/...
    for address in ("/oscgen/prompt", "/oscgen/model"):
        (tosym,) = [b for b in boxes.values() if sent[address] in downstream(graph, b["id"])]
        assert text(tosym) == "tosymbol"
    assert set(sent) >= {"/oscgen/prompt", "/oscgen/model", "/oscgen/generate", "/oscgen/cancel",
                         "/oscgen/status", "/oscgen/ping", "/oscgen/preset", "/oscgen/learn",
                         "/oscgen/continue", "/oscgen/stop", "/oscgen/cancel_take",
                         *(k.address for k in NUMBER_KNOBS), *(a.address for a in ACTIONS)}


def test_everything_it_routes_is_an_address_the_daemon_sends(graph):
    boxes, _ = graph
    routed = [w for b in find(boxes, lambda b: text(b).startswith("route /")) for w in text(b).split()[1:]]
    for address in routed:
        if address.startswith("/oscgen/param/"):
            assert address.rsplit("/", 1)[1] in protocol.KNOBS, address
        else:
            assert address in OUTBOUND, address
    # every reply is shown somewhere (learned and tempo: MIDI details, printed only by Pd)
    assert OUTBOUND - {"/oscgen/param/NAME", "/oscgen/learned", "/oscgen/tempo"} <= set(routed)


def test_knobs_follow_param_echoes_with_set_so_nothing_is_sent_back(graph):
    boxes, _ = graph
    (param,) = find(boxes, lambda b: text(b).startswith("route /oscgen/param/"))
    for outlet, address in enumerate(text(param).split()[1:]):
        (pre,) = downstream(graph, param["id"], outlet)
        assert text(pre) == "prepend set", address
        (ui,) = downstream(graph, pre["id"])
        assert ui["maxclass"] in ("flonum", "number", "textedit"), address
        # ... and that same box is the one that sends /oscgen/NAME when the user moves it
        name = address.rsplit("/", 1)[1]
        reached = {text(b) for b in downstream(graph, ui["id"])}
        if ui["maxclass"] == "textedit":
            assert reached == {"route text"}, address
        else:
            assert reached == {f"/oscgen/{name} $1"}, address
    assert len(text(param).split()) - 1 == len(NUMBER_KNOBS) + 2  # every knob, prompt and model


def test_done_loads_the_wav_into_a_buffer_that_plays_to_the_speakers(graph):
    boxes, _ = graph
    (route,) = find(boxes, lambda b: text(b).startswith("route /oscgen/queued"))
    done_outlet = text(route).split()[1:].index("/oscgen/done")
    unpack = [b for b in downstream(graph, route["id"], done_outlet) if text(b).startswith("unpack")]
    assert [text(b) for b in unpack] == ["unpack 0 s 0."]  # id path seconds
    (path_t,) = downstream(graph, unpack[0]["id"], 1)
    replace = [b for b in downstream(graph, path_t["id"]) if text(b) == "prepend replace"]
    (buf,) = downstream(graph, replace[0]["id"])
    assert text(buf) == f"buffer~ {build_maxpat.BUFFER}"
    (player,) = find(boxes, lambda b: text(b).startswith("play~"))
    assert text(player).split()[1] == build_maxpat.BUFFER
    starts = [b for b in boxes.values() if player in downstream(graph, b["id"])]
    assert {text(b) for b in starts} == {"start", "stop"}
    (gain,) = downstream(graph, player["id"], 0)
    assert {(text(b), i) for o, dst, i in graph[1][gain["id"]] for b in [boxes[dst]]} == {("dac~", 0), ("dac~", 1)}


def test_the_takes_menu_lists_each_take_of_the_latest_job_and_picks_one_to_preview(graph):
    boxes, _ = graph
    (route,) = find(boxes, lambda b: text(b).startswith("route /oscgen/queued"))
    done_outlet = text(route).split()[1:].index("/oscgen/done")
    (split,) = [b for b in downstream(graph, route["id"], done_outlet) if text(b) == "t l l"]
    (menu,) = find(boxes, lambda b: b["maxclass"] == "umenu")
    (unpack,) = downstream(graph, split["id"], 0)
    (append,) = downstream(graph, unpack["id"], 1)
    assert text(append) == "prepend append" and downstream(graph, append["id"]) == [menu]
    (first,) = downstream(graph, split["id"], 1)  # the id, before the path: a new job clears the menu
    (change,) = downstream(graph, first["id"])
    (clear,) = downstream(graph, change["id"], 0)
    assert (text(first), text(change), text(clear)) == ("zl slice 1", "change -1", "clear")
    assert downstream(graph, clear["id"]) == [menu]
    (path_t,) = downstream(graph, menu["id"], 1)  # a picked take: shown and loaded like a new one
    assert any(text(b) == "prepend replace" for b in downstream(graph, path_t["id"]))


def test_the_device_view_shows_every_control_within_live_s_device_height(graph, patcher):
    boxes, _ = graph
    assert patcher["openinpresentation"] == 1
    shown = find(boxes, lambda b: b.get("presentation") == 1)
    for box in shown:
        x, y, w, h = box["presentation_rect"]
        assert y >= 0 and y + h <= DEVICE_HEIGHT, box
        assert x >= 0 and x + w <= patcher["devicewidth"], box
    kinds = defaultdict(int)
    for box in shown:
        kinds[box["maxclass"]] += 1
    assert kinds["textedit"] == 3  # prompt, model, host
    assert kinds["flonum"] + kinds["number"] == len(NUMBER_KNOBS) + 1  # knobs + volume
    assert kinds["slider"] == 1  # progress
    labels = {text(b) for b in shown if b["maxclass"] == "comment"}
    assert {"prompt", "generate", "cancel", "continue", "stop job", "file", "error", "state", "daemon",
            *(k.name for k in NUMBER_KNOBS)} <= labels


def test_generate_sends_the_prompt_field_first_and_empty_fields_send_nothing(graph):
    boxes, _ = graph
    (generate,) = find(boxes, lambda b: b["maxclass"] == "message" and text(b) == "/oscgen/generate")
    (first,) = [b for b in boxes.values() if generate in downstream(graph, b["id"])]
    assert text(first) == "t b b"  # right outlet fires first: the prompt, then generate
    (prompt,) = downstream(graph, first["id"], 1)
    assert prompt["maxclass"] == "textedit" and prompt["varname"] == "prompt"
    for field in find(boxes, lambda b: b["maxclass"] == "textedit"):
        (route_text,) = downstream(graph, field["id"])
        (empty,) = downstream(graph, route_text["id"], 0)
        assert text(empty) == "route bang" and downstream(graph, empty["id"], 0) == []
        assert [text(b) for b in downstream(graph, empty["id"], 1)] == ["tosymbol"]
