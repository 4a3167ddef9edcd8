"""Data augmentation for image batches [N, C, H, W] (clnn_augment_*, src/nn/augment.c): random
shifts with zero padding, left-right flips, small rotations (bilinear) and additive Gaussian
noise, drawn from a seed and a per-batch stream, so the same settings give the same draws on every
machine. It runs in libclnn on the host, batch by batch, on a copy: the data never changes.

    aug = clnn.Augmentation(shift=1, rotate=10, noise=0.05, seed=0)
    net.fit(train, epochs=30, augment=aug)          # each training batch augmented, never validation
    train.augment(shift=1, rotate=10)               # or keep it with a Dataset (fit and
    net.fit(train, epochs=30)                       #   train_epoch use it)
    xa = aug(x, stream=3)                           # one batch by hand: a new array

The order and geometry (shift, rotation about the centre, counter-clockwise as displayed, then
the mirror) are described in include/clnn_nn.h at clnn_augment_options.
"""

import ctypes
import math

import numpy as np

from . import _lib as L
from ._core import _flag, _float, _int
from ._errors import invalid, shape_mismatch
from .ops import _u64

__all__ = ["Augmentation"]


class Augmentation:
    """Settings for per-batch augmentation of images [N, C, H, W].

    shift: the image moves by up to this many pixels each way (uniform integers, zero padding).
    hflip: mirror left-right with probability 1/2 (not for digits or text).
    rotate: turn by an angle uniform in [-rotate, rotate] degrees (0..180), bilinear.
    noise: standard deviation of Gaussian noise added to every value.
    seed: with the stream (fit passes its step count), fixes every draw."""

    def __init__(self, shift=0, hflip=False, rotate=0.0, noise=0.0, seed=0):
        self.shift = _int(shift, "shift")
        self.hflip = _flag(hflip, "hflip")
        self.rotate = _float(rotate, "rotate")
        self.noise = _float(noise, "noise")
        self.seed = _u64(seed, "seed")
        if self.shift < 0:
            raise invalid(f"Augmentation: shift is {self.shift}; it must be >= 0")
        if not (math.isfinite(self.rotate) and 0.0 <= self.rotate <= 180.0):
            raise invalid(f"Augmentation: rotate is {self.rotate}; it must be in 0..180 degrees")
        if not (math.isfinite(self.noise) and self.noise >= 0.0):
            raise invalid(f"Augmentation: noise is {self.noise}; it must be finite and >= 0")

    def _struct(self):
        o = L.AugmentOptions()
        L.load().clnn_augment_options_init(ctypes.byref(o))
        o.max_shift, o.hflip = self.shift, int(self.hflip)
        o.max_rotate_deg, o.noise_std, o.seed = self.rotate, self.noise, self.seed
        return o

    @classmethod
    def _from_struct(cls, o):
        return cls(shift=o.max_shift, hflip=bool(o.hflip), rotate=o.max_rotate_deg,
                   noise=o.noise_std, seed=o.seed)

    def __call__(self, x, stream=0, *, return_draws=False):
        """An augmented copy of x [N, C, H, W] (float32; x itself is not changed), drawn from
        (seed, stream). return_draws: also a list of dicts (dx, dy, flip, angle_deg) per image."""
        xa = np.array(x, dtype=np.float32, order="C", copy=True)
        if xa.ndim != 4 or xa.size == 0:
            raise shape_mismatch(f"Augmentation: x must be images [N, C, H, W]; got shape "
                                 f"{xa.shape}")
        n, c, h, w = xa.shape
        draws = (L.AugmentDraw * n)() if return_draws else None
        o = self._struct()
        L.check(L.load().clnn_augment_images(ctypes.byref(o), _u64(stream, "stream"), n, c, h, w,
                                             xa.ctypes.data_as(L.F), xa.size, draws,
                                             n if return_draws else 0))
        if not return_draws:
            return xa
        return xa, [dict(dx=d.dx, dy=d.dy, flip=bool(d.flip), angle_deg=float(d.angle_deg))
                    for d in draws]

    def __eq__(self, other):
        return isinstance(other, Augmentation) and self._key() == other._key()

    def _key(self):
        return (self.shift, self.hflip, np.float32(self.rotate), np.float32(self.noise),
                self.seed)

    def __repr__(self):
        return (f"clnn.Augmentation(shift={self.shift}, hflip={self.hflip}, "
                f"rotate={self.rotate:g}, noise={self.noise:g}, seed={self.seed})")
