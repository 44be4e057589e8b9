// Our own prototypes for the few OpenBLAS entry points we call, so the module does not depend on which
// cblas.h alternative the system has selected.
#ifndef VITKIT_CBLAS_SHIM_H
#define VITKIT_CBLAS_SHIM_H

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB,
                 int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
void cblas_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB,
                 int M, int N, int K, double alpha, const double *A, int lda, const double *B, int ldb,
                 double beta, double *C, int ldc);
void openblas_set_num_threads(int num_threads);

// LAPACK (OpenBLAS bundles it): singular value decomposition of a column-major m×n double matrix.
// The two trailing lengths are the hidden Fortran string-length arguments.
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *info,
             unsigned long jobu_len, unsigned long jobvt_len);
int openblas_get_num_threads(void);

#endif
