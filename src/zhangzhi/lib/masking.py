"""Masking of personal data (PIPL, 数据保密性): phone and ID numbers shown where they are not needed whole.

One rule for every page, API answer and export: a mobile number keeps its first three and last
four digits (138****0000), an ID number its first three and last four characters; what is too
short to mask meaningfully is hidden whole. Pure functions, no Django.
"""

from __future__ import annotations

MASK = "*"


def mask_phone(phone: str | None) -> str:
    """"13800000000" → "138****0000"; "0353-1234567" → "035*****4567"; empty stays empty."""
    if not phone:
        return ""
    text = str(phone).strip()
    if len(text) < 7:
        return MASK * len(text)
    return text[:3] + MASK * max(4, len(text) - 7) + text[-4:]


def mask_id_number(number: str | None) -> str:
    """A resident ID (身份证号) or other identity number: "110101199003071234" → "110***********1234"."""
    if not number:
        return ""
    text = str(number).strip()
    if len(text) < 8:
        return MASK * len(text)
    return text[:3] + MASK * (len(text) - 7) + text[-4:]


def phone_for(phone: str | None, whole: bool) -> str:
    """The phone as a viewer may see it: whole when they need it, masked otherwise."""
    return (phone or "") if whole else mask_phone(phone)
