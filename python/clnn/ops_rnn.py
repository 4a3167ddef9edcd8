"""GRU operators (clnn_gru_forward / clnn_gru_backward), with the conventions of clnn.ops;
re-exported there and at the top level as clnn.gru, clnn.gru_backward, clnn.gru_reserve_size."""

import ctypes
from collections import namedtuple

from . import _lib as L
from ._core import as_int32_labels
from ._errors import invalid
from .ops import _Op, _flag, _float, _h, _out_tuple, _u64

__all__ = ["gru_reserve_size", "gru", "gru_backward"]

GRUResult = namedtuple("GRUResult", "y h_n reserve")
GRUGrads = namedtuple("GRUGrads", "dx dw_ih dw_hh db_ih db_hh dh0")


def gru_reserve_size(seq_len, batch, hidden):
    """Number of floats of the `reserve` tensor gru() writes for backward."""
    return int(L.load().clnn_gru_reserve_numel(_u64(seq_len, "seq_len"), _u64(batch, "batch"),
                                               _u64(hidden, "hidden")))


def _rnn_params(lengths, reverse, what):
    """(clnn_rnn_params pointer or None, objects to keep alive during the call) of optional
    per-sample lengths and the direction."""
    rev = int(_flag(reverse, "reverse"))
    if lengths is None and not rev:
        return None, None
    p = L.RnnParams(reverse=rev)
    a = None
    if lengths is not None:
        a = as_int32_labels(lengths, what).reshape(-1)
        if a.size == 0:
            raise invalid(f"{what} is empty")
        p.lengths = a.ctypes.data_as(L.I32)
        p.num_lengths = a.size
    return ctypes.byref(p), (p, a)


def gru(ctx, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, lengths=None, reverse=False):
    """One GRU layer (torch.nn.GRU's equations and layout: gates r, z, n) over a time-major
    sequence x [T, N, I] with w_ih [3H, I], w_hh [3H, H], biases [3H] and initial state
    h0 [N, H] (None: zeros). lengths: None or N ints in [1, T]; outputs past a sample's length
    are zero and h_n is its state at its last step. reverse=True: the reverse direction of a
    bidirectional GRU (each sample from its last position down to 0; y stays indexed by
    position). Returns (y [T, N, H], h_n, reserve); pass reserve (and the same lengths and
    reverse) to gru_backward."""
    with _Op(ctx, "gru", x, w_ih, w_hh, b_ih, b_hh, h0) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        tbi = op.input(b_ih, "b_ih", 1, optional=True)
        tbh = op.input(b_hh, "b_hh", 1, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        prm, _keep = _rnn_params(lengths, reverse, "gru: lengths")
        t, n, hid = tx.shape[0], tx.shape[1], twh.shape[1]
        y = op.output((t, n, hid), None, "y")
        hn = op.output((n, hid), None, "h_n")
        r = op.output((gru_reserve_size(t, n, hid),), None, "reserve")
        op.call(op.lib.clnn_gru_forward, op.h, prm, tx._handle(), twi._handle(), twh._handle(),
                _h(tbi), _h(tbh), _h(th0), y._handle(), hn._handle(), r._handle())
        return GRUResult(*op.ret((y, None), (hn, None), (r, None)))


def gru_backward(ctx, x, w_ih, w_hh, reserve, dy=None, dh_n=None, *, h0=None, lengths=None,
                 reverse=False, beta=0.0, out=None):
    """Backward through time of gru() (same x, weights, h0, lengths and reverse). dy [T, N, H] and
    dh_n [N, H] may each be None (zero). Returns (dx, dw_ih, dw_hh, db_ih, db_hh, dh0);
    out: a tuple of six (entries may be None)."""
    outs = _out_tuple(out, 6, "gru_backward")
    with _Op(ctx, "gru_backward", x, w_ih, w_hh, reserve, dy, dh_n, h0, outs) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        tr = op.input(reserve, "reserve", 1)
        tdy = op.input(dy, "dy", 3, optional=True)
        tdhn = op.input(dh_n, "dh_n", 2, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        prm, _keep = _rnn_params(lengths, reverse, "gru_backward: lengths")
        beta = _float(beta, "beta")
        n, hid = tx.shape[1], twh.shape[1]
        g = twi.shape[0]
        shapes = [tx.shape, twi.shape, twh.shape, (g,), (g,), (n, hid)]
        names = ["dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"]
        ts = [op.output(s, o, f"out[{i}] ({nm})", beta)
              for i, (s, o, nm) in enumerate(zip(shapes, outs, names))]
        op.call(op.lib.clnn_gru_backward, op.h, prm, tx._handle(), twi._handle(), twh._handle(),
                _h(th0), tr._handle(), _h(tdy), _h(tdhn), beta, *[t._handle() for t in ts])
        return GRUGrads(*op.ret(*zip(ts, outs)))
