#include "vitkit_mpi.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Open MPI's handles are addresses of its predefined objects (mpi.h: `#define MPI_COMM_WORLD
   OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`), so dlsym of those names gives the handles. */
typedef void *handle;
#define IN_PLACE ((void *)1)
#define THREAD_FUNNELED 1

static struct {
    int loaded;
    handle world, f32, f64, byte, sum;
    int (*init_thread)(int *, char ***, int, int *);
    int (*initialized)(int *);
    int (*finalize)(void);
    int (*comm_rank)(handle, int *);
    int (*comm_size)(handle, int *);
    int (*allreduce)(const void *, void *, int, handle, handle, handle);
    int (*bcast)(void *, int, handle, int, handle);
    int (*allgather)(const void *, int, handle, void *, int, handle, handle);
    int (*barrier)(handle);
    int (*abort_)(handle, int);
    double (*wtime)(void);
} mpi;

int vitkit_mpi_load(char *error, size_t size) {
    if (mpi.loaded) return 0;
    const char *names[] = {"libmpi.so.40", "libmpi.so", NULL};
    void *lib = NULL;
    for (int i = 0; names[i] && !lib; i++) {
        /* RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve libmpi's symbols through the global scope */
        lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (!lib) {
        snprintf(error, size, "cannot load Open MPI (libmpi.so.40): %s; install it with apt-get install -y openmpi-bin",
                 dlerror());
        return -1;
    }
#define SYM(field, name)                                                                          \
    do {                                                                                          \
        *(void **)(&mpi.field) = dlsym(lib, name);                                                \
        if (!mpi.field) {                                                                         \
            snprintf(error, size, "libmpi.so.40 has no symbol %s: is it Open MPI 4?", name);      \
            return -1;                                                                            \
        }                                                                                         \
    } while (0)
    SYM(world, "ompi_mpi_comm_world");
    SYM(f32, "ompi_mpi_float");
    SYM(f64, "ompi_mpi_double");
    SYM(byte, "ompi_mpi_byte");
    SYM(sum, "ompi_mpi_op_sum");
    SYM(init_thread, "MPI_Init_thread");
    SYM(initialized, "MPI_Initialized");
    SYM(finalize, "MPI_Finalize");
    SYM(comm_rank, "MPI_Comm_rank");
    SYM(comm_size, "MPI_Comm_size");
    SYM(allreduce, "MPI_Allreduce");
    SYM(bcast, "MPI_Bcast");
    SYM(allgather, "MPI_Allgather");
    SYM(barrier, "MPI_Barrier");
    SYM(abort_, "MPI_Abort");
    SYM(wtime, "MPI_Wtime");
#undef SYM
    mpi.loaded = 1;
    return 0;
}

int vitkit_mpi_init(int *rank, int *size) {
    if (!mpi.loaded) return -1;
    int done = 0, provided = 0, rc;
    mpi.initialized(&done);
    if (!done && (rc = mpi.init_thread(NULL, NULL, THREAD_FUNNELED, &provided)) != 0) return rc;
    if ((rc = mpi.comm_rank(mpi.world, rank)) != 0) return rc;
    return mpi.comm_size(mpi.world, size);
}

int vitkit_mpi_finalize(void) { return mpi.loaded ? mpi.finalize() : -1; }

/* MPI counts are ints: long buffers go in pieces of at most 2^30 elements */
#define PIECE ((int64_t)1 << 30)

int vitkit_mpi_allreduce_sum_float(float *values, int64_t count) {
    if (!mpi.loaded) return -1;
    for (int64_t at = 0; at < count; at += PIECE) {
        int n = (int)(count - at < PIECE ? count - at : PIECE), rc;
        if ((rc = mpi.allreduce(IN_PLACE, values + at, n, mpi.f32, mpi.sum, mpi.world)) != 0) return rc;
    }
    return 0;
}

int vitkit_mpi_allreduce_sum_double(double *values, int64_t count) {
    if (!mpi.loaded) return -1;
    for (int64_t at = 0; at < count; at += PIECE) {
        int n = (int)(count - at < PIECE ? count - at : PIECE), rc;
        if ((rc = mpi.allreduce(IN_PLACE, values + at, n, mpi.f64, mpi.sum, mpi.world)) != 0) return rc;
    }
    return 0;
}

int vitkit_mpi_broadcast(void *bytes, int64_t count, int root) {
    if (!mpi.loaded) return -1;
    for (int64_t at = 0; at < count; at += PIECE) {
        int n = (int)(count - at < PIECE ? count - at : PIECE), rc;
        if ((rc = mpi.bcast((char *)bytes + at, n, mpi.byte, root, mpi.world)) != 0) return rc;
    }
    return 0;
}

int vitkit_mpi_allgather(const void *bytes, int64_t count, void *all) {
    if (!mpi.loaded || count >= PIECE) return -1;
    return mpi.allgather(bytes, (int)count, mpi.byte, all, (int)count, mpi.byte, mpi.world);
}

int vitkit_mpi_barrier(void) { return mpi.loaded ? mpi.barrier(mpi.world) : -1; }
int vitkit_mpi_abort(int code) { return mpi.loaded ? mpi.abort_(mpi.world, code) : -1; }
double vitkit_mpi_wtime(void) { return mpi.loaded ? mpi.wtime() : 0; }
