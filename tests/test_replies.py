"""Replies' amplification bucket, without a daemon: real UDP datagrams on 127.0.0.1, read back
with the project's own bounded decoder."""

import socket

from oscgen.service.clients import REPLY_BURST, Replies
from oscgen.service.oscparse import decode


def _pair():
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox.bind(("127.0.0.1", 0))
    inbox.settimeout(0.2)
    return out, inbox


def _drain(inbox) -> list:
    got = []
    try:
        while True:
            got.extend(decode(inbox.recv(65536)))
    except socket.timeout:
        return got


def _status_like(replies, sender, n_replies=12):
    """A 20-byte request answered with ``n_replies`` larger messages, as /oscgen/status is."""
    replies.begin_request(sender, 20)
    for i in range(n_replies):
        replies.reply(sender, "/oscgen/param/prompt", "a long answer to a short question " * 2)
    replies.end_request()


def test_a_patch_asking_a_few_times_is_answered_in_full_and_never_told_it_floods():
    out, inbox = _pair()
    replies = Replies(out, inbox.getsockname()[1], targets=[])
    sender = ("127.0.0.1", 50000)
    for _ in range(3):  # a patch opening, reopening, a second window
        _status_like(replies, sender)
    got = _drain(inbox)
    assert len(got) == 36
    assert not [m for m in got if m[0] == "/oscgen/error"]


def test_a_flood_is_cut_to_the_burst_and_told_once():
    out, inbox = _pair()
    replies = Replies(out, inbox.getsockname()[1], targets=[])
    sender = ("127.0.0.1", 50000)
    for _ in range(REPLY_BURST + 20):  # faster than the refill: every request past the burst
        _status_like(replies, sender, n_replies=1)
    got = _drain(inbox)
    errors = [m for m in got if m[0] == "/oscgen/error"]
    answered = [m for m in got if m[0] == "/oscgen/param/prompt"]
    assert REPLY_BURST <= len(answered) < REPLY_BURST + 5  # the refill adds a token per 0.2 s at most
    assert len(errors) == 1 and "limited to" in errors[0][1][1]
