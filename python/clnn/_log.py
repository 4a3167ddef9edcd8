"""Routing libclnn's log messages to a Python function (the logging part of
src/runtime/status.c)."""

from . import _lib as L
from ._convert import _int
from ._errors import invalid

_LEVELS = {"error": 0, "warn": 1, "warning": 1, "info": 2, "debug": 3}
_log_keepalive = None


def set_log_callback(fn, level="warn"):
    """Routes libclnn's log messages up to `level` ("error", "warn", "info", "debug") to
    fn(level_name, message). None switches logging off. Process-wide."""
    global _log_keepalive
    lib = L.load()
    if isinstance(level, str):
        if level.lower() not in _LEVELS:
            raise invalid(f"log level must be one of error, warn, info, debug, not {level!r}")
        lv = _LEVELS[level.lower()]
    else:
        lv = _int(level, "level")
    if fn is None:
        lib.clnn_set_log_callback(L.LOG_FN(), lv, None)
        _log_keepalive = None
        return
    if not callable(fn):
        raise invalid("log callback must be callable or None")
    names = {0: "error", 1: "warn", 2: "info", 3: "debug"}

    def tramp(level_, message, user):
        try:
            fn(names.get(level_, str(level_)), message.decode("utf-8", "replace") if message else "")
        except Exception:  # an exception must not unwind into C
            pass

    cb = L.LOG_FN(tramp)
    lib.clnn_set_log_callback(cb, lv, None)
    _log_keepalive = cb
