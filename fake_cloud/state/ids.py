"""Device id forms: hex for people and REST, decimal strings for device-facing sockets.

Seed 002 "Understanding Device IDs": hex ids are zero-padded to 6 or 12 characters and compared
case-insensitively; decimal is `String(parseInt(hex, 16))`. The cloud keeps one canonical form
(lowercase hex) and renders per surface (spec/cloud.md §1.2).
"""

import re

__all__ = ["hex_to_dec", "is_hex_id", "normalize_hex", "parse_id"]

_HEX = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{12}")
#: ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses.
_DEC = re.compile(r"[0-9]{1,15}")


def is_hex_id(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


def normalize_hex(text: str) -> str:
    return text.lower()


def hex_to_dec(hexid: str) -> str:
    return str(int(hexid, 16))


def dec_to_hex(dec: int) -> str:
    text = format(dec, "x")
    return text.zfill(6) if len(text) <= 6 else text.zfill(12)


def parse_id(raw: object, prefer_dec: bool) -> list[str]:
    """Candidate canonical ids for a client-supplied id, most likely first.

    A JSON number is decimal (the integrator doc's older `deviceId: number`). A string of digits
    is ambiguous ("123456" is valid hex too), so both readings are returned in preference order.
    """
    if isinstance(raw, bool):
        return []
    if isinstance(raw, int):
        return [dec_to_hex(raw)] if raw >= 0 else []
    if not isinstance(raw, str) or not raw:
        return []
    candidates: list[str] = []
    if _DEC.fullmatch(raw):
        candidates.append(dec_to_hex(int(raw)))
    if is_hex_id(raw):
        candidates.insert(0 if not prefer_dec else len(candidates), normalize_hex(raw))
    return candidates
