"""MIDI in `oscgen serve`: ports (midi_input) -> mapping (midi_map) -> the daemon's own entry
points, so a knob turned on a controller is the same change as the OSC message for it: checked
by the same rules, echoed as /oscgen/param/NAME to every client, errors as /oscgen/error.

The daemon calls `start(config.midi, daemon)` when `[midi] enabled = true` and `close()` on the
returned object at shutdown.  Used from the daemon: `set_knob`, `load_preset`, `submit`, `cancel`,
`broadcast`, `register` (for /oscgen/learn) and `config.source` (the file learned mappings are
saved into)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from oscgen.service.midi_input import MidiInput
from oscgen.midi_map import (Cancel, Generate, Learned, MidiMapper, SelectPreset, SetKnob, Stop, Tempo,
                                     Transport, KNOB_SPECS)
from oscgen.service.protocol import PREFIX

log = logging.getLogger("oscgen.midi")

LEARN_OFF = ("", "off", "none", "cancel")


class MidiService:
    def __init__(self, config, daemon):
        self.config = config
        self.daemon = daemon
        self.mapper = MidiMapper(config.mappings)
        self._lock = threading.Lock()  # the mapper is used by the MIDI thread and /oscgen/learn
        self.input = MidiInput(self._on_message, port=config.port, virtual=config.virtual, api=config.api)

    def start(self) -> "MidiService":
        self.daemon.register(f"{PREFIX}/learn", self._on_learn)
        self.input.start()
        return self

    def close(self) -> None:
        self.input.close()

    # MIDI thread -------------------------------------------------------------------------
    def _on_message(self, message, now: float) -> None:
        with self._lock:
            actions = self.mapper.handle(message, now)
        for action in actions:  # outside our lock: the daemon takes its own
            self.apply(action)

    def apply(self, action) -> None:
        d = self.daemon
        if isinstance(action, SetKnob):
            d.set_knob(action.name, action.value, source="midi")
        elif isinstance(action, Generate):
            d.submit(overrides=action.overrides, preset=action.preset, source="midi")
        elif isinstance(action, Cancel):
            d.cancel(source="midi")
        elif isinstance(action, Stop):
            d.stop(source="midi")
        elif isinstance(action, SelectPreset):
            d.load_preset(action.number, source="midi")
        elif isinstance(action, Tempo):
            log.info("midi clock: %g bpm", action.bpm)
            d.broadcast(f"{PREFIX}/tempo", float(action.bpm))
            d.set_knob("bpm", action.bpm, source="midi clock")
        elif isinstance(action, Transport):
            kind = action.kind or ("start" if action.running else "stop")
            log.info("midi clock: %s", kind)
            d.broadcast(f"{PREFIX}/transport", kind)
        elif isinstance(action, Learned):
            self._learned(action)

    # MIDI learn --------------------------------------------------------------------------
    def _on_learn(self, args: list, sender) -> None:
        """/oscgen/learn s KNOB (runs in the OSC thread, under the daemon's lock)."""
        if len(args) != 1 or not isinstance(args[0], str):
            self.daemon.error(-1, f"{PREFIX}/learn expects one string, a knob ({', '.join(KNOB_SPECS)}) or 'off'", sender)
            return
        knob = args[0].strip()
        try:
            with self._lock:
                self.mapper.learn(None if knob.lower() in LEARN_OFF else knob)
        except ValueError as exc:
            self.daemon.error(-1, f"{PREFIX}/learn: {exc}", sender)
            return
        if knob.lower() in LEARN_OFF:
            log.info("midi learn: off")
        else:
            log.info("midi learn: move a control on the MIDI controller to map it to %s", knob)

    def _learned(self, learned: Learned) -> None:
        log.info("midi learn: %s <- CC %d on channel %d", learned.knob, learned.cc, learned.channel)
        self.daemon.broadcast(f"{PREFIX}/learned", learned.knob, learned.channel, learned.cc)
        if not self.config.save_learned:
            return
        path = self.daemon.config.source
        if not Path(path).is_file():  # the built-in defaults: nothing of the user's to write to
            log.info("midi learn: not saved (no --config file); start with --config FILE to keep mappings")
            return
        from oscgen.config import save_learned

        try:
            save_learned(path, learned.mapping)
        except (OSError, ValueError) as exc:
            message = f"{PREFIX}/learn: mapped, but could not save it into {path}: {exc}"
            log.warning(message)
            self.daemon.broadcast(f"{PREFIX}/error", -1, message)
        else:
            log.info("midi learn: saved into %s", path)


def start(config, daemon) -> MidiService:
    return MidiService(config, daemon).start()
