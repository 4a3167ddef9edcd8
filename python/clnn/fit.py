"""The training loop behind ``Model.fit`` and ``Net.fit``: mini-batches, validation, a progress
line per epoch, callbacks (early stopping, checkpoints, learning-rate schedules) and a History.

    hist = model.fit(train, epochs=20, batch_size=32, validation_split=0.1,
                     callbacks=[clnn.EarlyStopping(patience=3), clnn.ModelCheckpoint(
                         "ckpt-{epoch:03d}.safetensors", every=5)])
    hist["val_loss"], hist.best()                    # per-epoch lists; (epoch, value) of the best
    clnn.plot_history(hist, "curves.png")            # with matplotlib installed

Data (`train` and `validation`):

- a ``clnn.Dataset`` (samples and integer labels),
- a tuple ``(x, y)`` of arrays, batch-first: integer ``y`` are class labels (softmax
  cross-entropy), float ``y`` are targets shaped like the output (``"mse"``,
  ``"bce_with_logits"``); ``(x,)`` or a bare array for a graph whose losses need only ``x``,
- for a graph Model, a dict ``{value or name: array}`` feeding any number of inputs.

For a Model, a Dataset's or tuple's ``x`` feeds the graph's first input and ``y`` its second
(``x=`` and ``target=`` choose others). The data is copied to NumPy once; each batch is copied
to the device by the step that uses it (``Model.train_step`` / ``Net.train_step``).

Metrics: ``loss`` (the objective's mean over the samples of the epoch, each batch weighted by its
size) and, when ``y`` holds class labels, ``accuracy`` (the output's argmax; a Model measures it
on the training batches' own outputs, a Net only on validation data). Validation runs in
evaluation mode (dropout off, batch-norm running statistics) and gives ``val_loss`` and
``val_accuracy`` for labels; for float targets ``val_mse`` and ``val_mae`` (the output against
the targets), or ``val_binary_accuracy`` with a bce_with_logits loss (``evaluate`` below, which
``Net.evaluate`` and ``Model.evaluate`` use for arrays). Each epoch also records ``lr`` (the learning rate at its end),
``images_per_s`` (training samples per second, validation excluded) and ``time_s``.

Augmentation: ``augment=clnn.Augmentation(shift=1, rotate=10, noise=0.05, seed=0)`` (or a
Dataset's own, set with ``Dataset.augment``) changes each training batch's images [N, C, H, W]
on a copy, with the step number as the stream (same seed: same bits); validation batches are
never augmented. ``augment=False`` trains on a Dataset's images as they are.
"""

import os
import sys
import time

import numpy as np

from ._errors import invalid, shape_mismatch
from .callbacks import (History, Callback, EarlyStopping, ModelCheckpoint,  # noqa: F401 (re-exported)
                        LearningRateScheduler, LRSchedule, ReduceLROnPlateau,
                        _num, _fmt_logs)

__all__ = ["History", "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
           "LRSchedule", "ReduceLROnPlateau", "plot_history", "fit", "evaluate"]




# ============================================================================================
# Data
# ============================================================================================

class _Data:
    """Batch-first arrays by role: "x" and "y" (Net; Model with x=/target=) or feed keys."""

    def __init__(self, arrays, n):
        self.arrays, self.n = arrays, n

    def take(self, idx):
        return {k: a[idx] for k, a in self.arrays.items()}

    def split(self, fraction, seed):
        """(first, held-out `fraction`), the held-out part drawn with `seed` (None: the last
        samples)."""
        k = int(round(self.n * fraction))
        if not 0 < k < self.n:
            raise invalid(f"validation_split={fraction} leaves no samples on one side of "
                          f"{self.n}")
        order = (np.arange(self.n) if seed is None
                 else np.random.default_rng(seed).permutation(self.n))
        a, b = np.sort(order[:self.n - k]), np.sort(order[self.n - k:])
        return _Data(self.take(a), len(a)), _Data(self.take(b), len(b))


def _as_data(data, what, is_graph):
    from .nn import Dataset
    from ._core import Tensor
    if isinstance(data, Dataset):
        return _Data({"x": data.x, "y": data.labels}, len(data))
    if isinstance(data, dict):
        if not is_graph:
            raise invalid(f"{what}: a dict of feeds is for graph Models; a Net takes a Dataset "
                          f"or (x, y)")
        arrays = {}
        for k, a in data.items():
            if isinstance(a, Tensor):
                a = a.numpy()
            arrays[k] = np.asarray(a)
        if not arrays:
            raise invalid(f"{what}: the dict of feeds is empty")
        ns = {k: a.shape[0] if a.ndim else None for k, a in arrays.items()}
        if any(n is None for n in ns.values()) or len(set(ns.values())) != 1:
            raise shape_mismatch(f"{what}: every feed needs the same batch-first length; got "
                                 + ", ".join(f"{getattr(k, 'name', k)}: {n}"
                                             for k, n in ns.items()))
        return _Data(arrays, next(iter(ns.values())))
    if isinstance(data, (tuple, list)):
        if not 1 <= len(data) <= 2:
            raise invalid(f"{what}: a tuple must be (x, y) or (x,)")
        x = np.asarray(data[0].numpy() if isinstance(data[0], Tensor) else data[0])
        arrays = {"x": x}
        if len(data) == 2 and data[1] is not None:
            y = np.asarray(data[1].numpy() if isinstance(data[1], Tensor) else data[1])
            if y.ndim == 0 or y.shape[0] != x.shape[0]:
                raise shape_mismatch(f"{what}: x has {x.shape[0] if x.ndim else 0} samples, y "
                                     f"has shape {y.shape}")
            arrays["y"] = y
    elif isinstance(data, (np.ndarray, Tensor)):
        x = np.asarray(data.numpy() if isinstance(data, Tensor) else data)
        arrays = {"x": x}
    else:
        raise invalid(f"{what}: expected a clnn.Dataset, (x, y) arrays or (for a graph Model) a "
                      f"dict of feeds, not {type(data).__name__}")
    if x.ndim < 1 or x.shape[0] == 0:
        raise shape_mismatch(f"{what}: x needs a batch dimension with at least one sample")
    return _Data(arrays, x.shape[0])


def _is_labels(y):
    return y is not None and np.issubdtype(np.asarray(y).dtype, np.integer)


# ============================================================================================
# The models' side: one adapter for Model, one for Net
# ============================================================================================

class _GraphAdapter:
    is_graph = True

    def __init__(self, m, x, target, output):
        self.m = m
        ins = m.graph.inputs
        self.x = m._value(x, "x") if x is not None else (ins[0] if ins else None)
        if target is not None:
            self.t = m._value(target, "target")
        else:
            rest = [v for v in ins if self.x is None or v.id != self.x.id]
            self.t = rest[0] if len(rest) == 1 else None
        outs = m.graph.outputs
        self.out = (m._value(output, "output") if output is not None
                    else (outs[0] if outs else None))

    def feeds(self, batch):
        f = {}
        for k, a in batch.items():
            if k == "x":
                f[self.x] = a
            elif k == "y":
                if self.t is None:
                    raise invalid("fit: (x, y) data, but the graph has no second input for y; "
                                  "name it with target=")
                f[self.t] = a
            else:
                f[k] = a
        return f

    def labels_of(self, batch):
        if "y" in batch:
            y = batch["y"]
        elif self.t is not None:
            y = next((a for k, a in batch.items() if k is self.t or k == self.t.name or
                      (hasattr(k, "id") and k.id == self.t.id)), None)
        else:
            y = None
        return y if _is_labels(y) else None

    def targets_of(self, batch):
        """Float targets of the batch (for the target input), or None."""
        if self.t is None:
            return None
        if "y" in batch:
            y = batch["y"]
        else:
            y = next((a for k, a in batch.items() if k is self.t or k == self.t.name or
                      (hasattr(k, "id") and k.id == self.t.id)), None)
        return None if y is None or _is_labels(y) else y

    def target_kind(self):
        """The loss on the target input ("mse", "bce_with_logits"; None: unknown)."""
        if self.t is None:
            return None
        return self.m.graph._info.get(("loss", self.t.id))

    def train_batch(self, batch, want_out):
        loss = self.m.train_step(self.feeds(batch))
        out = self.m.value(self.out) if want_out and self.out is not None else None
        return loss, out

    def eval_batch(self, batch, want_out):
        loss = self.m.forward(self.feeds(batch), loss=True)
        out = self.m.value(self.out) if want_out and self.out is not None else None
        return loss, out

    def begin_eval(self):
        self._was_training = self.m.training
        self.m.eval()

    def end_eval(self):
        if self._was_training:
            self.m.train()

    def get_weights(self):
        return self.m.params()

    def set_weights(self, w):
        self.m.load_state_dict(w)

    def base_lr(self):
        # the optimizer's base rate (no group, no schedule): current_lr() applies the schedule
        return self._base if getattr(self, "_base", None) is not None else self.m.current_lr()

    def set_base_lr(self, lr):
        self.m.set_learning_rate(lr)
        self._base = lr

    def lr(self):
        return self.m.current_lr()

    def step_count(self):
        return self.m.step_count


def _np_loss(kind, out, y):
    """The mean loss as the library computes it, in NumPy (a Net's validation)."""
    out = out.astype(np.float64)
    if kind == "softmax_cross_entropy":
        z = out.reshape(-1, out.shape[-1])
        lab = np.asarray(y).reshape(-1).astype(np.int64)
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(lse - z[np.arange(len(lab)), lab]))
    t = np.asarray(y, dtype=np.float64).reshape(out.shape)
    if kind == "mse":
        return float(np.mean((out - t) ** 2))
    return float(np.mean(np.maximum(out, 0) - out * t + np.log1p(np.exp(-np.abs(out)))))


class _NetAdapter:
    is_graph = False

    def __init__(self, net):
        self.m = net

    def _xy(self, batch):
        y = batch.get("y")
        if self.m.loss == "softmax_cross_entropy":
            if y is None:
                raise invalid("fit: softmax cross-entropy needs labels: pass (x, labels) or a "
                              "Dataset")
            return batch["x"], y, None
        if y is None:
            raise invalid(f"fit: the {self.m.loss} loss needs targets: pass (x, targets)")
        return batch["x"], None, y

    def labels_of(self, batch):
        y = batch.get("y")
        return y if self.m.loss == "softmax_cross_entropy" and _is_labels(y) else None

    def targets_of(self, batch):
        return batch.get("y") if self.m.loss != "softmax_cross_entropy" else None

    def target_kind(self):
        return self.m.loss

    def train_batch(self, batch, want_out):
        x, lab, tgt = self._xy(batch)
        return self.m.train_step(x, labels=lab, targets=tgt), None

    def eval_batch(self, batch, want_out):
        x, lab, tgt = self._xy(batch)
        out = self.m.predict(x)
        return _np_loss(self.m.loss, out, lab if tgt is None else tgt), out

    def begin_eval(self):
        pass

    def end_eval(self):
        pass

    def get_weights(self):
        return self.m.state_dict()

    def set_weights(self, w):
        self.m.load_state_dict(w)

    def base_lr(self):
        return self.m.learning_rate

    def set_base_lr(self, lr):
        self.m.set_learning_rate(lr)

    lr = base_lr

    def step_count(self):
        return self.m.step_count


def _correct(out, labels):
    """Correct argmax predictions of `out` [N, ..., C] for integer labels [N, ...]."""
    if out is None or labels is None:
        return None
    pred = out.reshape(-1, out.shape[-1]).argmax(axis=1)
    lab = np.asarray(labels).reshape(-1)
    if pred.shape != lab.shape:
        return None
    return int((pred == lab).sum()), lab.size


# ============================================================================================
# Progress
# ============================================================================================

def _dur(s):
    if s < 10:
        return f"{s:.1f}s"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s}s"


class _Progress:
    """verbose 0: nothing; 1: a bar with ETA on a terminal, else a line per epoch; 2: a line per
    epoch."""

    def __init__(self, verbose, stream, epochs, steps):
        self.stream = sys.stdout if stream is None else stream
        if verbose is True or verbose == "auto":
            verbose = 1
        self.verbose = int(verbose or 0)
        tty = getattr(self.stream, "isatty", None)
        self.bar = self.verbose == 1 and bool(tty and tty())
        self.epochs, self.steps = epochs, steps
        self.width = len(str(epochs))

    def epoch_begin(self, epoch):
        self.t0 = self.last = time.perf_counter()
        self.epoch = epoch

    def batch_end(self, step, loss_avg):
        if not self.bar:
            return
        now = time.perf_counter()
        if step < self.steps and now - self.last < 0.1:
            return
        self.last = now
        el = now - self.t0
        eta = el / step * (self.steps - step)
        n = 24
        done = n * step // self.steps
        bar = "=" * max(done - 1, 0) + (">" if done < n else "=") + "." * (n - done)
        self.stream.write(f"\rEpoch {self.epoch:>{self.width}}/{self.epochs} [{bar}] "
                          f"{step}/{self.steps} ETA {_dur(eta)} - loss {_num(loss_avg)}\033[K")
        self.stream.flush()

    def epoch_end(self, logs):
        if not self.verbose:
            return
        line = (f"Epoch {self.epoch:>{self.width}}/{self.epochs} - {_dur(logs['time_s'])} - "
                f"{logs['images_per_s']:.0f} samples/s - {_fmt_logs(logs)} - lr "
                f"{_num(logs['lr'])}")
        self.stream.write(("\r" if self.bar else "") + line + ("\033[K" if self.bar else "")
                          + "\n")
        self.stream.flush()

    def say(self, msg):
        if self.verbose:
            self.stream.write(msg + "\n")
            self.stream.flush()


# ============================================================================================
# The loop
# ============================================================================================

class _Trainer:
    def __init__(self, adapter, epochs, steps_per_epoch, progress):
        self.a = adapter
        self.is_graph = adapter.is_graph
        self.epochs, self.steps_per_epoch, self.progress = epochs, steps_per_epoch, progress
        self.stop_training = False
        self.history = History()
        self.epoch = 0
        self.last_logs = {}

    def __getattr__(self, name):  # get_weights, set_weights, base_lr, set_base_lr, step_count
        if name in ("get_weights", "set_weights", "base_lr", "set_base_lr", "step_count", "lr"):
            return getattr(self.a, name)
        raise AttributeError(name)

    def say(self, msg):
        self.progress.say(msg)


def _target_sums(out, tgt, kind):
    """Sums for the float-target metrics of one batch: {metric: (sum, count)}."""
    if out is None or tgt is None:
        return {}
    o = np.asarray(out, dtype=np.float64).reshape(-1)
    t = np.asarray(tgt, dtype=np.float64).reshape(-1)
    if o.shape != t.shape:
        return {}
    if kind == "bce_with_logits":  # a logit > 0 predicts 1; a target >= 0.5 is 1
        return {"binary_accuracy": (float(((o > 0) == (t >= 0.5)).sum()), o.size)}
    d = o - t
    return {"mse": (float((d * d).sum()), o.size), "mae": (float(np.abs(d).sum()), o.size)}


def _evaluate(adapter, data, batch_size, prefix=""):
    """The mean loss over data in evaluation mode (batches of batch_size) and the metrics its
    targets allow: accuracy for class labels; for float targets, mse and mae of the output
    against them (binary_accuracy instead for a bce_with_logits loss)."""
    adapter.begin_eval()
    sums = {}
    try:
        tot, n, corr, cnt = 0.0, 0, 0, 0
        kind = adapter.target_kind()
        for s in range(0, data.n, batch_size):
            b = data.take(slice(s, min(data.n, s + batch_size)))
            lab = adapter.labels_of(b)
            tgt = adapter.targets_of(b) if lab is None else None
            loss, out = adapter.eval_batch(b, lab is not None or tgt is not None)
            k = min(data.n, s + batch_size) - s
            tot, n = tot + loss * k, n + k
            c = _correct(out, lab)
            if c is not None:
                corr, cnt = corr + c[0], cnt + c[1]
            for name, (v, m) in _target_sums(out, tgt, kind).items():
                a, b_ = sums.get(name, (0.0, 0))
                sums[name] = (a + v, b_ + m)
    finally:
        adapter.end_eval()
    logs = {prefix + "loss": tot / max(n, 1)}
    if cnt:
        logs[prefix + "accuracy"] = corr / cnt
    for name, (v, m) in sums.items():
        logs[prefix + name] = v / max(m, 1)
    return logs


def evaluate(model, data, *, batch_size=256, x=None, target=None, output=None):
    """{loss, metrics} of `model` (a clnn.Model or clnn.Net) over `data` (any form fit takes) in
    evaluation mode: "loss" (the mean objective, each batch weighted by its size), "accuracy"
    for class labels, "mse" and "mae" (the output against float targets) or "binary_accuracy"
    for a bce_with_logits loss."""
    from ._model import Model
    adapter = (_GraphAdapter(model, x, target, output) if isinstance(model, Model)
               else _NetAdapter(model))
    bs = int(batch_size)
    if bs <= 0:
        raise invalid("evaluate: batch_size must be > 0")
    return _evaluate(adapter, _as_data(data, "evaluate", adapter.is_graph), bs)


def fit(model, train, *, epochs=1, batch_size=32, validation=None, validation_split=None,
        validation_seed=0, shuffle=True, seed=0, callbacks=(), verbose="auto", stream=None,
        x=None, target=None, output=None, validation_batch_size=None, drop_last=False,
        augment=None):
    """Trains `model` (a clnn.Model or clnn.Net) for `epochs` passes over `train`; returns a
    History. See the module docstring for the data forms and Model.fit for the arguments."""
    from ._model import Model
    from .nn import Net, Dataset
    from .augment import Augmentation
    if augment is None and isinstance(train, Dataset):
        augment = train.augmentation
    if augment is False:
        augment = None
    if augment is not None and not isinstance(augment, Augmentation):
        raise invalid(f"fit: augment must be a clnn.Augmentation, False or None, not "
                      f"{type(augment).__name__}")
    if isinstance(model, Model):
        adapter = _GraphAdapter(model, x, target, output)
    elif isinstance(model, Net):
        if x is not None or target is not None or output is not None:
            raise invalid("fit: x=, target= and output= are for graph Models")
        adapter = _NetAdapter(model)
    else:
        raise invalid(f"fit: model must be a clnn.Model or clnn.Net, not {type(model).__name__}")
    epochs, batch_size = int(epochs), int(batch_size)
    if epochs < 0 or batch_size <= 0:
        raise invalid("fit: epochs must be >= 0 and batch_size > 0")
    tr = _as_data(train, "train", adapter.is_graph)
    if augment is not None and ("x" not in tr.arrays or tr.arrays["x"].ndim != 5 - 1):
        raise invalid("fit: augment= needs images: a Dataset or (x, y) with x [N, C, H, W]")
    val = None
    if validation is not None and validation_split is not None:
        raise invalid("fit: give validation= or validation_split=, not both")
    if validation_split is not None:
        if not 0.0 < float(validation_split) < 1.0:
            raise invalid("fit: validation_split must be in (0, 1)")
        tr, val = tr.split(float(validation_split), validation_seed)
    elif validation is not None:
        val = _as_data(validation, "validation", adapter.is_graph)
    vbs = int(validation_batch_size or max(batch_size, 256))
    steps = tr.n // batch_size if drop_last else -(-tr.n // batch_size)
    if steps == 0:
        raise invalid(f"fit: {tr.n} samples make no batch of {batch_size} with drop_last=True")
    cbs = list(callbacks or ())
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise invalid(f"fit: callbacks must be clnn.Callback objects, not "
                          f"{type(cb).__name__}")
    progress = _Progress(verbose, stream, epochs, steps)
    t = _Trainer(adapter, epochs, steps, progress)
    t.history.params = dict(epochs=epochs, batch_size=batch_size, steps=steps, samples=tr.n,
                            validation_samples=val.n if val else 0)
    for cb in cbs:
        cb.model, cb.trainer = model, t
    rng = np.random.default_rng(seed)
    stream = 0
    for cb in cbs:
        cb.on_train_begin({})
    try:
        for epoch in range(1, epochs + 1):
            t.epoch = epoch
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            progress.epoch_begin(epoch)
            order = rng.permutation(tr.n) if shuffle else np.arange(tr.n)
            t0 = time.perf_counter()
            tot, n, corr, cnt = 0.0, 0, 0, 0
            for step in range(steps):
                idx = order[step * batch_size:(step + 1) * batch_size]
                if shuffle:
                    idx = np.sort(idx)  # gathers in memory order; the batch's samples are the same
                b = tr.take(idx)
                if augment is not None:  # training batches only; a new stream per step
                    b["x"] = augment(b["x"], stream=stream)
                    stream += 1
                for cb in cbs:
                    cb.on_batch_begin(step + 1, {})
                lab = adapter.labels_of(b)
                loss, out = adapter.train_batch(b, lab is not None)
                k = len(idx)
                tot, n = tot + loss * k, n + k
                c = _correct(out, lab)
                if c is not None:
                    corr, cnt = corr + c[0], cnt + c[1]
                blogs = {"loss": loss, "size": k}
                for cb in cbs:
                    cb.on_batch_end(step + 1, blogs)
                progress.batch_end(step + 1, tot / n)
            el = time.perf_counter() - t0
            logs = {"loss": tot / max(n, 1)}
            if cnt:
                logs["accuracy"] = corr / cnt
            if val is not None:
                logs.update(_evaluate(adapter, val, vbs, "val_"))
            logs["lr"] = adapter.lr()
            logs["images_per_s"] = n / el if el > 0 else float("inf")
            logs["time_s"] = time.perf_counter() - t0
            progress.epoch_end(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            t.history._append(epoch, logs)
            t.last_logs = logs
            if t.stop_training:
                progress.say(f"Stopped after epoch {epoch} (no improvement)")
                break
    finally:
        for cb in cbs:
            cb.on_train_end(dict(t.last_logs))
    return t.history


# ============================================================================================
# Plots
# ============================================================================================

def plot_history(history, path=None, *, metrics=None, title=None):
    """Learning curves of a History (or its .history dict) with matplotlib (pip install
    matplotlib, or the package's [plot] extra): one panel per metric ("loss", "accuracy", ...),
    training and validation together. path: write the figure there (PNG, SVG, PDF: by the
    name) and close it; None: return the matplotlib Figure."""
    try:
        import matplotlib
        if path is not None and "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("clnn.plot_history needs matplotlib: pip install matplotlib (or "
                          "apt-get install python3-matplotlib)") from None
    h = history.history if isinstance(history, History) else dict(history)
    epochs = (history.epochs if isinstance(history, History) and history.epochs
              else list(range(1, len(next(iter(h.values()), [])) + 1)))
    if metrics is None:  # loss, accuracy, other metrics, then the learning rate
        names = [k for k in h if not k.startswith("val_")]
        names += [k[4:] for k in h if k.startswith("val_") and k[4:] not in names]
        first = [k for k in ("loss", "accuracy") if k in names]
        metrics = first + [k for k in names if k not in first and k not in
                           ("lr", "images_per_s", "time_s")] + (["lr"] if "lr" in names else [])
    if not metrics:
        raise invalid("plot_history: nothing to plot")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, k in zip(axes[0], metrics):
        for key, label, style in ((k, "train", "-o"), ("val_" + k, "validation", "-s")):
            vals = h.get(key)
            if vals and any(v is not None for v in vals):
                ax.plot(epochs[:len(vals)], [np.nan if v is None else v for v in vals], style,
                        markersize=3, label=label)
        ax.set_title(k)
        ax.set_xlabel("epoch")
        if k == "lr" or (k == "loss" and all(v is None or v > 0 for v in h.get(k, []))):
            vals = [v for v in h.get(k, []) + h.get("val_" + k, []) if v]
            if vals and max(vals) / max(min(vals), 1e-30) > 20:
                ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ("val_" + k) in h:
            ax.legend()
    if isinstance(history, History) and history.best_epoch is not None:
        for ax in axes[0]:
            ax.axvline(history.best_epoch, color="gray", ls=":", lw=1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)
    return os.fspath(path)
