/* The shim's thread pool (_gemm_rows.c), shared by its kernels so that only one set of workers
 * spins between a step's calls: oscgen_pool_begin() takes the pool (0: another thread's call
 * holds it, so run on the caller alone; else the parts to split into), oscgen_pool_run(task, context)
 * runs task(context, part, parts) for every part, part 0 on the caller, and returns when all are done;
 * oscgen_pool_end() gives the pool back. */
#pragma once

int oscgen_pool_begin(void);
void oscgen_pool_run(void (*task)(void *context, int part, int parts), void *context);
void oscgen_pool_end(void);
