"""A tier's badge in the colour an administrator chose, with text that stays readable on it.

The colour is whatever the CMS accepted, so the text on it is picked here: the portal's ink or white,
whichever contrasts more (WCAG's relative luminance), or black or white where neither reaches 4.5:1 (a pure
red, say); one of black and white always does. A colour that is not #rrggbb (data older than the field's
check) falls back to the portal's grey, so nothing but a colour ever reaches the style attribute.
"""

import re
from dataclasses import dataclass

INK = "#1d2433"  # the stylesheet's --ink
WHITE = "#ffffff"
BLACK = "#000000"
READABLE = 4.5  # WCAG AA for text
FALLBACK = "#6b7280"
HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Badge:
    background: str
    text: str

    @property
    def style(self) -> str:
        return f"--badge-bg: {self.background}; --badge-ink: {self.text};"


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def badge_for(colour: str) -> Badge:
    background = colour.lower() if HEX.fullmatch(colour or "") else FALLBACK
    text = max((INK, WHITE), key=lambda ink: contrast(background, ink))
    if contrast(background, text) < READABLE:
        text = max((BLACK, WHITE), key=lambda ink: contrast(background, ink))
    return Badge(background, text)
