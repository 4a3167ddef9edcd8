"""clnn.Model: a Graph on a context (clnn_model_*): training, inference, gradients with respect to
any value, freezing, parameter groups, schedules and self-describing model files.

    m = clnn.Model(g, ctx, seed=0)                    # ctx None: clnn.default_context()
    m.set_optimizer("adam", lr=1e-3)
    loss = m.train_step({x: xb, label: yb})           # forward, backward, optimizer step
    y = m.predict({x: xb})                            # evaluation mode, NumPy

Feeds map a Value (or its name) to a batch-first NumPy array [N, *value.shape] (float32 inputs:
any real dtype, converted; int32 inputs: integers) or, for float inputs, a clnn.Tensor on the
model's context. Every failure raises clnn.Error with the library's message.
"""

import ctypes
import types

import numpy as np

from ._core import Tensor, _Closeable, _check_ctx, _flag, _float, _int, as_float32, \
    as_int32_labels
from ._errors import invalid, shape_mismatch
from . import _lib as L
from ._args import load_state, optimizer_config
from .graph import Feed, Graph, Schedule, Value, _call, _fn, _name_arg, _path, default_context
from .ops import _u64

__all__ = ["Model", "SCHEDULES"]

SCHEDULES = {"constant": 0, "step": 1, "cosine": 2}


class _Lease:
    """How long tensors lent by a model (its value and gradient buffers) stay valid."""

    def __init__(self, model):
        self.model, self.expired = model, False

    @property
    def closed(self):
        return self.expired or self.model.closed


class _LentTensor(Tensor):
    """A view of a model's value or gradient buffer, valid until the model's next run."""

    def _handle(self):
        if self._view_of.expired and not self._view_of.model.closed:
            raise invalid("this tensor was a model's value or gradient buffer, valid only until "
                          "the model's next forward, predict, training or backward call; keep a "
                          "copy with .clone() or .numpy()")
        return Tensor._handle(self)


class _ClassOrInstance:
    """A method that does one thing on the class (Model.load(path)) and another on an instance
    (model.load(path, strict))."""

    def __init__(self, on_class, on_instance):
        self.on_class, self.on_instance = on_class, on_instance
        self.__doc__ = (f"On the class: {on_class.__doc__}\n\nOn a model: "
                        f"{on_instance.__doc__}")

    def __get__(self, obj, cls):
        if obj is None:
            return types.MethodType(self.on_class, cls)
        return types.MethodType(self.on_instance, obj)


class Model(_Closeable):
    """A Graph on a context: it owns a copy of the graph (only the nodes the outputs and losses
    need run), the parameters (initialised from `seed` as clnn.Net's layers are), gradients,
    optimizer state (Adam, lr 1e-3 unless set_optimizer says otherwise) and per-batch buffers.
    Values of the graph it was made from (or their names) select inputs, outputs and gradients.
    The model lives on its context and is destroyed when the context closes (or with close())."""

    def __init__(self, graph, ctx=None, *, seed=0):
        self._token, self._closed = None, True
        if not isinstance(graph, Graph):
            raise invalid(f"Model needs a clnn.Graph, not {type(graph).__name__}")
        self._ctx = default_context() if ctx is None else _check_ctx(ctx)
        self._lock = self._ctx._lock
        h = ctypes.c_void_p()
        with self._lock:
            _call("clnn_model_create", self._ctx._handle(), graph._handle(), _u64(seed, "seed"),
                  ctypes.byref(h))
            self._adopt(h.value, graph)

    def _adopt(self, h, source):
        self._h = h
        self._token = self._ctx._register(0, h, _fn("clnn_model_destroy"))
        self._closed = False
        self._graph = Graph._borrow(_fn("clnn_model_graph")(h), self)
        if source is not None:
            self._graph._info = dict(source._info)
        self._source = source
        self._values, self._grads = _Lease(self), _Lease(self)
        self._batch, self._training = None, True

    def _load_file(cls, path, ctx=None):
        """Model.load(path, ctx=None): rebuilds a model from a file that Model.save wrote
        (graph, parameters, optimizer settings and state) without its source code. Its values
        are found by name: model.graph["image"], or the names themselves in feeds."""
        self = cls.__new__(cls)
        self._token, self._closed = None, True
        self._ctx = default_context() if ctx is None else _check_ctx(ctx)
        self._lock = self._ctx._lock
        h = ctypes.c_void_p()
        with self._lock:
            _call("clnn_model_load_file", self._ctx._handle(), _path(path), ctypes.byref(h))
            self._adopt(h.value, None)
        return self

    def _load_params(self, path, strict=True):
        """model.load(path, strict=True): loads parameters (and state, and the optimizer state
        when present) from a safetensors file into this model. strict: the file must hold
        exactly the model's tensors. strict=False: tensors whose names match are loaded (shapes
        must agree). Returns (missing, unexpected): the model's names the file lacks and the
        file's names the model lacks. On any error nothing changes."""
        strict = 1 if _flag(strict, "strict") else 0
        p = _path(path)
        size = 1 << 16
        while True:
            miss, unex = ctypes.create_string_buffer(size), ctypes.create_string_buffer(size)
            self._run("clnn_model_load", p, strict, miss, size, unex, size)
            if max(len(miss.value), len(unex.value)) < size - 1 or size >= 1 << 26:
                break
            size *= 16
        split = (lambda b: [s for s in b.value.decode("utf-8", "replace").split(",") if s])
        return split(miss), split(unex)

    load = _ClassOrInstance(_load_file, _load_params)
    load_file = classmethod(_load_file)
    load_params = _load_params

    # -- lifetime --
    @property
    def closed(self):
        return self._closed or self._token is None or not self._ctx._owns(self._token)

    def _handle(self):
        if self.closed:
            raise invalid("the model's context is closed" if self._ctx.closed else
                          "the model is closed")
        return self._h

    def close(self):
        """Destroys the model (its tensors and graph view become unusable)."""
        tok, self._token = self._token, None
        self._closed = True
        if tok is not None:
            self._ctx._release(tok)

    def _run(self, name, *args, values=False, grads=False):
        """Calls clnn_model_<...>; values/grads: the call replaces the lent buffers."""
        with self._lock:
            h = self._handle()
            if values:
                self._values.expired = True
                self._values = _Lease(self)
            if values or grads:
                self._grads.expired = True
                self._grads = _Lease(self)
            _call(name, h, *args)

    @property
    def context(self):
        return self._ctx

    @property
    def graph(self):
        """The model's graph (read-only): .inputs, .outputs, ["name"], .summary()."""
        self._handle()
        return self._graph

    def summary(self):
        """The graph's table of inputs and nodes."""
        return self.graph.summary()

    def __repr__(self):
        if self.closed:
            return "<clnn.Model (closed)>"
        return f"<clnn.Model {len(self._graph)} values, {len(self.param_names)} tensors>"

    # -- values and feeds --
    def _value(self, v, what="value"):
        g = self.graph
        if isinstance(v, Value):
            if v.graph is not g and v.graph is not self._source:
                raise invalid(f"{what}: value {v.name!r} belongs to another graph than this "
                              f"model's")
            return v
        if isinstance(v, str):
            return g.find(v)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return g.value(int(v))
        raise invalid(f"{what} must be a clnn.Value or a value's name, not {type(v).__name__}")

    def _feeds(self, feeds, what, batch=None, seeds=False):
        """(clnn_feed array, count, batch, arrays to keep alive)."""
        if feeds is None:
            feeds = {}
        if not hasattr(feeds, "items"):
            raise invalid(f"{what}: feeds must be a dict {{value or name: array or Tensor}}")
        items = list(feeds.items())
        arr, keep = (Feed * max(1, len(items)))(), []
        for i, (k, data) in enumerate(items):
            v = self._value(k, f"{what}: a key")
            per = int(np.prod(v.shape)) if v.shape else 1
            full = ("N",) + v.shape if v.batched else v.shape
            if isinstance(data, Tensor):
                if v.dtype != "float32":
                    raise invalid(f"{what}: {v.name!r} is int32; feed a NumPy integer array")
                if data.context is not self._ctx:
                    raise invalid(f"{what}: the tensor for {v.name!r} is on another context")
                n = data.shape[0] if v.batched else None
                if data.size != (n or 1) * per:
                    raise shape_mismatch(f"{what}: the tensor for {v.name!r} has shape "
                                         f"{data.shape}; it needs {list(full)}")
                arr[i].tensor = data._handle()
            else:
                a = (as_int32_labels(data, f"{what}: {v.name!r}") if v.dtype == "int32" else
                     as_float32(data, f"{what}: {v.name!r}"))
                ok = a.shape[1:] == v.shape and a.ndim >= 1 if v.batched else a.shape == v.shape
                if not ok or a.size == 0:
                    raise shape_mismatch(f"{what}: {v.name!r} got shape {a.shape}; it needs "
                                         f"{list(full)} (batch-first)")
                n = a.shape[0] if v.batched else None
                arr[i].host, arr[i].count = a.ctypes.data, a.size
                keep.append(a)
            if n is not None:
                if batch is not None and n != batch:
                    raise shape_mismatch(f"{what}: {v.name!r} has a batch of {n}, "
                                         f"{'the last forward' if seeds else 'another feed'} "
                                         f"has {batch}")
                batch = n
            arr[i].value = v.id
        if batch is None:
            names = ", ".join(repr(v.name) for v in self.graph.inputs)
            raise invalid(f"{what}: nothing fed gives a batch size; feed the inputs ({names})")
        return arr, len(items), batch, keep

    def _step(self, name, feeds, loss=True):
        arr, n, batch, keep = self._feeds(feeds, name)
        out = ctypes.c_float(0.0)
        self._run(f"clnn_model_{name}", arr, n, batch, ctypes.byref(out) if loss else None,
                  values=True)
        self._batch = batch
        return float(out.value) if loss else None

    # -- running --
    def forward(self, feeds, *, loss=False):
        """Runs the graph (in the model's mode) on a batch; outputs stay on the device (value(),
        value_tensor()). Feeds (here and in train_step, predict, backward's seeds): NumPy
        arrays are copied to the device (float32 / int32 C-contiguous ones read in place,
        others converted first); a Tensor feed is copied on the device into the model's input
        buffer, with no trip through the host. loss=True: returns the objective (the weighted
        sum of the losses), which reads it back; else None."""
        return self._step("forward", feeds, loss)

    def backward(self, seeds=None):
        """After forward: gradients of the objective plus sum over seeds of <seed, value>, for
        every trained parameter and every input marked with input_grad(). seeds {value:
        gradient} (NumPy arrays or Tensors shaped like the value's batch) start backward from a
        gradient the caller has, e.g. the one a discriminator hands to a generator's output.
        Gradients are overwritten, not accumulated."""
        with self._lock:
            if self._batch is None:
                raise invalid("backward: needs a forward first")
            arr, n, _, keep = self._feeds(seeds, "backward", self._batch, seeds=True) \
                if seeds else (None, 0, None, None)
            self._run("clnn_model_backward", arr, n, grads=True)

    def compute_gradients(self, feeds):
        """forward + backward (no seeds); returns the objective. Gradients are left in
        param_grad() / grad() for inspection or changes before optimizer_step()."""
        return self._step("compute_gradients", feeds)

    def optimizer_step(self):
        """One optimizer update of every trained parameter (clipping first if configured)."""
        self._run("clnn_model_optimizer_step")

    def train_step(self, feeds):
        """compute_gradients + optimizer_step; returns the objective of the batch."""
        return self._step("train_step", feeds)

    def predict(self, feeds, output=None, *, batch_size=None):
        """Evaluation-mode forward; returns `output` (a Value or name; None: the graph's first
        output) as NumPy [N, *shape] (a new array, copied from the device). batch_size: run in
        chunks of that many samples (array feeds only)."""
        with self._lock:
            if output is None:
                outs = self.graph.outputs
                if not outs:
                    raise invalid("predict: the graph has no output (Graph.output); pass output=")
                out = outs[0]
            else:
                out = self._value(output, "output")
            arr, n, batch, keep = self._feeds(feeds, "predict")
            bs = batch if batch_size is None else _int(batch_size, "batch_size")
            if bs <= 0:
                raise invalid("batch_size must be > 0")
            y = np.empty(((batch,) if out.batched else ()) + out.shape, dtype=np.float32)
            if bs >= batch or not out.batched:
                self._run("clnn_model_predict", arr, n, batch, out.id,
                          y.ctypes.data_as(L.F), y.size, values=True)
                return y
            if any(isinstance(d, Tensor) for d in feeds.values()):
                raise invalid("predict: batch_size needs array feeds, not Tensors")
            for s in range(0, batch, bs):
                part = {k: np.asarray(d)[s:s + bs] for k, d in feeds.items()}
                arr, n, b, keep = self._feeds(part, "predict")
                ys = y[s:s + b]
                self._run("clnn_model_predict", arr, n, b, out.id, ys.ctypes.data_as(L.F),
                          ys.size, values=True)
            return y

    def value_tensor(self, v):
        """The device tensor of value v after the last forward ([N, *shape]; the model's buffer,
        valid until its next run: feed it to another model, or .clone() it)."""
        v = self._value(v)
        t = ctypes.c_void_p()
        with self._lock:
            _call("clnn_model_value", self._handle(), v.id, ctypes.byref(t))
            return _LentTensor._view(self._ctx, t.value, self._values)

    def value(self, v):
        """Value v after the last forward, as NumPy [N, *shape] (a copy; value_tensor() is the
        device buffer itself)."""
        return self.value_tensor(v).numpy()

    def grad_tensor(self, v):
        """The device tensor of d(objective)/d(v) after the last backward (an input marked with
        input_grad(), or a value on a trained path); valid until the model's next run."""
        v = self._value(v)
        t = ctypes.c_void_p()
        with self._lock:
            _call("clnn_model_grad", self._handle(), v.id, ctypes.byref(t))
            return _LentTensor._view(self._ctx, t.value, self._grads)

    def grad(self, v):
        """d(objective)/d(v) after the last backward, as NumPy [N, *shape]."""
        return self.grad_tensor(v).numpy()

    def input_grad(self, x, on=True):
        """Asks backward for the gradient with respect to input x (on=True) or not; run forward
        again after changing it."""
        self._run("clnn_model_input_grad", self._value(x, "x").id, 1 if _flag(on, "on") else 0)
        return self

    # -- mode --
    def train(self):
        """Training mode (the default): dropout on, batch norm on batch statistics."""
        self._run("clnn_model_set_mode", 0)
        self._training = True
        return self

    def eval(self):
        """Evaluation mode for forward/compute_gradients/train_step (predict and evaluate always
        run in evaluation mode)."""
        self._run("clnn_model_set_mode", 1)
        self._training = False
        return self

    @property
    def training(self):
        """True in training mode."""
        return self._training

    # -- datasets --
    def train_epoch(self, dataset, batch_size, x, label, *, shuffle_seed=None):
        """One pass over a clnn.Dataset (shuffled first with shuffle_seed if given): samples
        feed input x, labels feed the int32 input `label`; returns the mean objective."""
        from .nn import Dataset
        if not isinstance(dataset, Dataset):
            raise invalid("train_epoch: dataset must be a clnn.Dataset")
        if shuffle_seed is not None:
            dataset.shuffle(shuffle_seed)
        bs = _int(batch_size, "batch_size")
        if bs <= 0:
            raise invalid("batch_size must be > 0")
        out = ctypes.c_float(0.0)
        self._run("clnn_model_train_epoch", dataset._handle(), bs, self._value(x, "x").id,
                  self._value(label, "label").id, ctypes.byref(out), values=True)
        self._batch = None
        return float(out.value)

    def fit(self, train, *, epochs=1, batch_size=32, validation=None, validation_split=None,
            callbacks=(), verbose="auto", x=None, target=None, output=None, **options):
        """Trains for `epochs` passes over `train` and returns a clnn.History (per-epoch loss,
        accuracy, val_loss, val_accuracy, lr, images_per_s). train / validation: a
        clnn.Dataset, (x, y) arrays (integer y: class labels; float y: targets for "mse" or
        "bce_with_logits") or a dict {value or name: array} of feeds. x / target: the inputs
        that a Dataset's or tuple's x and y feed (default: the graph's first and second
        inputs); output: the output whose argmax gives accuracy (default: the first).
        validation_split: hold out that fraction of train (drawn with validation_seed=0).
        callbacks: clnn.EarlyStopping, clnn.ModelCheckpoint, clnn.LRSchedule,
        clnn.LearningRateScheduler, clnn.ReduceLROnPlateau or any clnn.Callback. verbose: 0
        silent, 1/"auto" a progress bar on a terminal (a line per epoch otherwise), 2 a line
        per epoch. Other options: shuffle=True, seed=0 (the batch order), validation_seed,
        validation_batch_size, drop_last=False, stream (default sys.stdout), augment (a
        clnn.Augmentation for the training batches; default: a Dataset's own; False: none).
        See clnn.fit."""
        from .fit import fit
        return fit(self, train, epochs=epochs, batch_size=batch_size, validation=validation,
                   validation_split=validation_split, callbacks=callbacks, verbose=verbose, x=x,
                   target=target, output=output, **options)

    def evaluate(self, dataset, batch_size=256, x=None, label=None, output=None, *, target=None):
        """Evaluation mode, for every loss. A clnn.Dataset: the tuple (mean objective, accuracy
        of `output` (default: the first output)), its samples feeding input x and its labels
        the int32 input `label` (default: the graph's first input and the other one), computed
        in libclnn. Arrays or feeds (the forms fit takes: (x, y) or a dict): a dict with "loss"
        (the mean objective) and, for y feeding `target` (or `label`): "accuracy" for integer
        labels; "mse" and "mae" of `output` against float targets, "binary_accuracy" for a
        bce_with_logits loss on them."""
        from .nn import Dataset
        if not isinstance(dataset, Dataset):
            from .fit import evaluate
            if target is not None and label is not None:
                raise invalid("evaluate: give target= or label=, not both")
            return evaluate(self, dataset, batch_size=_int(batch_size, "batch_size"), x=x,
                            target=label if target is None else target, output=output)
        if x is None or label is None:
            from .fit import _GraphAdapter
            a = _GraphAdapter(self, x, label, output)
            if a.x is None or a.t is None:
                raise invalid("evaluate: name the inputs x= and label= (the graph has no "
                              "first input and one other)")
            x, label = a.x, a.t
        bs = _int(batch_size, "batch_size")
        if bs <= 0:
            raise invalid("batch_size must be > 0")
        o = -1 if output is None else self._value(output, "output").id
        loss, acc = ctypes.c_float(0.0), ctypes.c_float(0.0)
        self._run("clnn_model_evaluate", dataset._handle(), bs, self._value(x, "x").id,
                  self._value(label, "label").id, o, ctypes.byref(loss), ctypes.byref(acc),
                  values=True)
        self._batch = None
        return float(loss.value), float(acc.value)

    # -- parameters --
    @property
    def param_names(self):
        """Parameter and state names ("conv1.weight", "bn1.running_mean", ...), in order."""
        with self._lock:
            h = self._handle()
            return [_fn("clnn_model_param_name")(h, i).decode()
                    for i in range(_fn("clnn_model_num_params")(h))]

    def _param(self, name):
        v, g = ctypes.c_void_p(), ctypes.c_void_p()
        self._run("clnn_model_param", _name_arg(name, "parameter name"), ctypes.byref(v),
                  ctypes.byref(g))
        return v.value, g.value

    def param_tensor(self, name):
        """The Tensor of parameter `name` (the model's own: writing to it changes the model)."""
        return Tensor._view(self._ctx, self._param(name)[0], self)

    def param(self, name):
        """A NumPy copy of parameter (or state tensor) `name`."""
        return self.param_tensor(name).numpy()

    def param_grad(self, name):
        """A NumPy copy of parameter `name`'s gradient (None for state without one)."""
        g = self._param(name)[1]
        return None if not g else Tensor._view(self._ctx, g, self).numpy()

    def params(self):
        """{name: NumPy copy} of every parameter and state tensor."""
        return {n: self.param(n) for n in self.param_names}

    def load_state_dict(self, state):
        """Writes arrays into the named parameters (shapes must match); returns the model."""
        load_state(state, self.param_tensor)
        return self

    def _set_trainable(self, prefix, on):
        n = ctypes.c_size_t(0)
        self._run("clnn_model_set_trainable", _name_arg(prefix or "", "prefix"), on,
                  ctypes.byref(n))
        return int(n.value)

    def freeze(self, prefix=""):
        """Stops training every parameter whose name starts with prefix ("": all); returns how
        many matched (none is an error). Frozen parameters get no gradient kernels and keep
        their exact values."""
        return self._set_trainable(prefix, 0)

    def unfreeze(self, prefix=""):
        """Trains again every parameter whose name starts with prefix; returns how many."""
        return self._set_trainable(prefix, 1)

    def trainable(self, name):
        """Whether parameter `name` is trained (state tensors never are)."""
        with self._lock:
            r = _fn("clnn_model_param_trainable")(self._handle(), _name_arg(name, "name"))
        if r < 0:
            raise invalid(f"trainable: the model has no parameter {name!r}")
        return bool(r)

    @property
    def num_trainable(self):
        """Trained scalars in total."""
        with self._lock:
            return int(_fn("clnn_model_num_trainable")(self._handle()))

    # -- optimizer --
    def set_optimizer(self, kind="adam", lr=1e-3, **options):
        """Optimizer "sgd", "adam", "adamw", "rmsprop" or "adagrad" for every parameter, with
        PyTorch's meaning and defaults (as clnn.Net.set_optimizer); options: weight_decay,
        momentum, dampening, nesterov, beta1, beta2 (or betas=(b1, b2)), alpha, eps,
        clip_grad_norm. lr may be 0. Restarts the optimizer state."""
        cfg = optimizer_config(kind, lr, options)
        self._run("clnn_model_set_optimizer", ctypes.byref(cfg))
        return self

    def set_learning_rate(self, lr):
        """Changes the optimizer's base learning rate (>= 0); the optimizer state is kept."""
        self._run("clnn_model_set_learning_rate", _float(lr, "lr"))
        return self

    def param_group(self, prefix, lr, weight_decay=0.0):
        """Parameters whose name starts with prefix use this learning rate and weight decay
        instead of the optimizer's (the longest matching prefix wins; lr 0 keeps them fixed)."""
        self._run("clnn_model_set_param_group", _name_arg(prefix, "prefix"), _float(lr, "lr"),
                  _float(weight_decay, "weight_decay"))
        return self

    def set_schedule(self, kind, *args, **kwargs):
        """A learning-rate schedule, a factor of the optimizer step count on every group's rate:
        set_schedule("constant"); set_schedule("step", step_size, gamma) (lr * gamma **
        (steps // step_size)); set_schedule("cosine", warmup_steps, total_steps, min_ratio=0)
        (linear warm-up, then a cosine from lr down to lr * min_ratio at total_steps)."""
        forms = {"constant": lambda: {},
                 "step": lambda step_size, gamma=0.1: dict(step_size=step_size, gamma=gamma),
                 "cosine": lambda warmup_steps, total_steps, min_ratio=0.0: dict(
                     warmup_steps=warmup_steps, total_steps=total_steps, min_ratio=min_ratio)}
        if not isinstance(kind, str) or kind.lower() not in forms:
            raise invalid(f"schedule must be one of {', '.join(SCHEDULES)}, not {kind!r}")
        try:
            f = forms[kind.lower()](*args, **kwargs)
        except TypeError as e:
            raise invalid(f"set_schedule({kind!r}): {e}") from None
        s = Schedule(type=SCHEDULES[kind.lower()])
        for k, v in f.items():
            setattr(s, k, _float(v, k) if k in ("gamma", "min_ratio") else _u64(v, k))
        self._run("clnn_model_set_schedule", ctypes.byref(s))
        return self

    def current_lr(self, name=None):
        """The learning rate the next step uses for parameter `name` (None: the optimizer's),
        with its group and the schedule applied."""
        lr = ctypes.c_float(0.0)
        self._run("clnn_model_current_lr", _name_arg(name, "name"), ctypes.byref(lr))
        return float(lr.value)

    @property
    def step_count(self):
        """Optimizer steps taken."""
        with self._lock:
            return int(_fn("clnn_model_step_count")(self._handle()))

    # -- files --
    def save(self, path, optimizer=False):
        """Writes parameters and state (optimizer=True: also the optimizer state) as
        safetensors, with the graph and optimizer settings in its metadata, so Model.load(path)
        rebuilds the model without the code that built it. The file is replaced atomically."""
        self._run("clnn_model_save", _path(path), 1 if _flag(optimizer, "optimizer") else 0)
