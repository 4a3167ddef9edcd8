"""History and callbacks of ``fit`` (clnn/fit.py): EarlyStopping (best weights restored),
ModelCheckpoint (every N epochs, best only, final), LearningRateScheduler, LRSchedule (the library's
schedules on a Model) and ReduceLROnPlateau."""

import math
import os

from ._errors import invalid

__all__ = ["History", "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
           "LRSchedule", "ReduceLROnPlateau"]


# ============================================================================================
# History
# ============================================================================================

class History:
    """What fit() returns: ``history[key]`` is a list with one value per epoch for "loss",
    "accuracy", "val_loss", "val_accuracy", "lr", "images_per_s", "time_s" (the keys that
    apply); ``epochs`` the epoch numbers (1-based); ``stopped_epoch`` the epoch early stopping
    ended on (None if training ran to the end); ``best_epoch`` the epoch whose weights
    EarlyStopping restored (None if none did)."""

    def __init__(self):
        self.history = {}
        self.epochs = []
        self.params = {}
        self.stopped_epoch = None
        self.best_epoch = None

    def _append(self, epoch, logs):
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, [None] * (len(self.epochs) - 1)).append(v)
        for k, v in self.history.items():
            if len(v) < len(self.epochs):
                v.append(None)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self):
        return len(self.epochs)

    def best(self, monitor="val_loss", mode="auto"):
        """(epoch, value) of the best epoch by `monitor` (min for losses, max for accuracy)."""
        vals = self.history.get(monitor)
        if not vals:
            raise invalid(f"History.best: no {monitor!r} recorded (keys: {list(self.history)})")
        sign = -1.0 if _mode(monitor, mode) == "max" else 1.0
        i = min(range(len(vals)), key=lambda j: math.inf if vals[j] is None else sign * vals[j])
        return self.epochs[i], vals[i]

    def __repr__(self):
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"<clnn.History {len(self.epochs)} epochs, last {_fmt_logs(last)}>"


def _mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise invalid(f"mode must be 'auto', 'min' or 'max', not {mode!r}")
    if mode != "auto":
        return mode
    return "max" if ("acc" in monitor or monitor.endswith("images_per_s")) else "min"


# ============================================================================================
# Callbacks
# ============================================================================================

class Callback:
    """Base class: override any of the hooks. ``self.model`` is the Model or Net being trained,
    ``self.trainer.stop_training = True`` ends training after the current epoch. `logs` dicts
    hold the metrics so far ("loss", "val_loss", ...); epochs are 1-based."""

    model = None
    trainer = None

    def on_train_begin(self, logs):
        pass

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_batch_begin(self, batch, logs):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class EarlyStopping(Callback):
    """Stops when `monitor` ("val_loss" by default; "loss" without validation data) has not
    improved by more than min_delta for `patience` epochs; restore_best_weights (the default)
    puts back the parameters of the best epoch at the end (even when training ran to the end)."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True, baseline=None):
        if patience < 0:
            raise invalid("EarlyStopping: patience must be >= 0")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(min_delta)
        self.mode, self.restore_best_weights, self.baseline = mode, restore_best_weights, baseline

    def on_train_begin(self, logs):
        self._sign = -1.0 if _mode(self.monitor, self.mode) == "max" else 1.0
        self.best = math.inf if self.baseline is None else self._sign * self.baseline
        self.best_epoch, self.best_weights, self.wait = None, None, 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        v = logs.get(self.monitor)
        if v is None and self.monitor == "val_loss" and "val_loss" not in logs:
            v = logs.get("loss")  # no validation data: watch the training loss
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return
        if self._sign * v < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = self._sign * v, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.trainer.get_weights()
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.stopped_epoch = epoch
                self.trainer.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.set_weights(self.best_weights)
            self.trainer.history.best_epoch = self.best_epoch
            if self.best_epoch != self.trainer.epoch:
                self.trainer.say(f"EarlyStopping: restored the weights of epoch "
                                 f"{self.best_epoch} ({self.monitor} "
                                 f"{_num(self._sign * self.best)})")
        if self.stopped_epoch is not None:
            self.trainer.history.stopped_epoch = self.stopped_epoch


class ModelCheckpoint(Callback):
    """Saves the model every `every` epochs (and after the last epoch when final=True) to `path`,
    which may hold {epoch} and metric fields ("ckpt-{epoch:03d}-{val_loss:.3f}.safetensors").
    save_best_only: only when `monitor` improved. optimizer=True also saves the optimizer state
    (to resume training). Files are written by Model.save / Net.save (atomically)."""

    def __init__(self, path, every=1, *, save_best_only=False, monitor="val_loss", mode="auto",
                 optimizer=False, final=False):
        if int(every) < 1:
            raise invalid("ModelCheckpoint: every must be >= 1")
        self.path, self.every, self.save_best_only = os.fspath(path), int(every), save_best_only
        self.monitor, self.mode, self.optimizer, self.final = monitor, mode, optimizer, final
        self.saved = []

    def on_train_begin(self, logs):
        self._sign = -1.0 if _mode(self.monitor, self.mode) == "max" else 1.0
        self._best = math.inf
        self._last_saved_epoch = None

    def _save(self, epoch, logs):
        fields = {k: (math.nan if v is None else v) for k, v in logs.items()}
        try:
            p = self.path.format(epoch=epoch, **fields)
        except (KeyError, ValueError, IndexError) as e:
            raise invalid(f"ModelCheckpoint: cannot format {self.path!r} with epoch and "
                          f"{sorted(fields)}: {e}") from None
        self.model.save(p, optimizer=self.optimizer)
        self.saved.append(p)
        self._last_saved_epoch = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch % self.every:
            return
        if self.save_best_only:
            v = logs.get(self.monitor)
            if v is None or not self._sign * v < self._best:
                return
            self._best = self._sign * v
        self._save(epoch, logs)

    def on_train_end(self, logs):
        ep = self.trainer.epoch
        if self.final and ep and self._last_saved_epoch != ep and not self.save_best_only:
            self._save(ep, self.trainer.last_logs)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch: schedule(epoch, lr) -> new lr (epoch
    1-based, lr the current base rate), or a dict {epoch: lr} (epochs not listed keep the
    rate)."""

    def __init__(self, schedule):
        if not callable(schedule) and not hasattr(schedule, "get"):
            raise invalid("LearningRateScheduler: schedule must be a function (epoch, lr) -> lr "
                          "or a dict {epoch: lr}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs):
        lr = self.trainer.base_lr()
        new = (self.schedule(epoch, lr) if callable(self.schedule)
               else self.schedule.get(epoch, lr))
        if new is not None and float(new) != lr:
            self.trainer.set_base_lr(float(new))


class LRSchedule(Callback):
    """A per-step schedule given in epochs: LRSchedule("cosine", warmup_epochs=1, min_ratio=0.0)
    (linear warm-up, then a cosine down to lr * min_ratio at the end of fit's epochs),
    LRSchedule("step", step_epochs=10, gamma=0.1), LRSchedule("constant"). A graph Model runs it
    in the library (Model.set_schedule, converted to steps; the schedule stays set after fit);
    a Net gets the same factors from Python at every batch."""

    def __init__(self, kind, *, warmup_epochs=0, min_ratio=0.0, step_epochs=None, gamma=0.1):
        kind = kind.lower() if isinstance(kind, str) else kind
        if kind not in ("constant", "step", "cosine"):
            raise invalid(f"LRSchedule: kind must be 'constant', 'step' or 'cosine', not {kind!r}")
        if kind == "step" and (step_epochs is None or step_epochs <= 0):
            raise invalid("LRSchedule('step') needs step_epochs > 0")
        self.kind, self.warmup_epochs, self.min_ratio = kind, warmup_epochs, min_ratio
        self.step_epochs, self.gamma = step_epochs, gamma

    def on_train_begin(self, logs):
        t = self.trainer
        spe = t.steps_per_epoch
        self._start = t.step_count()
        self._warm = int(round(self.warmup_epochs * spe))
        self._total = self._warm + max(1, t.epochs * spe - self._warm)
        self._size = max(1, int(round((self.step_epochs or 1) * spe)))
        if t.is_graph:
            m = self.model
            if self.kind == "cosine":
                # the library counts steps from the model's first; shift the end by the steps
                # already taken (the warm-up is not shifted)
                m.set_schedule("cosine", self._warm, self._start + self._total, self.min_ratio)
            elif self.kind == "step":
                m.set_schedule("step", self._size, self.gamma)
            else:
                m.set_schedule("constant")
        else:
            self._base = t.base_lr()

    def factor(self, t):
        """The factor on the base rate for the step after `t` steps (the library's formula)."""
        if self.kind == "step":
            return self.gamma ** (t // self._size)
        if self.kind == "cosine":
            if t < self._warm:
                return (t + 1) / (self._warm + 1)
            if t >= self._total:
                return self.min_ratio
            p = (t - self._warm) / (self._total - self._warm)
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * p))
        return 1.0

    def on_batch_begin(self, batch, logs):
        if not self.trainer.is_graph:
            t = self.trainer.step_count() - self._start
            self.model.set_learning_rate(self._base * self.factor(t))

    def on_train_end(self, logs):
        if not self.trainer.is_graph:
            self.model.set_learning_rate(self._base)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved for `patience`
    epochs (not below min_lr), then waits `cooldown` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=2, min_delta=0.0, mode="auto",
                 min_lr=0.0, cooldown=0):
        if not 0 < factor < 1:
            raise invalid("ReduceLROnPlateau: factor must be in (0, 1)")
        self.monitor, self.factor, self.patience, self.min_delta = monitor, factor, patience, \
            min_delta
        self.mode, self.min_lr, self.cooldown = mode, min_lr, cooldown

    def on_train_begin(self, logs):
        self._sign = -1.0 if _mode(self.monitor, self.mode) == "max" else 1.0
        self._best, self._wait, self._cool = math.inf, 0, 0

    def on_epoch_end(self, epoch, logs):
        v = logs.get(self.monitor)
        if v is None:
            return
        if self._cool > 0:
            self._cool -= 1
            self._wait = 0
        if self._sign * v < self._best - self.min_delta:
            self._best, self._wait = self._sign * v, 0
        elif self._cool == 0:
            self._wait += 1
            if self._wait > self.patience:
                lr = self.trainer.base_lr()
                new = max(self.min_lr, lr * self.factor)
                if new < lr:
                    self.trainer.set_base_lr(new)
                    self.trainer.say(f"ReduceLROnPlateau: lr {_num(lr)} -> {_num(new)}")
                self._wait, self._cool = 0, self.cooldown

def _num(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


def _fmt_logs(logs):
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs]
    keys += [k for k in logs if k not in keys and k not in ("lr", "images_per_s", "time_s")]
    return " - ".join(f"{k} {_num(logs[k])}" for k in keys)
