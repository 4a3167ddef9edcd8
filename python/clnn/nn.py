"""The network API (clnn_net_*), datasets (clnn_dataset_*) and checkpoints."""

import ctypes
import os

import numpy as np

from . import _lib as L
from ._args import OPTIMIZERS, _kernel, load_state, optimizer_config
from ._core import Context, DeviceSet, Tensor, _Closeable, _check_ctx, _flag, _float, _int, _path_bytes, \
    as_float32, as_int32_labels
from ._errors import Error, invalid, shape_mismatch
from .ops import ACTIVATIONS, _conv_params, _cint, _pool_params, _u64

LOSSES = {"softmax_cross_entropy": 0, "cross_entropy": 0, "bce_with_logits": 1, "mse": 2}
SPLIT_MODES = {"auto": 0, "measure": 1, "fixed": 2}


def mpi_available():
    """True when this libclnn was built with MPI (-DCLNN_WITH_MPI=ON)."""
    return bool(L.load().clnn_mpi_available())


def mpi_init():
    """Initialises MPI (unless it already is); returns (rank, size) in MPI_COMM_WORLD. Raises
    Error CLNN_ERROR_UNSUPPORTED without MPI."""
    r, n = ctypes.c_int(0), ctypes.c_int(1)
    L.check(L.load().clnn_mpi_init(None, None, ctypes.byref(r), ctypes.byref(n)))
    return r.value, n.value


def mpi_finalize():
    """Finalises MPI if mpi_init initialised it (close MPI networks first)."""
    L.check(L.load().clnn_mpi_finalize())


def _f32_ptr(a):
    return a.ctypes.data_as(L.F)


def _i32_ptr(a):
    return a.ctypes.data_as(L.I32)


# ============================================================================================
# Datasets
# ============================================================================================

class Dataset(_Closeable):
    """A labelled dataset in host memory (clnn_dataset).

    Dataset(x, labels=None): copies x [N, sample dims...] (1 to 4 sample dims; converted to
    float32) and integer labels [N] (>= 0; None: all 0) into the dataset's own host memory:
    later changes to x do not reach it. .x, .labels and batch() return new copies; split()
    makes two new Datasets (copies); train_epoch / evaluate read the samples in place and copy
    one batch at a time to the device. Dataset.load_idx(images, labels) reads
    MNIST-format IDX files (samples [1, H, W], pixels / 255; either MNIST naming convention,
    gzip-compressed or not); Dataset.load_mnist(directory, "train" | "test")."""

    def __init__(self, x, labels=None):
        self._h = None
        lib = L.load()
        self._destroy = lib.clnn_dataset_destroy
        xa = as_float32(x, "Dataset: x")
        if not 2 <= xa.ndim <= 5 or xa.size == 0:
            raise shape_mismatch(f"Dataset: x must be [N, sample dims...] with 1 to 4 sample "
                                 f"dims, each > 0; got shape {xa.shape}")
        n = xa.shape[0]
        lab = None
        if labels is not None:
            lab = as_int32_labels(labels, "Dataset: labels").reshape(-1)
            if lab.size != n:
                raise shape_mismatch(f"Dataset: {lab.size} labels for {n} samples")
            if lab.size and lab.min() < 0:
                raise invalid("Dataset: labels must be >= 0")
        dims = xa.shape[1:]
        h = ctypes.c_void_p()
        L.check(lib.clnn_dataset_create(n, len(dims), (ctypes.c_size_t * len(dims))(*dims),
                                        _f32_ptr(xa), xa.size,
                                        None if lab is None else _i32_ptr(lab),
                                        0 if lab is None else lab.size, ctypes.byref(h)))
        self._h = h.value

    @classmethod
    def load_idx(cls, images_path, labels_path):
        """Reads an IDX image file and an IDX label file (the MNIST format)."""
        self = cls.__new__(cls)
        self._h = None
        lib = L.load()
        self._destroy = lib.clnn_dataset_destroy
        h = ctypes.c_void_p()
        L.check(lib.clnn_dataset_load_idx(_path_bytes(images_path, "images_path"),
                                          _path_bytes(labels_path, "labels_path"),
                                          ctypes.byref(h)))
        self._h = h.value
        return self

    def split(self, fraction, seed=None):
        """(first, second): two new Datasets, the first with round(fraction * N) samples and the
        second with the rest, drawn at random with `seed` (None: in file order, no shuffle).
        Each keeps its samples in file order; this dataset is unchanged.
        train, val = data.split(0.9, seed=0)"""
        f = _float(fraction, "fraction")
        n = len(self)
        k = int(round(n * f))
        if not (0.0 < f < 1.0) or not 0 < k < n:
            raise invalid(f"split: fraction {fraction} of {n} samples leaves one part empty")
        order = (np.arange(n) if seed is None
                 else np.random.default_rng(_u64(seed, "seed")).permutation(n))
        a, b = np.sort(order[:k]), np.sort(order[k:])
        x, y = self.x, self.labels
        return Dataset(x[a], y[a]), Dataset(x[b], y[b])

    @classmethod
    def load_mnist(cls, directory, split="train"):
        """MNIST (or any dataset in its files) from a directory: split "train" reads
        train-images-idx3-ubyte and train-labels-idx1-ubyte, "test" t10k-... (or test-...);
        either naming convention ("-idx3-ubyte" / ".idx3-ubyte"), gzip-compressed or not."""
        if split not in ("train", "test"):
            raise invalid(f"load_mnist: split must be 'train' or 'test', not {split!r}")
        d = os.fspath(directory)
        prefixes = ["train"] if split == "train" else ["t10k", "test"]
        for i, pre in enumerate(prefixes):
            try:
                return cls.load_idx(os.path.join(d, f"{pre}-images-idx3-ubyte"),
                                    os.path.join(d, f"{pre}-labels-idx1-ubyte"))
            except Error as e:
                if e.status != "CLNN_ERROR_IO" or i == len(prefixes) - 1:
                    raise

    def _handle(self):
        if self._h is None:
            raise invalid("the dataset is closed")
        return self._h

    @property
    def closed(self):
        return self._h is None

    def close(self):
        h, self._h = self._h, None
        if h is not None:
            self._destroy(h)

    def __len__(self):
        return int(L.load().clnn_dataset_size(self._handle()))

    @property
    def sample_shape(self):
        d = (ctypes.c_size_t * L.MAX_DIMS)()
        n = L.load().clnn_dataset_sample_dims(self._handle(), d)
        return tuple(int(v) for v in d[:n])

    @property
    def num_classes(self):
        return int(L.load().clnn_dataset_num_classes(self._handle()))

    @property
    def x(self):
        """A copy of every sample, [N, sample dims...], in file order (a new array each time)."""
        lib = L.load()
        h = self._handle()
        out = np.empty((len(self),) + self.sample_shape, dtype=np.float32)
        ptr = lib.clnn_dataset_data(h)
        if not ptr:
            raise Error("CLNN_ERROR_INTERNAL", "clnn_dataset_data returned NULL")
        ctypes.memmove(out.ctypes.data, ptr, out.nbytes)
        return out

    @property
    def labels(self):
        """A copy of the labels [N] (int32), in file order."""
        lib = L.load()
        h = self._handle()
        out = np.empty(len(self), dtype=np.int32)
        ptr = lib.clnn_dataset_labels(h)
        if not ptr:
            raise Error("CLNN_ERROR_INTERNAL", "clnn_dataset_labels returned NULL")
        ctypes.memmove(out.ctypes.data, ptr, out.nbytes)
        return out

    def shuffle(self, seed):
        """Sets the batch order to a permutation drawn from `seed` (same on every machine)."""
        L.check(L.load().clnn_dataset_shuffle(self._handle(), _u64(seed, "seed")))

    def batch(self, first, count, *, augmented=False):
        """Samples first .. first+count-1 of the current order: (x, labels), new arrays.
        augmented=True: with the dataset's augmentation applied (clnn_dataset_batch_augmented:
        the dataset's batch counter advances)."""
        first, count = _int(first, "first"), _int(count, "count")
        n = len(self)
        if first < 0 or count <= 0 or first + count > n:
            raise invalid(f"batch: first={first}, count={count} is outside the {n} samples")
        x = np.empty((count,) + self.sample_shape, dtype=np.float32)
        y = np.empty(count, dtype=np.int32)
        lib = L.load()
        fn = (lib.clnn_dataset_batch_augmented if _flag(augmented, "augmented")
              else lib.clnn_dataset_batch)
        L.check(fn(self._handle(), first, count, _f32_ptr(x), x.size, _i32_ptr(y), y.size))
        return x, y

    def augment(self, augmentation=None, **settings):
        """Gives the dataset augmentation for training and returns the dataset:
        augment(shift=1, hflip=False, rotate=10, noise=0.05, seed=0) or
        augment(clnn.Augmentation(...)); augment(None) removes it. Samples must be images
        [C, H, W]. The samples stay as they are; fit(), train_epoch() and
        batch(augmented=True) augment each training batch they draw, evaluation never does."""
        from .augment import Augmentation
        if augmentation is not None and settings:
            raise invalid("augment: give an Augmentation or settings, not both")
        if settings:
            augmentation = Augmentation(**settings)
        if augmentation is not None and not isinstance(augmentation, Augmentation):
            raise invalid(f"augment: expected a clnn.Augmentation, not "
                          f"{type(augmentation).__name__}")
        lib = L.load()
        if augmentation is None:
            L.check(lib.clnn_dataset_set_augmentation(self._handle(), None))
        else:
            o = augmentation._struct()
            L.check(lib.clnn_dataset_set_augmentation(self._handle(), ctypes.byref(o)))
        return self

    @property
    def augmentation(self):
        """The dataset's clnn.Augmentation, or None."""
        from .augment import Augmentation
        o = L.AugmentOptions()
        if not L.load().clnn_dataset_get_augmentation(self._handle(), ctypes.byref(o)):
            return None
        return Augmentation._from_struct(o)

    def __repr__(self):
        if self.closed:
            return "<clnn.Dataset (closed)>"
        return f"<clnn.Dataset {len(self)} samples of {self.sample_shape}>"


# ============================================================================================
# Networks
# ============================================================================================

class Net(_Closeable):
    """A sequential network on a context (clnn_net).

        net = clnn.Net(ctx, input_shape=(1, 8, 8), seed=42)
        net.conv2d(16, 3, padding=1).relu().maxpool2d(2).flatten().dense(10)
        net.set_optimizer("adam", lr=1e-3)
        loss = net.train_step(x, labels)         # x [N, 1, 8, 8], labels [N] ints
        logits = net.predict(x)                  # NumPy [N, 10]

    Layer methods return the network (chain them) and take an optional name=. Layers can be
    added until first use (training, predicting, saving, loading, asking for parameters).
    Host data is batch-first: x has shape [N, *input_shape]. The network lives on its context
    and is destroyed when the context closes (or with close())."""

    def __init__(self, ctx, input_shape, *, seed=0):
        self._token = None
        self._closed = True
        if isinstance(ctx, DeviceSet):
            ctx._handle()
            self._owner, self._ctx, self._lock = ctx, ctx.contexts[0], ctx._lock
        else:
            self._owner = self._ctx = _check_ctx(ctx)
            self._lock = ctx._lock
        lib = L.load()
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        try:
            shape = tuple(_int(d, "input_shape") for d in input_shape)
        except TypeError:
            raise invalid("input_shape must be a tuple of ints") from None
        if not 1 <= len(shape) <= 4 or any(d <= 0 for d in shape):
            raise shape_mismatch(f"input_shape {shape}: 1 to 4 dims (no batch dim), each > 0")
        self._input_shape = shape
        self._loss = "softmax_cross_entropy"
        self._optimizer = "adam"  # the library's defaults: Adam, lr 1e-3
        self._lr = 1e-3
        h = ctypes.c_void_p()
        dims = (ctypes.c_size_t * len(shape))(*shape)
        with self._lock:
            if self._owner is self._ctx:
                L.check(lib.clnn_net_create(self._ctx._handle(), len(shape), dims,
                                            _u64(seed, "seed"), ctypes.byref(h)))
            else:
                L.check(lib.clnn_net_create_parallel(self._owner._handle(), len(shape), dims,
                                                     _u64(seed, "seed"), ctypes.byref(h)))
            self._h = h.value
            self._token = self._owner._register(0, self._h, lib.clnn_net_destroy)
            self._closed = False

    # -- lifetime --
    @property
    def closed(self):
        return self._closed or self._token is None or not self._owner._owns(self._token)

    def _handle(self):
        if self.closed:
            if self._owner.closed:
                what = "context" if self._owner is self._ctx else "device set"
                raise invalid(f"the network's {what} is closed")
            raise invalid("the network is closed")
        return self._h

    def close(self):
        """Destroys the network (its parameter tensors become unusable)."""
        tok, self._token = self._token, None
        self._closed = True
        if tok is not None:
            self._owner._release(tok)

    def _call(self, fn, *args):
        with self._lock:
            L.check(fn(self._handle(), *args))

    @property
    def device_set(self):
        """The DeviceSet the network trains on, or None for a one-context network."""
        return None if self._owner is self._ctx else self._owner

    @property
    def context(self):
        return self._ctx

    @property
    def input_shape(self):
        return self._input_shape

    # -- layers --
    def _add(self, fn, *args, name=None):
        """Appends a layer; a name is checked first, so a bad one adds nothing."""
        if name is not None:
            _check_layer_name(name)
            if name in self.layers:
                raise invalid(f"layer name {name!r} is already used in this network")
        self._call(fn, *args)
        if name is not None:
            self.set_layer_name(-1, name)
        return self

    def conv2d(self, out_channels, kernel_size, stride=1, padding=0, *, dilation=1, groups=1,
               bias=True, name=None):
        """Conv2d with out_channels filters; kernel_size, stride, dilation: int or (h, w);
        padding: int, (h, w) or (top, bottom, left, right)."""
        kh, kw = _kernel(kernel_size)
        p = _conv_params(stride, padding, dilation, groups)
        return self._add(L.load().clnn_net_add_conv2d_ex, _cint(out_channels, "out_channels"),
                         kh, kw, ctypes.byref(p), 1 if _flag(bias, "bias") else 0, name=name)

    def conv_transpose2d(self, out_channels, kernel_size, stride=1, padding=0, *, dilation=1,
                         groups=1, bias=True, name=None):
        """ConvTranspose2d (no output_padding)."""
        kh, kw = _kernel(kernel_size)
        p = _conv_params(stride, padding, dilation, groups)
        return self._add(L.load().clnn_net_add_conv_transpose2d_ex,
                         _cint(out_channels, "out_channels"), kh, kw, ctypes.byref(p),
                         1 if _flag(bias, "bias") else 0, name=name)

    def maxpool2d(self, kernel_size, stride=None, padding=0, *, name=None):
        p = _pool_params(kernel_size, stride, padding)
        return self._add(L.load().clnn_net_add_pool2d_ex, 1, ctypes.byref(p), name=name)

    def avgpool2d(self, kernel_size, stride=None, padding=0, *, count_include_pad=False,
                  name=None):
        p = _pool_params(kernel_size, stride, padding, count_include_pad)
        return self._add(L.load().clnn_net_add_pool2d_ex, 0, ctypes.byref(p), name=name)

    def global_avgpool(self, *, name=None):
        return self._add(L.load().clnn_net_add_global_avgpool, name=name)

    def dense(self, units, *, name=None):
        return self._add(L.load().clnn_net_add_dense, _cint(units, "units"), name=name)

    def activation(self, act, alpha=None, *, name=None):
        """Any activation of clnn.ACTIVATIONS (alpha: leaky slope, default 0.01; ELU scale,
        default 1.0)."""
        from .ops import _act
        a, al = _act(act, alpha)
        return self._add(L.load().clnn_net_add_activation, a, al, name=name)

    def relu(self, *, name=None):
        return self.activation("relu", name=name)

    def leaky_relu(self, negative_slope=0.01, *, name=None):
        return self.activation("leaky_relu", negative_slope, name=name)

    def elu(self, alpha=1.0, *, name=None):
        return self.activation("elu", alpha, name=name)

    def sigmoid(self, *, name=None):
        return self.activation("sigmoid", name=name)

    def tanh(self, *, name=None):
        return self.activation("tanh", name=name)

    def gelu(self, *, name=None):
        return self.activation("gelu", name=name)

    def softplus(self, *, name=None):
        return self.activation("softplus", name=name)

    def dropout(self, p, *, name=None):
        return self._add(L.load().clnn_net_add_dropout, _float(p, "p"), name=name)

    def batchnorm(self, momentum=0.1, eps=1e-5, *, name=None):
        """Batch norm over channels; momentum and eps as in PyTorch."""
        return self._add(L.load().clnn_net_add_batchnorm, _float(momentum, "momentum"),
                         _float(eps, "eps"), name=name)

    def flatten(self, *, name=None):
        return self._add(L.load().clnn_net_add_flatten, name=name)

    def lstm(self, hidden, return_sequences=False, *, name=None):
        """LSTM over [T, F] sequences: the last hidden state [hidden], or every one [T, hidden]
        with return_sequences=True."""
        return self._add(L.load().clnn_net_add_lstm, _cint(hidden, "hidden"),
                         1 if _flag(return_sequences, "return_sequences") else 0, name=name)

    def set_layer_name(self, layer, name):
        """Renames layer `layer` (-1: the last) before first use; its parameters follow."""
        if not isinstance(name, str):
            raise invalid("layer name must be a str")
        if "\0" in name:
            raise invalid("layer name contains a NUL character")
        self._call(L.load().clnn_net_set_layer_name, _cint(layer, "layer"), name.encode())
        return self

    # -- loss and optimizer --
    @property
    def loss(self):
        """The loss: "softmax_cross_entropy" (the default), "bce_with_logits" or "mse"."""
        return self._loss

    @loss.setter
    def loss(self, name):
        self.set_loss(name)

    def set_loss(self, name):
        if not isinstance(name, str) or name.lower() not in LOSSES:
            raise invalid(f"loss must be one of softmax_cross_entropy, bce_with_logits, mse; "
                          f"not {name!r}")
        name = name.lower()
        self._call(L.load().clnn_net_set_loss, LOSSES[name])
        self._loss = "softmax_cross_entropy" if name == "cross_entropy" else name
        return self

    def set_optimizer(self, kind="adam", lr=1e-3, **options):
        """Optimizer kind "sgd", "adam", "adamw", "rmsprop" or "adagrad" with PyTorch's meaning
        and defaults; options: weight_decay, momentum, dampening, nesterov, beta1, beta2 (or
        betas=(b1, b2)), alpha, eps, clip_grad_norm. Restarts the optimizer state."""
        cfg = optimizer_config(kind, lr, options)
        self._call(L.load().clnn_net_set_optimizer, ctypes.byref(cfg))
        self._optimizer, self._lr = kind.lower(), float(cfg.lr)
        return self

    @property
    def optimizer(self):
        """The optimizer kind ("adam" unless set_optimizer chose another)."""
        return self._optimizer

    @property
    def learning_rate(self):
        """The optimizer's learning rate; setting it keeps the optimizer state (schedules)."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, lr):
        self.set_learning_rate(lr)

    def set_learning_rate(self, lr):
        """Changes only the learning rate (the optimizer state is kept)."""
        lr = _float(lr, "lr")
        self._call(L.load().clnn_net_set_learning_rate, lr)
        self._lr = float(np.float32(lr))
        return self

    # -- shapes --
    def output_shape(self, layer=-1):
        """Per-sample output shape of `layer` (-1: the network's output)."""
        d = (ctypes.c_size_t * L.MAX_DIMS)()
        with self._lock:
            n = L.load().clnn_net_output_dims(self._handle(), _cint(layer, "layer"), d)
        if n <= 0:
            raise invalid(f"output_shape: no layer {layer} (the network has "
                          f"{len(self.layers)} layers)")
        return tuple(int(v) for v in d[:n])

    @property
    def layers(self):
        """Layer names, in order."""
        lib = L.load()
        with self._lock:
            h = self._handle()
            return [lib.clnn_net_layer_name(h, i).decode()
                    for i in range(lib.clnn_net_num_layers(h))]

    def _x(self, x, what="x"):
        if isinstance(x, Tensor):
            x = x.numpy()
        xa = as_float32(x, f"{what}")
        want = self._input_shape
        if xa.ndim == len(want) and xa.shape == want:
            xa = xa.reshape((1,) + want)
        if xa.ndim != len(want) + 1 or xa.shape[1:] != want or xa.shape[0] == 0:
            raise shape_mismatch(f"{what} has shape {xa.shape}; the network takes "
                                 f"[N, {', '.join(map(str, want))}] (batch-first)")
        return xa

    def _targets(self, batch, labels, targets, what):
        out_shape = self.output_shape()
        if self._loss == "softmax_cross_entropy":
            if labels is None:
                raise invalid(f"{what}: softmax cross-entropy needs labels=")
            lab = as_int32_labels(labels, f"{what}: labels").reshape(-1)
            want = batch * int(np.prod(out_shape[:-1])) if len(out_shape) > 1 else batch
            if lab.size != want:
                raise shape_mismatch(f"{what}: {lab.size} labels for {batch} samples with output "
                                     f"{out_shape} (needs {want})")
            return _i32_ptr(lab), lab.size, None, 0, lab
        if targets is None:
            raise invalid(f"{what}: the {self._loss} loss needs targets=")
        ta = as_float32(targets, f"{what}: targets")
        want = batch * int(np.prod(out_shape))
        if ta.size != want:
            raise shape_mismatch(f"{what}: targets has {ta.size} values; the output is "
                                 f"[{batch}, {', '.join(map(str, out_shape))}] ({want} values)")
        return None, 0, _f32_ptr(ta), ta.size, ta

    # -- training and inference --
    def train_step(self, x, labels=None, targets=None):
        """One step (forward, loss, backward, optimizer) on the batch x; returns the mean loss.
        labels: int [N] (or [N, T]) for softmax cross-entropy; targets: floats shaped like the
        output for BCE and MSE. x, labels and targets are copied to the device (float32 / int32
        C-contiguous arrays are read in place, others converted first; a Tensor x is read back
        to the host first)."""
        return self._step(self.lib_fn("clnn_net_train_step"), x, labels, targets, "train_step")

    def compute_gradients(self, x, labels=None, targets=None):
        """Forward, loss and backward without the optimizer step; returns the mean loss and
        leaves d(loss)/d(param) in each parameter's gradient (see grad())."""
        return self._step(self.lib_fn("clnn_net_compute_gradients"), x, labels, targets,
                          "compute_gradients")

    @staticmethod
    def lib_fn(name):
        return getattr(L.load(), name)

    def _step(self, fn, x, labels, targets, what):
        with self._lock:
            self._handle()
            xa = self._x(x)
            lp, lc, tp, tc, keep = self._targets(xa.shape[0], labels, targets, what)
            loss = ctypes.c_float(0.0)
            L.check(fn(self._handle(), _f32_ptr(xa), xa.size, xa.shape[0], lp, lc, tp, tc,
                       ctypes.byref(loss)))
            return float(loss.value)

    def train_epoch(self, dataset, batch_size=32, *, shuffle_seed=None):
        """One pass over `dataset` (shuffled first with shuffle_seed if given) in mini-batches;
        returns the mean loss."""
        if not isinstance(dataset, Dataset):
            raise invalid("train_epoch: dataset must be a clnn.Dataset")
        if shuffle_seed is not None:
            dataset.shuffle(shuffle_seed)
        bs = _int(batch_size, "batch_size")
        if bs <= 0:
            raise invalid("batch_size must be > 0")
        loss = ctypes.c_float(0.0)
        self._call(L.load().clnn_net_train_epoch, dataset._handle(), bs, ctypes.byref(loss))
        return float(loss.value)

    def predict(self, x, batch_size=None):
        """Raw outputs (logits) in inference mode, NumPy [N, *output_shape] (a new array, copied
        from the device). batch_size: run in chunks of this many samples (None: all at once).
        x is copied to the device; a Tensor x is first read back to the host (a Net takes its
        input from host memory)."""
        with self._lock:
            self._handle()
            xa = self._x(x)
            oshape = self.output_shape()
            n = xa.shape[0]
            y = np.empty((n,) + oshape, dtype=np.float32)
            per = int(np.prod(oshape))
            bs = n if batch_size is None else _int(batch_size, "batch_size")
            if bs <= 0:
                raise invalid("batch_size must be > 0")
            lib = L.load()
            for s in range(0, n, bs):
                e = min(n, s + bs)
                xs = xa[s:e]
                ys = y[s:e]
                L.check(lib.clnn_net_predict(self._handle(), _f32_ptr(xs), xs.size, e - s,
                                             _f32_ptr(ys), (e - s) * per))
            return y

    def accuracy(self, x, labels, batch_size=256):
        """Fraction of samples whose largest output is the label."""
        with self._lock:
            self._handle()
            xa = self._x(x)
            n = xa.shape[0]
            oshape = self.output_shape()
            lab = as_int32_labels(labels, "accuracy: labels").reshape(-1)
            want = n * int(np.prod(oshape[:-1])) if len(oshape) > 1 else n
            if lab.size != want:
                raise shape_mismatch(f"accuracy: {lab.size} labels for {n} samples (needs {want})")
            bs = _int(batch_size, "batch_size")
            if bs <= 0:
                raise invalid("batch_size must be > 0")
            acc = ctypes.c_float(0.0)
            L.check(L.load().clnn_net_accuracy(self._handle(), _f32_ptr(xa), xa.size, _i32_ptr(lab),
                                               lab.size, n, bs, ctypes.byref(acc)))
            return float(acc.value)

    def fit(self, train, *, epochs=1, batch_size=32, validation=None, validation_split=None,
            callbacks=(), verbose="auto", **options):
        """Trains for `epochs` passes over `train` (a clnn.Dataset or (x, labels) / (x,
        targets) arrays) and returns a clnn.History; as clnn.Model.fit (see clnn.fit)."""
        from .fit import fit
        return fit(self, train, epochs=epochs, batch_size=batch_size, validation=validation,
                   validation_split=validation_split, callbacks=callbacks, verbose=verbose,
                   **options)

    def evaluate(self, dataset, batch_size=256):
        """Inference-mode evaluation for every loss. A clnn.Dataset (class labels; softmax
        cross-entropy): the tuple (mean loss, accuracy), computed in libclnn. (x, labels) or
        (x, targets) arrays: a dict with "loss" (the mean loss) and "accuracy" for labels;
        "mse" and "mae" of the outputs against float targets ("mse" loss), "binary_accuracy"
        (logit > 0 against target >= 0.5) for "bce_with_logits"."""
        if not isinstance(dataset, Dataset):
            from .fit import evaluate
            return evaluate(self, dataset, batch_size=_int(batch_size, "batch_size"))
        bs = _int(batch_size, "batch_size")
        if bs <= 0:
            raise invalid("batch_size must be > 0")
        loss, acc = ctypes.c_float(0.0), ctypes.c_float(0.0)
        self._call(L.load().clnn_net_evaluate, dataset._handle(), bs, ctypes.byref(loss),
                   ctypes.byref(acc))
        return float(loss.value), float(acc.value)

    # -- parameters --
    @property
    def param_names(self):
        """Parameter and state names ("conv1.weight", "bn1.running_mean", ...), in order."""
        lib = L.load()
        with self._lock:
            h = self._handle()
            return [lib.clnn_net_param_name(h, i).decode()
                    for i in range(lib.clnn_net_num_params(h))]

    def _param(self, name):
        if not isinstance(name, str) or "\0" in name:
            raise invalid("parameter name must be a str")
        v, g = ctypes.c_void_p(), ctypes.c_void_p()
        self._call(L.load().clnn_net_param, name.encode(), ctypes.byref(v), ctypes.byref(g))
        return v.value, g.value

    def param(self, name):
        """The Tensor named `name` (owned by the network, not a copy; writing to it is
        allowed). state_dict() copies every one into NumPy."""
        v, _ = self._param(name)
        return Tensor._view(self._ctx, v, self)

    def grad(self, name):
        """The gradient Tensor of parameter `name`, or None for state without one."""
        _, g = self._param(name)
        return None if not g else Tensor._view(self._ctx, g, self)

    def state_dict(self):
        """{name: NumPy copy} of every parameter and state tensor."""
        return {n: self.param(n).numpy() for n in self.param_names}

    def load_state_dict(self, state):
        """Writes arrays into the named parameters (shapes must match; unknown names are an
        error). Names not given keep their values."""
        load_state(state, self.param)
        return self

    @property
    def num_trainable(self):
        with self._lock:
            return int(L.load().clnn_net_num_trainable(self._handle()))

    @property
    def step_count(self):
        with self._lock:
            return int(L.load().clnn_net_step_count(self._handle()))

    def summary(self):
        """A table of layers (name, kind, output shape, parameters)."""
        size = 1 << 14
        while True:
            buf = ctypes.create_string_buffer(size)
            self._call(L.load().clnn_net_summary, buf, size)
            s = buf.value
            if len(s) < size - 1 or size >= 1 << 24:
                return s.decode("utf-8", "replace")
            size *= 4

    # -- several devices, MPI --
    @property
    def num_devices(self):
        """Devices training the network, over all MPI ranks (1 for a one-context network)."""
        with self._lock:
            return int(L.load().clnn_net_num_devices(self._handle()))

    def set_split(self, mode="auto", weights=None):
        """How batches are split across devices: "auto" (equal shares on identical devices,
        else measured), "measure" (shares from the speed each device reached in steps 2-4), or
        "fixed" with `weights` (one per device, >= 0, not all 0)."""
        if not isinstance(mode, str) or mode.lower() not in SPLIT_MODES:
            raise invalid(f"split mode must be one of {', '.join(SPLIT_MODES)}, not {mode!r}")
        mode = mode.lower()
        if mode == "fixed":
            if weights is None:
                raise invalid("set_split('fixed') needs weights=")
            w = np.asarray([_float(v, "weights") for v in weights], dtype=np.float64)
            if w.size == 0:
                raise invalid("set_split: weights is empty")
            self._call(L.load().clnn_net_set_split, SPLIT_MODES[mode],
                       w.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), int(w.size))
        else:
            if weights is not None:
                raise invalid(f"set_split({mode!r}) takes no weights")
            self._call(L.load().clnn_net_set_split, SPLIT_MODES[mode], None, 0)
        return self

    @property
    def split(self):
        """(shares, measured): each device's share of a batch (summing to 1), and whether the
        shares come from a measurement."""
        with self._lock:
            n = int(L.load().clnn_net_num_devices(self._handle()))
            shares = np.zeros(max(n, 1), dtype=np.float64)
            measured = ctypes.c_int(0)
            L.check(L.load().clnn_net_get_split(self._handle(),
                                                shares.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                                                n, ctypes.byref(measured)))
            return [float(v) for v in shares[:n]], bool(measured.value)

    def set_mpi(self, comm=None):
        """Joins data-parallel training across MPI ranks (collective; after adding the layers).
        comm: None (MPI_COMM_WORLD), an mpi4py communicator, or the address of an MPI_Comm."""
        addr = None
        if comm is not None:
            if isinstance(comm, (int, np.integer)) and not isinstance(comm, bool):
                addr = int(comm)
                if addr == 0:
                    raise invalid("set_mpi: comm address is 0")
            else:
                try:
                    from mpi4py import MPI
                    addr = MPI._addressof(comm)
                except Exception:
                    raise invalid("set_mpi: comm must be None, an mpi4py communicator or the "
                                  "address of an MPI_Comm") from None
        self._call(L.load().clnn_net_set_mpi, addr)
        return self

    @property
    def mpi_rank(self):
        """(rank, size) of this process in the network's MPI communicator ((0, 1) when not
        joined)."""
        r, n = ctypes.c_int(0), ctypes.c_int(1)
        self._call(L.load().clnn_net_mpi_rank, ctypes.byref(r), ctypes.byref(n))
        return r.value, n.value

    def __repr__(self):
        if self.closed:
            return "<clnn.Net (closed)>"
        return f"<clnn.Net input {self._input_shape}, {len(self.layers)} layers>"

    # -- checkpoints --
    def save(self, path, *, optimizer=False):
        """Writes every parameter and state tensor to a safetensors file (optimizer=True: also
        the optimizer state). The file is replaced atomically."""
        self._call(L.load().clnn_net_save, _path_bytes(os.fspath(path) if isinstance(
            path, os.PathLike) else path, "path"), 1 if _flag(optimizer, "optimizer") else 0)

    def load(self, path):
        """Reads a checkpoint written by save() (or a matching safetensors file); on any error
        the network is unchanged."""
        self._call(L.load().clnn_net_load, _path_bytes(os.fspath(path) if isinstance(
            path, os.PathLike) else path, "path"))
        return self


def _check_layer_name(name):
    if not isinstance(name, str):
        raise invalid(f"layer name must be a str, not {type(name).__name__}")
    if not 1 <= len(name) <= 47 or not all(c.isascii() and (c.isalnum() or c in "_-")
                                           for c in name):
        raise invalid(f"layer name {name!r}: 1 to 47 letters, digits, '_' or '-'")
