"""Student-derived text made safe for a terminal."""

from __future__ import annotations

import re
from typing import Any

# Terminal escape sequences: CSI (ESC [ … final), OSC (ESC ] … BEL/ST), DCS/SOS/PM/APC
# strings (ESC P/X/^/_ … ST), two-byte escapes, and the 8-bit CSI (0x9b). Removed whole so
# that no "[31m" debris is left behind.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Whatever control remains (C0 but tab and newline, DEL, C1), plus bidi overrides and
# isolates that could make displayed code read differently from what runs ("Trojan source").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: Any) -> str:
    """``text`` safe to put on a terminal: escape sequences removed, carriage returns made
    newlines, tabs and newlines kept, every other control character shown as ``�``."""
    s = text if isinstance(text, str) else str(text)
    if _CONTROLS.search(s) is None:  # the common case: nothing to do (ESC is a control)
        return s
    s = _ESCAPES.sub("", s).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("\ufffd", s)
