"""LSTM operators: one fused gate step and a whole layer over a sequence, forward and backward
through time (src/ops/lstm.c)."""

from collections import namedtuple

from . import _lib as L
from ._core import _float
from ._op_call import _Op, _h, _out_tuple, _u64

__all__ = ["lstm_gates", "lstm_gates_backward", "lstm_reserve_size", "lstm", "lstm_backward"]

LSTMGates = namedtuple("LSTMGates", "c h")
LSTMGatesGrads = namedtuple("LSTMGatesGrads", "dgates dc_prev")
LSTMResult = namedtuple("LSTMResult", "y h_n c_n reserve")
LSTMGrads = namedtuple("LSTMGrads", "dx dw_ih dw_hh dbias dh0 dc0")


def lstm_gates(ctx, gates, c_prev):
    """One fused LSTM step from pre-activations gates [N, 4H] (order i, f, g, o) and
    c_prev [N, H]: returns (c, h)."""
    with _Op(ctx, "lstm_gates", gates, c_prev) as op:
        tg, tc = op.input(gates, "gates", 2), op.input(c_prev, "c_prev", 2)
        c = op.output(tc.shape, None, "c")
        h = op.output(tc.shape, None, "h")
        op.call(op.lib.clnn_lstm_gates_forward, op.h, tg._handle(), tc._handle(), c._handle(),
                h._handle())
        return LSTMGates(*op.ret((c, None), (h, None)))


def lstm_gates_backward(ctx, gates, c_prev, c, dh, dc=None):
    """(dgates [N, 4H], dc_prev [N, H]) of lstm_gates, from dh and (optionally) the dc arriving
    from the next step."""
    with _Op(ctx, "lstm_gates_backward", gates, c_prev, c, dh, dc) as op:
        tg, tcp = op.input(gates, "gates", 2), op.input(c_prev, "c_prev", 2)
        tc, tdh = op.input(c, "c", 2), op.input(dh, "dh", 2)
        tdc = op.input(dc, "dc", 2, optional=True)
        dg = op.output(tg.shape, None, "dgates")
        dcp = op.output(tcp.shape, None, "dc_prev")
        op.call(op.lib.clnn_lstm_gates_backward, op.h, tg._handle(), tcp._handle(), tc._handle(),
                tdh._handle(), _h(tdc), dg._handle(), dcp._handle())
        return LSTMGatesGrads(*op.ret((dg, None), (dcp, None)))


def lstm_reserve_size(seq_len, batch, hidden):
    """Number of floats of the `reserve` tensor lstm() writes for backward."""
    return int(L.load().clnn_lstm_reserve_numel(_u64(seq_len, "seq_len"), _u64(batch, "batch"),
                                                _u64(hidden, "hidden")))


def lstm(ctx, x, w_ih, w_hh, bias=None, h0=None, c0=None):
    """One LSTM layer over a time-major sequence x [T, N, I] with w_ih [4H, I], w_hh [4H, H],
    bias [4H] (gates i, f, g, o) and optional initial states h0, c0 [N, H].
    Returns (y [T, N, H], h_n, c_n, reserve); pass reserve to lstm_backward."""
    with _Op(ctx, "lstm", x, w_ih, w_hh, bias, h0, c0) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        tb = op.input(bias, "bias", 1, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        tc0 = op.input(c0, "c0", 2, optional=True)
        t, n, hid = tx.shape[0], tx.shape[1], twh.shape[1]
        y = op.output((t, n, hid), None, "y")
        hn = op.output((n, hid), None, "h_n")
        cn = op.output((n, hid), None, "c_n")
        r = op.output((lstm_reserve_size(t, n, hid),), None, "reserve")
        op.call(op.lib.clnn_lstm_forward, op.h, tx._handle(), twi._handle(), twh._handle(),
                _h(tb), _h(th0), _h(tc0), y._handle(), hn._handle(), cn._handle(), r._handle())
        return LSTMResult(*op.ret((y, None), (hn, None), (cn, None), (r, None)))


def lstm_backward(ctx, x, w_ih, w_hh, y, reserve, dy=None, dh_n=None, dc_n=None, *, h0=None,
                  c0=None, beta=0.0, out=None):
    """Backward through time of lstm(). dy [T, N, H], dh_n, dc_n [N, H] may each be None (zero).
    Returns (dx, dw_ih, dw_hh, dbias, dh0, dc0); out: a tuple of six (entries may be None)."""
    outs = _out_tuple(out, 6, "lstm_backward")
    with _Op(ctx, "lstm_backward", x, w_ih, w_hh, y, reserve, dy, dh_n, dc_n, h0, c0, outs) as op:
        tx = op.input(x, "x", 3)
        twi, twh = op.input(w_ih, "w_ih", 2), op.input(w_hh, "w_hh", 2)
        ty = op.input(y, "y", 3)
        tr = op.input(reserve, "reserve", 1)
        tdy = op.input(dy, "dy", 3, optional=True)
        tdhn = op.input(dh_n, "dh_n", 2, optional=True)
        tdcn = op.input(dc_n, "dc_n", 2, optional=True)
        th0 = op.input(h0, "h0", 2, optional=True)
        tc0 = op.input(c0, "c0", 2, optional=True)
        beta = _float(beta, "beta")
        n, hid = tx.shape[1], twh.shape[1]
        shapes = [tx.shape, twi.shape, twh.shape, (twi.shape[0],), (n, hid), (n, hid)]
        names = ["dx", "dw_ih", "dw_hh", "dbias", "dh0", "dc0"]
        ts = [op.output(s, o, f"out[{i}] ({nm})", beta)
              for i, (s, o, nm) in enumerate(zip(shapes, outs, names))]
        op.call(op.lib.clnn_lstm_backward, op.h, tx._handle(), twi._handle(), twh._handle(),
                _h(th0), _h(tc0), ty._handle(), tr._handle(), _h(tdy), _h(tdhn), _h(tdcn), beta,
                *[t._handle() for t in ts])
        return LSTMGrads(*op.ret(*zip(ts, outs)))
