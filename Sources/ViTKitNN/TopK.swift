/// Top-k accuracy counts, as timm's `accuracy(output, target, topk=(1, 5))`: an image counts for k when fewer
/// than k classes beat its true class (ties go to the lower class index, as a stable sort would rank them; NaN
/// ranks above every number, as in torch's `topk`, so a model that has gone NaN scores 0, not 100).
///
///   rank[b] = #{ j : z[b, j] > z[b, y_b]  or  (z[b, j] = z[b, y_b] and j < y_b) }      logits z: [B × C]
///   counts[i] += #{ b : rank[b] < ks[i] }
package enum TopK {
    package static func count(_ counts: inout [Int], ks: [Int], logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                              batch: Int, classes c: Int) {
        for b in 0..<batch {
            let row = logits + b * c, y = Int(labels[b]), target = row[y]
            // a NaN logit ranks above every number (torch's topk); a NaN true class is never counted right
            guard !target.isNaN else { continue }
            var better = 0
            for j in 0..<c where row[j].isNaN || row[j] > target || (row[j] == target && j < y) { better += 1 }
            for (i, k) in ks.enumerated() where better < k { counts[i] += 1 }
        }
    }
}
