"""A small writer for Pure Data's patch text format (vanilla 0.51+ syntax).  Objects get their
index from the order they are added, so connections are made by handle, never by counting
lines by hand."""

from __future__ import annotations


def esc(text: str) -> str:
    """Pd escapes dollar signs, commas and semicolons inside saved boxes."""
    return text.replace("$", "\\$").replace(",", " \\,").replace(";", " \\;")


def name(s: str | None) -> str:
    """A send/receive/label field: '-' (gatoms) or 'empty' (IEM GUIs) when unset."""
    return esc(s) if s else "-"


class Canvas:
    def __init__(self, width=900, height=700, font=12, title: str | None = None):
        self.width, self.height, self.font, self.title = width, height, font, title
        self.records: list[str] = []  # one line per box, in index order (a subpatch is one box)
        self.connections: list[tuple[int, int, int, int]] = []

    # -- boxes -------------------------------------------------------------------------------
    def _add(self, record: str) -> int:
        self.records.append(record)
        return len(self.records) - 1

    def obj(self, x, y, text) -> int:
        return self._add(f"#X obj {x} {y} {esc(text)};")

    def msg(self, x, y, text) -> int:
        return self._add(f"#X msg {x} {y} {esc(text)};")

    def comment(self, x, y, text, width=None) -> int:
        tail = f", f {width}" if width else ""
        return self._add(f"#X text {x} {y} {esc(text)}{tail};")

    def _atom(self, kind, x, y, width, label, receive, send, lo=0, hi=0, label_pos=1) -> int:
        return self._add(
            f"#X {kind} {x} {y} {width} {lo:g} {hi:g} {label_pos} {name(label)} {name(receive)} {name(send)} 0;"
        )

    def floatatom(self, x, y, width=7, label=None, receive=None, send=None, **kw) -> int:
        return self._atom("floatatom", x, y, width, label, receive, send, **kw)

    def symbolatom(self, x, y, width=20, label=None, receive=None, send=None, **kw) -> int:
        return self._atom("symbolatom", x, y, width, label, receive, send, **kw)

    def listbox(self, x, y, width=40, label=None, receive=None, send=None, **kw) -> int:
        return self._atom("listbox", x, y, width, label, receive, send, **kw)

    def bng(self, x, y, size=25, label=None, send=None, receive=None, color="#fcfcfc") -> int:
        ldx = size + 6
        return self._add(
            f"#X obj {x} {y} bng {size} 250 50 0 {name(send) if send else 'empty'} "
            f"{name(receive) if receive else 'empty'} {name(label) if label else 'empty'} "
            f"{ldx} {size // 2} 0 12 {color} #000000 #000000;"
        )

    def tgl(self, x, y, size=20, label=None, send=None, receive=None, on=False) -> int:
        init = 1 if on else 0
        return self._add(
            f"#X obj {x} {y} tgl {size} {init} {name(send) if send else 'empty'} "
            f"{name(receive) if receive else 'empty'} {name(label) if label else 'empty'} "
            f"{size + 6} {size // 2} 0 12 #fcfcfc #000000 #000000 {init} 1;"
        )

    def hsl(self, x, y, width=200, height=18, lo=0.0, hi=1.0, label=None, send=None, receive=None,
            init_value=None) -> int:
        init = 1 if init_value is not None else 0
        # the saved value is the knob position in hundredths of a pixel
        pos = 0 if init_value is None else int(round((init_value - lo) / (hi - lo) * (width - 1) * 100))
        return self._add(
            f"#X obj {x} {y} hsl {width} {height} {lo} {hi} 0 {init} {name(send) if send else 'empty'} "
            f"{name(receive) if receive else 'empty'} {name(label) if label else 'empty'} "
            f"0 -9 0 12 #fcfcfc #000000 #000000 {pos} 1;"
        )

    def subpatch(self, x, y, title: str, canvas: "Canvas") -> int:
        inner = canvas.render(header=f"#N canvas 60 60 {canvas.width} {canvas.height} {title} 0;")
        return self._add(inner + f"\n#X restore {x} {y} pd {title};")

    # -- wiring ------------------------------------------------------------------------------
    def connect(self, src: int, outlet: int, dst: int, inlet: int = 0) -> None:
        self.connections.append((src, outlet, dst, inlet))

    def chain(self, *boxes: int) -> None:
        """Connect outlet 0 of each box to inlet 0 of the next."""
        for a, b in zip(boxes, boxes[1:]):
            self.connect(a, 0, b, 0)

    # -- output ------------------------------------------------------------------------------
    def render(self, header: str | None = None) -> str:
        header = header or f"#N canvas 40 40 {self.width} {self.height} {self.font};"
        lines = [header, *self.records]
        n = len(self.records)
        for src, outlet, dst, inlet in self.connections:
            assert 0 <= src < n and 0 <= dst < n, (src, dst)
            lines.append(f"#X connect {src} {outlet} {dst} {inlet};")
        return "\n".join(lines)
