"""Every public clnn operator, forward and backward, with keyword arguments.

Conventions (the same for every function here):

- The first argument is the Context. Array arguments are NumPy arrays (or anything
  numpy.asarray accepts; converted by the rule of clnn.as_float32) or clnn.Tensors on that
  context.
- Results: NumPy in, NumPy out. If no array argument is a Tensor, inputs are uploaded, the
  operator runs, and results come back as new float32 NumPy arrays. If any array argument is a
  Tensor, new results are Tensors on the context and nothing is read back (chain operators on
  the device; call .numpy() when you want the values). Losses and norms are Python floats.
- ``out=``: write the result into an existing Tensor, or into a writable C-contiguous float32
  NumPy array of the right shape; the function then returns `out`. Operators with several
  results take a tuple (entries may be None). Backward operators take ``beta``: 0 overwrites
  the gradient, 1 adds to it; beta != 0 needs ``out=`` (what to add to).
- In-place operators (scale, axpy, bias_add, the optimizer steps, clip_grad_norm, batch norm's
  running statistics) update their Tensor arguments in place; given NumPy arrays, those must be
  writable C-contiguous float32 arrays, which are updated in place too. They return None (or the
  norm).
- Every failure raises clnn.Error with .status and the library's message; nothing is written to
  any output when a call fails.

Each family lives in its own module (mirroring src/ops/): ops_gemm, ops_activation,
ops_elementwise, ops_softmax, ops_loss, ops_dropout, ops_dense, ops_conv, ops_pool,
ops_batchnorm, ops_lstm, ops_optim; _op_call holds the call machinery they share. This module
gathers them: import operators from here (or from clnn).
"""

# names this module has always offered besides the operators, and the helpers other modules
# import from here (graph.py, nn.py, _args.py, augment.py, _model.py)
from ._core import Context, Tensor, as_float32, as_int32_labels  # noqa: F401
from ._core import _flag, _float, _int  # noqa: F401
from ._errors import Error, invalid, shape_mismatch  # noqa: F401
from ._op_call import _Op, _cint, _h, _out_tuple, _u64  # noqa: F401
from .ops_activation import _act  # noqa: F401
from .ops_conv import _conv_params  # noqa: F401
from .ops_pool import _pool_params  # noqa: F401
# the result types (named tuples) of operators with several results
from .ops_dense import DenseWeightGrads  # noqa: F401
from .ops_batchnorm import BatchNormGrads, BatchNormTraining  # noqa: F401
from .ops_lstm import LSTMGates, LSTMGatesGrads, LSTMGrads, LSTMResult  # noqa: F401

# the operator families
from . import (ops_activation, ops_batchnorm, ops_conv, ops_dense, ops_dropout, ops_elementwise,
               ops_gemm, ops_loss, ops_lstm, ops_optim, ops_pool, ops_softmax)
from .ops_gemm import *  # noqa: F401,F403
from .ops_activation import *  # noqa: F401,F403
from .ops_elementwise import *  # noqa: F401,F403
from .ops_softmax import *  # noqa: F401,F403
from .ops_loss import *  # noqa: F401,F403
from .ops_dropout import *  # noqa: F401,F403
from .ops_dense import *  # noqa: F401,F403
from .ops_conv import *  # noqa: F401,F403
from .ops_pool import *  # noqa: F401,F403
from .ops_batchnorm import *  # noqa: F401,F403
from .ops_lstm import *  # noqa: F401,F403
from .ops_optim import *  # noqa: F401,F403

__all__ = (ops_gemm.__all__ + ops_activation.__all__ + ops_elementwise.__all__ +
           ops_softmax.__all__ + ops_loss.__all__ + ops_dropout.__all__ + ops_dense.__all__ +
           ops_conv.__all__ + ops_pool.__all__ + ops_batchnorm.__all__ + ops_lstm.__all__ +
           ops_optim.__all__)

# GRU (python/clnn/ops_rnn.py; imported last, as it uses this module's helpers)
from .ops_rnn import gru, gru_backward, gru_reserve_size  # noqa: E402
from .ops_rnn import __all__ as _rnn_all  # noqa: E402

__all__ += _rnn_all
