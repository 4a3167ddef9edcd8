/* clnn_cl.h — OpenCL interop for clnn: the functions whose signatures use OpenCL types, for
 * programs that share OpenCL objects (contexts, devices, queues, buffers) with clnn. It includes
 * <CL/cl.h> and clnn.h; programs that do not share OpenCL objects include clnn.h alone and need
 * no OpenCL headers (since 0.3, docs/ABI.md). */
#ifndef CLNN_CL_H
#define CLNN_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include "clnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Wraps the caller's OpenCL objects. clnn retains them while the context lives and releases only
 * its own references on destroy: the caller keeps ownership. `queue` must be in-order and belong
 * to `context` and `device`. `options` may be NULL (its `device` field is ignored). */
clnn_status clnn_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                              const clnn_context_options *options, clnn_context **ctx);

/* Hands back the OpenCL objects (not retained for the caller); any out-pointer may be NULL. */
clnn_status clnn_context_get_cl(const clnn_context *ctx, cl_context *context, cl_device_id *device,
                                cl_command_queue *queue);

/* Wraps a caller-owned cl_mem (at least numel*4 bytes, on ctx's OpenCL context). clnn retains it
 * while the tensor lives; the caller keeps ownership. */
clnn_status clnn_tensor_wrap(clnn_context *ctx, cl_mem mem, int ndim, const size_t *dims,
                             clnn_tensor **out);

/* The tensor's buffer (not retained for the caller); NULL for NULL. */
cl_mem clnn_tensor_cl_mem(const clnn_tensor *t);

#ifdef __cplusplus
}
#endif

#endif /* CLNN_CL_H */
