"""bench/openblas_threads.py — shared by bench/torch_reference.py and bench/train_vs_torch.py:
find the OpenBLAS that PyTorch loaded into this process, so a script can set its thread count
together with torch.set_num_threads. No side effects on import."""
import ctypes
import re


def find_openblas():
    """openblas_set_num_threads of the OpenBLAS this process loaded with torch, or None."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted(set(re.findall(r"(/\S*blas\S*\.so[.\d]*)", f.read())))
    except OSError:
        return None
    for lib in libs:
        try:
            fn = ctypes.CDLL(lib).openblas_set_num_threads
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        return fn
    return None
