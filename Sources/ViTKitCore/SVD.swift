#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Singular value decomposition A = U·diag(S)·Vh of a square row-major Double matrix, through LAPACK's dgesvd
/// (as numpy.linalg.svd, which the reference code uses).
public func svd(_ a: [Double], n: Int) -> (u: [Double], s: [Double], vh: [Double]) {
    precondition(a.count == n * n)
    // LAPACK is column-major: it sees Aᵀ = U' S V'ᵀ, so A = V'ᵀᵀ… read back row-major: vt' is U, u' is Vh.
    var m = a, s = [Double](repeating: 0, count: n)
    var uf = [Double](repeating: 0, count: n * n), vtf = [Double](repeating: 0, count: n * n)
    var nn = Int32(n), lwork: Int32 = -1, info: Int32 = 0
    var query = 0.0
    #if canImport(Accelerate)
    // Accelerate's CLAPACK interface: mutable job pointers and no hidden string lengths (untested here)
    var jobU: CChar = 65, jobVT: CChar = 65  // "A": all columns
    var nA = nn, ldA = nn, ldU = nn, ldVT = nn
    _ = dgesvd_(&jobU, &jobVT, &nn, &nA, &m, &ldA, &s, &uf, &ldU, &vtf, &ldVT, &query, &lwork, &info)
    lwork = Int32(query)
    var work = [Double](repeating: 0, count: Int(lwork))
    _ = dgesvd_(&jobU, &jobVT, &nn, &nA, &m, &ldA, &s, &uf, &ldU, &vtf, &ldVT, &work, &lwork, &info)
    #else
    let jobA: CChar = 65  // "A": all columns
    withUnsafePointer(to: jobA) { job in
        dgesvd_(job, job, &nn, &nn, &m, &nn, &s, &uf, &nn, &vtf, &nn, &query, &lwork, &info, 1, 1)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesvd_(job, job, &nn, &nn, &m, &nn, &s, &uf, &nn, &vtf, &nn, &work, &lwork, &info, 1, 1)
    }
    #endif
    precondition(info == 0, "dgesvd failed with info \(info)")
    return (u: vtf, s: s, vh: uf)
}
