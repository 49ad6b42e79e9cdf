"""Procedural shots: 14 kinds of 320x240 scenes (textures, palettes, moving shapes, camera pans), numpy only.

Every renderer has the signature `(rng, pal, n_frames, ids) -> uint8 (len(ids), H, W, 3)`: it draws all its
random numbers up front for the whole shot of `n_frames` frames, then renders only the frames `ids`, so a
frame's pixels never depend on which other frames were asked for (the feature proxies render 12 frames,
the encoder all 72). `pal` is the shot's palette, (k, 3) float RGB already jittered per video.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

H, W = 240, 320
FPS = 12
SECONDS = 6
N_FRAMES = FPS * SECONDS

PALETTES: dict[str, np.ndarray] = {k: np.array(v, dtype=np.float32) for k, v in {
    "sky": [(40, 90, 190), (170, 200, 235), (245, 245, 250), (40, 55, 35)],
    "grass": [(30, 90, 30), (95, 165, 60), (60, 120, 40)],
    "water": [(10, 50, 110), (40, 120, 170), (220, 235, 245)],
    "sand": [(200, 175, 130), (235, 215, 170), (150, 120, 85)],
    "court": [(185, 120, 60), (215, 160, 95), (245, 245, 240), (230, 100, 20), (150, 30, 40)],
    "crowd": [(35, 35, 40), (225, 180, 150), (140, 95, 70), (200, 30, 40), (30, 60, 160), (240, 240, 240),
              (240, 200, 40)],
    "neon": [(8, 5, 15), (255, 40, 200), (40, 230, 255), (120, 255, 60), (150, 60, 255)],
    "tiles": [(200, 200, 195), (110, 110, 115), (60, 60, 60)],
    "shelves": [(230, 225, 210), (90, 70, 50), (220, 40, 40), (40, 120, 220), (250, 200, 40), (60, 170, 80),
                (240, 120, 30), (160, 60, 170)],
    "brick": [(150, 60, 40), (105, 45, 35), (190, 180, 165)],
    "spotlight": [(10, 10, 20), (250, 240, 210), (120, 150, 255), (40, 35, 60)],
    "foliage": [(20, 70, 25), (100, 170, 60), (240, 120, 170), (250, 220, 60), (220, 40, 50), (245, 245, 245)],
    "rails": [(120, 120, 125), (240, 210, 30), (180, 185, 190), (180, 30, 30), (30, 40, 50), (20, 20, 20)],
    "candle": [(25, 12, 8), (70, 40, 20), (255, 180, 80), (255, 120, 40)],
}.items()}

_Y = np.arange(H, dtype=np.float32)[:, None]
_X = np.arange(W, dtype=np.float32)[None, :]


# ----------------------------------------------------------------------------------------------- helpers


def lowfreq(rng: np.random.Generator, h: int, w: int, cell_y: float, cell_x: float | None = None) -> np.ndarray:
    """Smooth value noise in [0, 1], (h, w) float32: a random grid bilinearly upsampled."""
    cell_x = cell_y if cell_x is None else cell_x
    grid = rng.random((int(h / cell_y) + 2, int(w / cell_x) + 2), dtype=np.float32)
    ys, xs = np.arange(h, dtype=np.float32) / cell_y, np.arange(w, dtype=np.float32) / cell_x
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    rows = grid[y0] * (1 - fy) + grid[y0 + 1] * fy  # (h, gw)
    return rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx


def _mix(field: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """Per-pixel blend of two colours by a [0, 1] field: (h, w) -> (h, w, 3) float32."""
    return c0 + field[..., None] * (c1 - c0)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def _upsample2(dst: np.ndarray, img: np.ndarray) -> None:
    """Write (h, w, 3) doubled into the contiguous (2h, 2w, 3) dst (columns doubled once, then each row
    written twice: 3x faster than one broadcast assignment)."""
    h, w, c = img.shape
    wide = np.repeat(img, 2, axis=1)
    rows = dst.reshape(h, 2, 2 * w, c)
    rows[:, 0] = wide
    rows[:, 1] = wide


def _pan(tex: np.ndarray, ids: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Frames cut from a larger texture at per-frame offsets (a camera pan with hand shake)."""
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        out[k] = tex[ys[f]:ys[f] + H, xs[f]:xs[f] + W]
    return out


def _pan_offsets(rng: np.random.Generator, n: int, speed: tuple[float, float], shake: int = 3):
    """x offsets of a pan of random speed and direction, y offsets of a hand shake; texture size needed."""
    v = rng.uniform(*speed) * rng.choice([-1.0, 1.0])
    span = int(np.ceil(abs(v) * n)) + 1
    xs = (np.arange(n) * v).round().astype(np.int64)
    xs -= xs.min()
    ys = np.clip(np.cumsum(rng.integers(-1, 2, n)), -shake, shake) + shake
    return xs, ys.astype(np.int64), W + span, H + 2 * shake + 1


def _sprite(radius: float) -> np.ndarray:
    r = int(np.ceil(radius * 2.5))
    d = np.arange(-r, r + 1, dtype=np.float32)
    return np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * radius**2))


def _stamp(img: np.ndarray, sprite: np.ndarray, cy: float, cx: float, colour: np.ndarray) -> None:
    """Add a coloured glow (sprite * colour) centred at (cy, cx) into a float32 image, clipped at the edges."""
    r = sprite.shape[0] // 2
    y0, x0 = int(cy) - r, int(cx) - r
    ya, xa = max(y0, 0), max(x0, 0)
    yb, xb = min(y0 + sprite.shape[0], img.shape[0]), min(x0 + sprite.shape[1], img.shape[1])
    if ya < yb and xa < xb:
        img[ya:yb, xa:xb] += sprite[ya - y0:yb - y0, xa - x0:xb - x0, None] * colour


def _cells(h: int, w: int, ch: int, cw: int):
    """Cell row/col index and in-cell coordinates of every pixel of an (h, w) image, as a column (h, 1) and a
    row (1, w) that broadcast to it (the same values as full grids, without computing them per pixel)."""
    yy, xx = np.arange(h)[:, None], np.arange(w)[None, :]
    return yy // ch, xx // cw, (yy % ch).astype(np.float32), (xx % cw).astype(np.float32)


# ------------------------------------------------------------------------------------------------ shots


def sky(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.3, 1.5))
    y = np.linspace(0, 1, th, dtype=np.float32)[:, None]
    base = _mix(np.broadcast_to((1 - y) ** 1.3, (th, tw)), pal[1], pal[0])
    clouds = np.clip((lowfreq(rng, th, tw, 48) - 0.45) / 0.3, 0, 1) * (1 - 0.6 * y)
    tex = base + clouds[..., None] * (pal[2] - base)
    ground = rng.integers(0, 60) + 25 * lowfreq(rng, 1, tw, 1, 40)[0]  # hills/buildings skyline
    tex[np.arange(th)[:, None] > th - ground[None, :]] = pal[3]
    return _pan(_u8(tex), ids, xs, ys)


def grass(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.5, 3.0))
    fine = rng.random((th, tw), dtype=np.float32)
    period = rng.uniform(30, 60)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(tw, dtype=np.float32) / period)[None, :]
    field = 0.45 * fine + 0.35 * stripes + 0.2 * lowfreq(rng, th, tw, 20)
    return _pan(_u8(_mix(field, pal[0], pal[1])), ids, xs, ys)


def water(rng, pal, n, ids):
    h2, w2 = H // 2, W // 2  # smooth waves: render at half size, upsample
    lam, omega, wob = rng.uniform(5, 11), rng.uniform(0.2, 0.5), rng.uniform(0.5, 2.0)
    a = 2 * np.pi * np.arange(h2, dtype=np.float32)[:, None] / lam
    sin_a, cos_a = np.sin(a), np.cos(a)  # phase = a(y) + b(x, f): the angle-sum rule keeps it separable
    x2 = np.arange(w2, dtype=np.float32)[None, :]
    base = _mix(np.broadcast_to(np.linspace(0, 1, h2, dtype=np.float32)[:, None], (h2, w2)), pal[0], pal[1])
    sparkle = (rng.random((h2, w2 + 2 * n), dtype=np.float32) > 0.985).astype(np.float32)
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        b = wob * np.sin(x2 / 18 + 0.1 * f) - omega * f
        m = 0.3 + 0.3 * (sin_a * np.cos(b) + cos_a * np.sin(b))
        m = np.maximum(m, sparkle[:, 2 * f:2 * f + w2])
        _upsample2(out[k], _u8(base + m[..., None] * (pal[2] - base) * 0.7))
    return out


def sand(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.5, 2.5))
    field = 0.5 * lowfreq(rng, th, tw, 30, 60) + 0.3 * rng.random((th, tw), dtype=np.float32)
    tex = _mix(field, pal[2], pal[1])
    prints = lowfreq(rng, th, tw, 6) > 0.92  # footprints
    tex[prints] = pal[2] * 0.8
    return _pan(_u8(tex), ids, xs, ys)


def court(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.5, 3.0))
    pw = rng.uniform(18, 30)
    plank = (np.arange(tw) / pw).astype(np.int64)
    tone = rng.random(plank.max() + 1, dtype=np.float32)[plank][None, :]
    field = 0.5 * tone + 0.5 * lowfreq(rng, th, tw, 40, 3)  # grain runs along the planks
    tex = _mix(field, pal[0], pal[1])
    cy, cx, r = rng.uniform(40, 200), rng.uniform(60, tw - 60), rng.uniform(50, 110)
    d = np.sqrt((np.arange(th)[:, None] - cy) ** 2 + (np.arange(tw)[None, :] - cx) ** 2)
    tex[d < r] = tex[d < r] * 0.6 + pal[4] * 0.4  # painted key
    tex[np.abs(d - r) < 2.5] = pal[2]
    tex[int(rng.uniform(20, th - 20)):][:3] = pal[2]
    frames = _pan(_u8(tex), ids, xs, ys)
    ball = _sprite(rng.uniform(4, 6)) > 0.3
    x0, vx, floor, hop, om = rng.uniform(0, W), rng.uniform(-8, 8), rng.uniform(150, 220), rng.uniform(40, 120), \
        rng.uniform(0.3, 0.6)
    for k, f in enumerate(ids):
        by, bx = floor - hop * abs(np.sin(om * f)), (x0 + vx * f) % W
        r = ball.shape[0] // 2
        y0, x0b = int(by) - r, int(bx) - r
        ya, xa, yb, xb = max(y0, 0), max(x0b, 0), min(y0 + 2 * r + 1, H), min(x0b + 2 * r + 1, W)
        if ya < yb and xa < xb:
            frames[k, ya:yb, xa:xb][ball[ya - y0:yb - y0, xa - x0b:xb - x0b]] = pal[3].astype(np.uint8)
    return frames


def crowd(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.5, 3.0), shake=5)
    ch, cw = int(rng.uniform(20, 30)), int(rng.uniform(14, 22))
    ci, cj, ly, lx = _cells(th, tw, ch, cw)
    jitter = rng.uniform(-3, 3, (ci.max() + 1, cj.max() + 1, 2)).astype(np.float32)
    skin = np.where(rng.random(jitter.shape[:2])[..., None] < 0.5, pal[1], pal[2])
    shirt = pal[3:][rng.integers(0, len(pal) - 3, jitter.shape[:2])]
    jy, jx = jitter[ci, cj, 0], jitter[ci, cj, 1]
    head = (lx - cw / 2 - jx) ** 2 + (ly - ch * 0.35 - jy) ** 2 < (cw * 0.3) ** 2
    body = (ly > ch * 0.62 + jy) & (np.abs(lx - cw / 2 - jx) < cw * 0.42)
    tex = _mix(lowfreq(rng, th, tw, 30), pal[0], pal[0] * 1.8)
    tex[body] = shirt[ci, cj][body]
    tex[head] = skin[ci, cj][head]
    frames = _pan(_u8(tex), ids, xs, ys)
    flash = rng.random(n) < 0.08  # camera flashes
    brighter = _u8(np.arange(256) * 1.6 + 40)  # what each uint8 value becomes: a table, not float math per pixel
    for k, f in enumerate(ids):
        if flash[f]:
            frames[k] = brighter[frames[k]]
    return frames


def neon(rng, pal, n, ids):
    h2, w2 = H // 2, W // 2  # soft glows: render at half size, upsample
    bg = _mix(lowfreq(rng, h2, w2, 30), pal[0], pal[0] * 3)
    k_blobs = rng.integers(4, 8)
    sprites = [_sprite(r) for r in rng.uniform(7, 16, k_blobs)]
    colours = pal[1:][rng.integers(0, len(pal) - 1, k_blobs)]
    amp = rng.uniform(20, 70, (k_blobs, 2))
    om = rng.uniform(0.05, 0.3, (k_blobs, 2))
    ph = rng.uniform(0, 2 * np.pi, (k_blobs, 2))
    centre = np.stack([rng.uniform(20, h2 - 20, k_blobs), rng.uniform(20, w2 - 20, k_blobs)], 1)
    strobe = rng.choice([0.45, 1.0, 1.0, 1.35], n)
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        img = bg.copy()
        pos = centre + amp * np.sin(om * f + ph)
        for s, (cy, cx), c in zip(sprites, pos, colours, strict=True):
            _stamp(img, s, cy, cx, c)
        _upsample2(out[k], _u8(img * strobe[f]))
    return out


def tiles(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.5, 3.0))
    size, ang = rng.uniform(20, 44), rng.uniform(-0.35, 0.35)
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    u, v = (xx * np.cos(ang) + yy * np.sin(ang)) / size, (-xx * np.sin(ang) + yy * np.cos(ang)) / size
    check = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
    tex = _mix(check * 0.8 + 0.2 * lowfreq(rng, th, tw, 50), pal[0], pal[1])
    grout = (u % 1 < 0.06) | (v % 1 < 0.06)
    tex[grout] = pal[2]
    return _pan(_u8(tex), ids, xs, ys)


def shelves(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (1.0, 4.0))
    n_rows = rng.integers(4, 7)
    rh = th / n_rows
    tex = _mix(lowfreq(rng, th, tw, 40) * 0.3, pal[0], pal[0] * 0.7)
    col = np.arange(tw)
    for r in range(n_rows):
        widths = rng.uniform(8, 26, tw // 8 + 2)
        item = np.searchsorted(np.cumsum(widths), col)  # product under each column
        colour = pal[2:][rng.integers(0, len(pal) - 2, item.max() + 1)] * rng.uniform(0.7, 1.1, (item.max() + 1, 1))
        height = rng.uniform(0.4, 0.85, item.max() + 1) * rh
        top, bottom = int(r * rh), int((r + 1) * rh)
        rows = np.arange(top, bottom)[:, None]
        filled = rows > bottom - 6 - height[item][None, :]
        block = tex[top:bottom]
        block[filled] = np.broadcast_to(colour[item][None], block.shape)[filled]
        gap = (np.diff(item, prepend=-1) != 0)[None, :] & filled  # a dark edge between products
        block[gap] = pal[1]
        tex[bottom - 6:bottom] = pal[1]  # the shelf board
    return _pan(_u8(tex), ids, xs, ys)


def brick(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.2, 1.5))
    bh = int(rng.uniform(14, 22))
    bw = int(bh * rng.uniform(2.2, 3.0))
    yy, xx = np.mgrid[0:th, 0:tw]
    row = yy // bh
    xo = xx + (row % 2) * (bw // 2)
    col = xo // bw
    tone = rng.random((row.max() + 1, col.max() + 1), dtype=np.float32)
    tex = _mix(tone[row, col] * 0.7 + 0.3 * rng.random((th, tw), dtype=np.float32), pal[1], pal[0])
    tex[((yy % bh) < 2) | ((xo % bw) < 2)] = pal[2]
    vignette = 1 - 0.5 * (((yy - th / 2) / th) ** 2 + ((xx - tw / 2) / tw) ** 2)[..., None] * 2
    return _pan(_u8(tex * vignette * rng.uniform(0.6, 1.0)), ids, xs, ys)


def spotlight(rng, pal, n, ids):
    h2, w2 = H // 2, W // 2  # lights are soft: compute at half size, upsample
    y2, x2 = np.mgrid[0:h2, 0:w2].astype(np.float32)
    bg = _mix(lowfreq(rng, h2, w2, 25), pal[0], pal[3])
    k_cones = rng.integers(1, 4)
    colour = pal[1:3][rng.integers(0, 2, k_cones)]
    amp, om, ph = rng.uniform(20, 60, k_cones), rng.uniform(0.05, 0.2, k_cones), rng.uniform(0, 6.3, k_cones)
    base_x, top_x = rng.uniform(30, w2 - 30, k_cones), rng.uniform(0, w2, k_cones)
    performer_x = rng.uniform(50, w2 - 50)
    # the same arithmetic on a column and a row, broadcast: (h2, 1) and (1, w2) terms instead of full grids
    yc, xr = y2[:, :1], x2[:1, :]
    t = yc / (h2 * 0.8)  # 0 at the lamp, 1 on the floor
    width, fade = 4 + 22 * t, np.clip(1.2 - t * 0.3, 0, 1)
    floor = ((yc - h2 * 0.8) / 8) ** 2
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        img = bg.copy()
        for c in range(k_cones):
            cx = base_x[c] + amp[c] * np.sin(om[c] * f + ph[c])
            centre = top_x[c] + (cx - top_x[c]) * t
            beam = np.clip(1 - np.abs(xr - centre) / width, 0, 1) * fade * 0.6
            pool = np.clip(1 - ((xr - cx) / 30) ** 2 - floor, 0, 1)
            img += (np.maximum(beam, pool))[..., None] * colour[c]
        px = performer_x + 6 * np.sin(0.2 * f)
        body = (np.abs(xr - px) < 6) & (yc > h2 * 0.5) & (yc < h2 * 0.85)
        head = (xr - px) ** 2 + (yc - h2 * 0.45) ** 2 < 25
        img[body | head] = pal[0]
        _upsample2(out[k], _u8(img))
    return out


def foliage(rng, pal, n, ids):
    xs, ys, tw, th = _pan_offsets(rng, n, (0.3, 2.0))
    sway = (4 * np.sin(0.3 * np.arange(n) + rng.uniform(0, 6.3))).round().astype(np.int64) + 4
    tw += 8
    field = 0.5 * lowfreq(rng, th, tw, 14) + 0.3 * lowfreq(rng, th, tw, 4) + 0.2 * rng.random((th, tw))
    tex = _mix(field.astype(np.float32), pal[0], pal[1])
    cs = int(rng.uniform(14, 28))
    ci, cj, ly, lx = _cells(th, tw, cs, cs)
    has = rng.random((ci.max() + 1, cj.max() + 1)) < rng.uniform(0.15, 0.5)
    colour = pal[2:][rng.integers(0, len(pal) - 2, has.shape)]
    rad = rng.uniform(2.5, 6, has.shape)
    flower = has[ci, cj] & ((ly - cs / 2) ** 2 + (lx - cs / 2) ** 2 < rad[ci, cj] ** 2)
    tex[flower] = colour[ci, cj][flower]
    return _pan(_u8(tex), ids, xs + sway, ys)


def rails(rng, pal, n, ids):
    v = rng.uniform(10, 28)
    horizon = int(rng.uniform(0.62, 0.8) * H)
    tw = W + int(v * n) + 40
    car_len = rng.uniform(120, 200)
    car = (np.arange(tw) / car_len).astype(np.int64)
    body = pal[2:4][rng.integers(0, 2, car.max() + 1)][car]  # (tw, 3)
    x_in_car = np.arange(tw) % car_len
    window = ((x_in_car % 30) > 12) & (x_in_car > 10) & (x_in_car < car_len - 10)
    yy = np.arange(horizon)[:, None]
    tex = np.broadcast_to(body[None], (horizon, tw, 3)).copy()
    tex[(yy > horizon * 0.2) & (yy < horizon * 0.45) & window[None, :]] = pal[4]
    tex[:, (x_in_car < 6) | (x_in_car > car_len - 6)] = pal[5]  # gaps between cars
    k = max(int(v * 0.6), 1)  # motion blur: box filter as wide as the per-frame motion
    csum = np.cumsum(np.pad(tex, ((0, 0), (k, 0), (0, 0))), axis=1, dtype=np.float32)
    tex = _u8((csum[:, k:] - csum[:, :-k]) / k)
    platform = _mix(lowfreq(rng, H - horizon, W, 20) * 0.5, pal[0], pal[0] * 1.3)
    platform[4:12] = pal[1]  # the yellow safety line
    platform = _u8(platform)
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k_, f in enumerate(ids):
        x = int(v * f)
        out[k_, :horizon] = tex[:, x:x + W]
        out[k_, horizon:] = platform
    return out


def candle(rng, pal, n, ids):
    h2, w2 = H // 2 + 4, W // 2 + 4  # soft glows: render at half size (plus a shake margin), upsample
    ys = np.clip(np.cumsum(rng.integers(-1, 2, n)), -2, 2) + 2
    xs = np.clip(np.cumsum(rng.integers(-1, 2, n)), -2, 2) + 2
    bg = _mix(lowfreq(rng, h2, w2, 20), pal[0], pal[0] * 2.5)
    table = int(rng.uniform(0.55, 0.75) * h2)
    bg[table:] = _mix(lowfreq(rng, h2 - table, w2, 10), pal[1] * 0.6, pal[1])
    k_glow = rng.integers(3, 9)
    sprites = [_sprite(r) for r in rng.uniform(3, 9, k_glow)]
    pos = np.stack([rng.uniform(h2 * 0.3, table + 10, k_glow), rng.uniform(5, w2 - 5, k_glow)], 1)
    colour = pal[2:][rng.integers(0, 2, k_glow)]
    flicker = rng.uniform(0.6, 1.1, (n, k_glow))
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        img = bg[ys[f]:ys[f] + H // 2, xs[f]:xs[f] + W // 2].copy()
        for g in range(k_glow):
            _stamp(img, sprites[g], pos[g, 0] - ys[f], pos[g, 1] - xs[f], colour[g] * flicker[f, g])
        _upsample2(out[k], _u8(img))
    return out


SHOTS: dict[str, Callable] = {f.__name__: f for f in (
    sky, grass, water, sand, court, crowd, neon, tiles, shelves, brick, spotlight, foliage, rails, candle)}


# ------------------------------------------------------------------------------------------- whole video


def _hue_matrix(degrees: float) -> np.ndarray:
    """RGB rotation about the grey axis (a hue shift that keeps brightness)."""
    a = np.deg2rad(degrees)
    c, s, k = np.cos(a), np.sin(a), (1 - np.cos(a)) / 3
    r = np.sqrt(1 / 3) * s
    return np.array([[c + k, k - r, k + r], [k + r, c + k, k - r], [k - r, k + r, c + k]], dtype=np.float32)


def _nuisance(seed_key: tuple[int, ...]) -> tuple:
    """The per-video camera: hue shift, exposure and white balance, contrast, palette jitter, sensor noise."""
    rng = np.random.default_rng([*seed_key, 0])
    hue = _hue_matrix(rng.normal(0, 14))
    gain = rng.uniform(0.7, 1.25) * rng.uniform(0.9, 1.1, 3)  # exposure and white balance
    contrast, pal_jitter = rng.uniform(0.75, 1.15), rng.uniform(6, 22)
    noise_sigma = rng.uniform(1.5, 5)
    noise = rng.normal(0, noise_sigma, (H + 16, W + 16, 3)).astype(np.int16)
    noise_xy = rng.integers(0, 16, (N_FRAMES, 2))
    # the tile's positive and negative parts (|noise| < 255), for saturating uint8 arithmetic in _add_noise
    up, down = np.maximum(noise, 0).astype(np.uint8), np.maximum(-noise, 0).astype(np.uint8)
    return hue, gain, contrast, pal_jitter, (up, down), noise_xy


def _shot(camera: tuple, seed_key: tuple[int, ...], k: int, shot: str, nf: int, ids: np.ndarray) -> np.ndarray:
    """Frames `ids` (within the shot) of shot k, before the sensor noise."""
    hue, gain, contrast, pal_jitter = camera[:4]
    shot_rng = np.random.default_rng([*seed_key, 1, k])
    pal = PALETTES[shot] @ hue.T + shot_rng.normal(0, pal_jitter, PALETTES[shot].shape)
    pal = (pal - 128) * contrast * gain + 128 * gain  # exposure, white balance: affine, so on the palette
    return SHOTS[shot](shot_rng, np.clip(pal, 0, 255).astype(np.float32), nf, ids)


def _add_noise(frames: np.ndarray, ids: np.ndarray, camera: tuple) -> np.ndarray:
    """Sensor noise in place, clip(frame + noise, 0, 255): one tile, shifted per frame (drawing fresh noise for
    72 frames costs more than the scene); frame by frame, so the work stays in cache; in uint8, as a saturating
    add of the tile's positive part and a saturating subtract of its negative part."""
    (up, down), noise_xy = camera[4:]
    room = np.empty((H, W, 3), dtype=np.uint8)
    for k, f in enumerate(ids):
        dy, dx = noise_xy[f]
        frame, plus, minus = frames[k], up[dy:dy + H, dx:dx + W], down[dy:dy + H, dx:dx + W]
        np.subtract(255, plus, out=room)
        np.minimum(frame, room, out=frame)
        frame += plus  # min(frame + plus, 255)
        np.maximum(frame, minus, out=frame)
        frame -= minus  # max(frame - minus, 0)
    return frames


def render_frames(shots: tuple[str, ...], shot_frames: tuple[int, ...], seed_key: tuple[int, ...],
                  ids: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB frames (len(ids), H, W, 3) of a shot sequence with per-video nuisance; all 72 if ids is None.

    `seed_key` seeds everything (per video, then per shot), so any subset of frames renders identically.
    """
    ids = np.arange(N_FRAMES) if ids is None else np.asarray(ids, dtype=np.int64)
    camera = _nuisance(seed_key)
    out = np.empty((len(ids), H, W, 3), dtype=np.uint8)
    start = 0
    for k, (shot, nf) in enumerate(zip(shots, shot_frames, strict=True)):
        sel = (ids >= start) & (ids < start + nf)
        if sel.any():
            out[sel] = _shot(camera, seed_key, k, shot, nf, ids[sel] - start)
        start += nf
    return _add_noise(out, ids, camera)


def render_shots(shots: tuple[str, ...], shot_frames: tuple[int, ...],
                 seed_key: tuple[int, ...]) -> Iterator[np.ndarray]:
    """All 72 frames shot by shot (what render_frames returns, split at the shots), the camera drawn once:
    for the encoder, which encodes one shot while the next renders."""
    camera = _nuisance(seed_key)
    start = 0
    for k, (shot, nf) in enumerate(zip(shots, shot_frames, strict=True)):
        ids = np.arange(nf)
        yield _add_noise(_shot(camera, seed_key, k, shot, nf, ids), ids + start, camera)
        start += nf
