"""QR codes of short links (segno), as SVG or PNG, with chosen size and colours.

Options are checked before anything is drawn:

- ``kind``: ``svg`` or ``png``;
- ``scale``: pixels per module, :data:`MIN_SCALE`–:data:`MAX_SCALE`; or ``size``: the wanted
  width in pixels (:data:`MIN_SIZE`–:data:`MAX_SIZE`), from which the scale is derived;
- ``dark`` and ``light``: ``#rgb``, ``#rrggbb`` or ``#rrggbbaa``, or ``transparent`` for the
  light colour only. Both the same colour is refused: the code could not be scanned.

The code encodes the short URL with error correction level M (15 % of the code may be
damaged or covered and it still scans), a good default for printed flyers.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import segno

from townsquare.errors import ValidationError
from townsquare.messages import Message

KINDS = ("svg", "png")
MIN_SCALE, MAX_SCALE, DEFAULT_SCALE = 1, 40, 8
MIN_SIZE, MAX_SIZE = 64, 4000
BORDER = 4  # modules of quiet zone around the code, as the QR standard asks
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


@dataclass(frozen=True)
class QrOptions:
    kind: str = "svg"
    scale: int = DEFAULT_SCALE
    dark: str = "#000000"
    light: str = "#ffffff"


def _colour(value: str, *, field: str, allow_transparent: bool) -> str:
    text = value.strip().lower()
    if allow_transparent and text in ("transparent", "none"):
        return "transparent"
    if not _HEX.match(text):
        extra = Message(" or 'transparent'") if allow_transparent else ""
        raise ValidationError(
            "invalid %(field)s colour %(value)r: use a hex colour such as #1a2b3c%(extra)s",
            params={"field": field, "value": value, "extra": extra},
            field=field,
        )
    if len(text) == 4:  # #rgb → #rrggbb so two spellings of a colour compare equal
        text = "#" + "".join(ch * 2 for ch in text[1:])
    return text


def options(
    *,
    kind: str = "svg",
    scale: int | None = None,
    size: int | None = None,
    dark: str = "#000000",
    light: str = "#ffffff",
    url: str = "",
) -> QrOptions:
    """Checked options; ``size`` (pixels) needs ``url`` to know how many modules there are."""
    clean_kind = (kind or "").strip().lower()
    if clean_kind not in KINDS:
        raise ValidationError(
            "unknown QR format %(kind)r: choose %(choices)s",
            params={"kind": kind, "choices": " or ".join(KINDS)},
            field="format",
        )
    dark_colour = _colour(dark, field="dark", allow_transparent=False)
    light_colour = _colour(light, field="light", allow_transparent=True)
    if dark_colour == light_colour:
        raise ValidationError(
            "dark and light colours are the same: the QR code could not be scanned",
            field="light",
        )
    if scale is not None and size is not None:
        raise ValidationError("give either a scale or a size, not both", field="size")
    if size is not None:
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValidationError(
                "QR size %(size)s is out of range: use %(min_size)s to %(max_size)s pixels",
                params={"size": size, "min_size": MIN_SIZE, "max_size": MAX_SIZE},
                field="size",
            )
        modules = segno.make(url or "x", error="m", micro=False).symbol_size(scale=1, border=BORDER)
        scale = max(MIN_SCALE, min(MAX_SCALE, int(size // modules[0])))
    chosen = DEFAULT_SCALE if scale is None else scale
    if not MIN_SCALE <= chosen <= MAX_SCALE:
        raise ValidationError(
            "QR scale %(scale)s is out of range: use %(min_scale)s to %(max_scale)s pixels per "
            "module",
            params={"scale": chosen, "min_scale": MIN_SCALE, "max_scale": MAX_SCALE},
            field="scale",
        )
    return QrOptions(kind=clean_kind, scale=chosen, dark=dark_colour, light=light_colour)


def render(url: str, opts: QrOptions) -> bytes:
    """The QR code of ``url`` as SVG or PNG bytes."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    light = None if opts.light == "transparent" else opts.light
    if opts.kind == "svg":
        code.save(
            out,
            kind="svg",
            scale=opts.scale,
            border=BORDER,
            dark=opts.dark,
            light=light,
            xmldecl=False,
            title=url,
        )
    else:
        code.save(out, kind="png", scale=opts.scale, border=BORDER, dark=opts.dark, light=light)
    return out.getvalue()
