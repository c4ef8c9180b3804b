"""The HJ 212 CRC (Appendix A) and the CRC-16/MODBUS variant some non-conforming devices send. Pure Python."""

from __future__ import annotations

__all__ = ["crc16", "crc16_modbus"]


def _hj212_step_table() -> tuple[int, ...]:
    # The HJ 212 CRC XORs each byte into ``reg >> 8`` (not into the whole register as Modbus does), so
    # the state entering the 8 shift rounds is a single byte: one table lookup per byte replaces them.
    table = []
    for x in range(256):
        reg = x
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
        table.append(reg)
    return tuple(table)


_HJ_TABLE = _hj212_step_table()
# The classic reflected CRC-16 table (poly 0xA001), used by the Modbus variant some devices send.
_MODBUS_TABLE = _HJ_TABLE


# The HJ 212 step only keeps the high byte h of the register: h' = M(h ^ b) with M(x) = T[x] >> 8, a linear
# map over GF(2)^8 whose 8th power is the identity. So the state before the last step is the XOR, over the
# bytes, of M^k(byte) with k its distance from the end mod 8 (plus M^(n-1) of the initial high byte): fold
# the segment, read as one integer, to 8 bytes (byte k = XOR of the bytes at distances = k mod 8; C-speed
# big-integer shifts and XORs), then map those 8 bytes (as four 16-bit words) through precomputed tables.
_M = [t >> 8 for t in _HJ_TABLE]
_POW = [list(range(256))]
for _ in range(7):
    _POW.append([_M[x] for x in _POW[-1]])
_PAIRS = [[_POW[k][w & 0xFF] ^ _POW[k + 1][w >> 8] for w in range(65536)] for k in (0, 2, 4, 6)]
_FOLD_MASKS: dict[int, int] = {}


def crc16(data: bytes, reg: int = 0xFFFF) -> int:
    """HJ 212 CRC (Appendix A) of ``data``, the data segment bytes only.

    ``reg`` continues from the CRC of a prefix: ``crc16(b, crc16(a)) == crc16(a + b)`` (the simulator
    frames thousands of packets that share all but their last bytes).
    """
    n = len(data)
    if n < 24:  # the byte loop (one lookup per byte) is quicker for short inputs
        table = _HJ_TABLE
        for b in data:
            reg = table[(reg >> 8) ^ b]
        return reg
    v = int.from_bytes(data, "big")
    blocks = (n + 7) >> 3  # 64-bit blocks, folded in halves until one is left
    masks = _FOLD_MASKS
    while blocks > 1:
        blocks = (blocks + 1) >> 1
        mask = masks.get(blocks)
        if mask is None:
            mask = masks[blocks] = (1 << (blocks << 6)) - 1
        v = (v >> (blocks << 6)) ^ (v & mask)
    q0, q1, q2, q3 = _PAIRS
    return _HJ_TABLE[_POW[(n - 1) & 7][reg >> 8] ^ q0[v & 0xFFFF] ^ q1[(v >> 16) & 0xFFFF]
                     ^ q2[(v >> 32) & 0xFFFF] ^ q3[v >> 48]]


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS of ``data`` (what non-conforming devices send, printed low byte first)."""
    table = _MODBUS_TABLE
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ table[(reg ^ b) & 0xFF]
    return reg
