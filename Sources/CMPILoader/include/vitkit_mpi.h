#ifndef VITKIT_MPI_H
#define VITKIT_MPI_H
#include <stddef.h>
#include <stdint.h>

/* Open MPI (4.x, libmpi.so.40) loaded at run time with dlopen, so that ViTKit builds and runs without MPI and
   the same binary joins an `mpirun` job when started by one. Every call is on MPI_COMM_WORLD; each returns
   MPI's error code (0 = MPI_SUCCESS), or -1 when MPI is not loaded. */

/* Loads libmpi and its symbols; returns 0, or -1 with a message in `error` (NUL-terminated, at most `size`). */
int vitkit_mpi_load(char *error, size_t size);
/* MPI_Init_thread(MPI_THREAD_FUNNELED); writes the rank and the world size. */
int vitkit_mpi_init(int *rank, int *size);
int vitkit_mpi_finalize(void);
/* In-place sums over all ranks. */
int vitkit_mpi_allreduce_sum_float(float *values, int64_t count);
int vitkit_mpi_allreduce_sum_double(double *values, int64_t count);
/* Rank `root`'s bytes to every rank. */
int vitkit_mpi_broadcast(void *bytes, int64_t count, int root);
/* Every rank's `count` bytes, in rank order, into `all` (size·count bytes). */
int vitkit_mpi_allgather(const void *bytes, int64_t count, void *all);
int vitkit_mpi_barrier(void);
/* Ends every rank of the job with `code`. */
int vitkit_mpi_abort(int code);
double vitkit_mpi_wtime(void);

#endif
