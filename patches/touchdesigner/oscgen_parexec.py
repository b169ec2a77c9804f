"""oscgen for TouchDesigner: the panel's knobs and buttons.  Paste into a Parameter Execute DAT
whose OPs parameter is the panel COMP (the one create_panel() gave an 'oscgen' page), with
Parameters set to * and Value Change and On Pulse turned on."""

import oscgen_out as out


def onValueChange(par, prev):
    # a knob moved: send /oscgen/<knob> (unless the change only shows a daemon echo)
    out.on_par_change(par)


def onPulse(par):
    # Generate / Cancel / Sync / Ping / Play
    out.on_pulse(par)
