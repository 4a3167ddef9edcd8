"""clnn.Error and the status names."""

# The clnn_status values of include/clnn.h.
STATUS_CODES = {
    "CLNN_SUCCESS": 0,
    "CLNN_ERROR_INVALID_ARGUMENT": -1,
    "CLNN_ERROR_SHAPE_MISMATCH": -2,
    "CLNN_ERROR_OUT_OF_MEMORY": -3,
    "CLNN_ERROR_NO_DEVICE": -4,
    "CLNN_ERROR_DEVICE_NOT_FOUND": -5,
    "CLNN_ERROR_CONTEXT_MISMATCH": -6,
    "CLNN_ERROR_OPENCL": -7,
    "CLNN_ERROR_BUILD": -8,
    "CLNN_ERROR_BINARY_MISSING": -9,
    "CLNN_ERROR_GEMM": -10,
    "CLNN_ERROR_IO": -11,
    "CLNN_ERROR_FORMAT": -12,
    "CLNN_ERROR_UNSUPPORTED": -13,
    "CLNN_ERROR_INTERNAL": -14,
    "CLNN_ERROR_NOT_FINITE": -15,
}
_NAMES = {v: k for k, v in STATUS_CODES.items()}

# Raised by the package itself (never by libclnn): the library could not be loaded.
LIBRARY_NOT_FOUND = "CLNN_LIBRARY_NOT_FOUND"


def status_name(code):
    return _NAMES.get(code, f"CLNN_STATUS_{code}")


class Error(Exception):
    """A clnn call failed, or the package refused an argument before calling the library.

    Attributes:
        status:  the status name, as clnn_status_string gives it ("CLNN_ERROR_SHAPE_MISMATCH").
        code:    the numeric clnn_status (-2), or None for LIBRARY_NOT_FOUND.
        message: the library's clnn_last_error() text, or the package's own explanation.
    """

    def __init__(self, status, message, code=None):
        self.status = status
        self.code = STATUS_CODES.get(status) if code is None else code
        self.message = message
        super().__init__(f"{status}: {message}" if message else status)


class LibraryNotFoundError(Error, OSError):
    """libclnn could not be found or loaded (status CLNN_LIBRARY_NOT_FOUND)."""

    def __init__(self, message):
        Error.__init__(self, LIBRARY_NOT_FOUND, message, code=None)


def invalid(message):
    return Error("CLNN_ERROR_INVALID_ARGUMENT", message)


def shape_mismatch(message):
    return Error("CLNN_ERROR_SHAPE_MISMATCH", message)
