"""Draws the app's icons (stdlib only: zlib + struct): a white shield with a green tick on the app's green.

Run `python -m pwa.make_icons` to regenerate pwa/static/pwa/icons/*.png (the PNGs are committed)."""

import struct
import zlib
from pathlib import Path

GREEN = (0x1F, 0x6F, 0x50)
WHITE = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parent / "static" / "pwa" / "icons"


def _inside_shield(x: float, y: float) -> bool:
    """Unit square coordinates (0..1), the shield centred: flat top, straight sides, pointed bottom."""
    if y < 0.18 or y > 0.86 or x < 0.24 or x > 0.76:
        return False
    if y <= 0.55:
        return True
    half = 0.26 * (1 - (y - 0.55) / 0.31)  # sides meet at the point
    return abs(x - 0.5) <= half


def _on_tick(x: float, y: float) -> bool:
    def near(ax, ay, bx, by, width=0.045):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= width * width

    return near(0.37, 0.5, 0.47, 0.61) or near(0.47, 0.61, 0.65, 0.38)


def draw(size: int, *, maskable: bool = False) -> bytes:
    scale = 0.72 if maskable else 1.0  # maskable icons keep their content in the central safe zone
    radius = 0 if maskable else size * 0.18
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            cx, cy = px + 0.5, py + 0.5
            corner_x = min(cx, size - cx)
            corner_y = min(cy, size - cy)
            outside = (
                radius
                and corner_x < radius
                and corner_y < radius
                and (radius - corner_x) ** 2 + (radius - corner_y) ** 2 > radius**2
            )
            if outside:
                row += bytes((0, 0, 0, 0))
                continue
            x = 0.5 + (cx / size - 0.5) / scale
            y = 0.5 + (cy / size - 0.5) / scale
            colour = WHITE if _inside_shield(x, y) and not _on_tick(x, y) else GREEN
            row += bytes((*colour, 255))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(draw(192))
    (OUT / "icon-512.png").write_bytes(draw(512))
    (OUT / "icon-maskable-512.png").write_bytes(draw(512, maskable=True))


if __name__ == "__main__":
    main()
