"""Pd helper subpatches for the generated patch (build_pd.py): words <-> one symbol, because
the daemon takes a prompt as ONE OSC string and Pd lists are words."""

from __future__ import annotations

from patches.tools.pdwriter import Canvas


def join_words() -> Canvas:
    """A list of words (what a Pd list box outputs) -> one symbol with single spaces, because
    /oscgen/prompt takes exactly one OSC string.  Commas and semicolons are Pd syntax and drop out."""
    c = Canvas(560, 420)
    c.comment(10, 5, "list of words in -> one symbol out (words joined by spaces). [list split 1] feeds "
                     "its rest back into itself, so words arrive last-first and are prepended.", 70)
    inlet = c.obj(10, 60, "inlet")
    entry = c.obj(10, 90, "t b a b")
    drip = c.obj(80, 130, "list split 1")
    kind = c.obj(80, 165, "route float symbol")
    num = c.obj(80, 195, "makefilename %g")
    chars = c.obj(80, 225, "list fromsymbol")
    sym_chars = c.obj(230, 195, "list fromsymbol")
    spaced = c.obj(80, 255, "list prepend 32")
    acc = c.obj(80, 285, "list append")
    result = c.obj(10, 320, "list")
    strip = c.obj(10, 350, "list split 1")
    tosym = c.obj(10, 380, "list tosymbol")
    out = c.obj(130, 380, "outlet")
    c.comment(200, 285, "<- accumulated chars, cleared first", 40)
    c.connect(inlet, 0, entry)
    c.connect(entry, 1, drip)
    c.connect(drip, 1, drip)
    c.connect(drip, 0, kind)
    c.chain(kind, num, chars, spaced)
    c.connect(kind, 1, sym_chars)
    c.connect(sym_chars, 0, spaced)
    c.connect(spaced, 0, acc)
    c.connect(acc, 0, acc, 1)
    c.connect(acc, 0, result, 1)
    c.connect(entry, 2, acc, 1)  # bang clears the stored list
    c.connect(entry, 2, result, 1)
    c.connect(entry, 0, result)
    c.connect(result, 0, strip)
    c.connect(strip, 1, tosym)  # drop the leading space; an empty prompt outputs nothing
    c.connect(tosym, 0, out)
    return c


def split_words() -> Canvas:
    """One symbol with spaces -> a list of words, so a list box shows 'dark ambient drone' rather
    than one escaped symbol.  Characters arrive last-first (see join-words), so both the current
    word and the word list are built by prepending."""
    c = Canvas(600, 460)
    c.comment(10, 5, "symbol in -> list of words out (split at spaces).", 60)
    inlet = c.obj(10, 40, "inlet")
    chars = c.obj(10, 70, "list fromsymbol")
    entry = c.obj(10, 100, "t b a b")
    drip = c.obj(90, 140, "list split 1")
    space = c.obj(90, 175, "sel 32")
    word = c.obj(170, 215, "list append")
    flush = c.obj(10, 215, "t b b")
    emit = c.obj(10, 250, "list append")
    nonempty = c.obj(10, 280, "route bang")
    tosym = c.obj(90, 310, "list tosymbol")
    words = c.obj(90, 345, "list append")
    final = c.obj(10, 380, "t b b")
    out_words = c.obj(10, 410, "list append")
    out = c.obj(10, 440, "outlet")
    c.comment(260, 215, "<- current word (char codes)", 30)
    c.comment(200, 345, "<- words so far", 30)
    c.chain(inlet, chars, entry)
    c.connect(entry, 2, word, 1)   # clear both stores first
    c.connect(entry, 2, words, 1)
    c.connect(entry, 2, out_words, 1)
    c.connect(entry, 1, drip)
    c.connect(drip, 1, drip)
    c.connect(drip, 0, space)
    c.connect(space, 1, word)      # a character: prepend it to the current word
    c.connect(word, 0, word, 1)
    c.connect(word, 0, emit, 1)
    c.connect(space, 0, flush)     # a space: move the current word onto the word list
    c.connect(entry, 0, final)     # end of input: flush the first word, then output
    c.connect(final, 1, flush)
    c.connect(flush, 1, emit)
    c.connect(flush, 0, word, 1)   # bang clears the current word
    c.connect(flush, 0, emit, 1)
    c.connect(emit, 0, nonempty)
    c.connect(nonempty, 1, tosym)
    c.connect(tosym, 0, words)
    c.connect(words, 0, words, 1)
    c.connect(words, 0, out_words, 1)
    c.connect(final, 0, out_words)
    c.connect(out_words, 0, out)
    return c
