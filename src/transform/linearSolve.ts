/**
 * Solves A·X = B for X by Gaussian elimination with partial pivoting.
 *
 * `a` is n×n and `b` is n×m, both row-major; neither is modified. Throws when A is singular (a
 * pivot smaller than `1e-12` times the largest entry of A).
 */
export function solveLinear(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  if (a.length !== n * n || b.length !== n * m) throw new Error(`solveLinear: expected ${n}×${n} and ${n}×${m} matrices`);
  const lu = Float64Array.from(a);
  const x = Float64Array.from(b);
  let largest = 0;
  for (const v of lu) largest = Math.max(largest, Math.abs(v));
  const tiny = largest * 1e-12;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(lu[row * n + col]) > Math.abs(lu[pivot * n + col])) pivot = row;
    if (!(Math.abs(lu[pivot * n + col]) > tiny)) throw new Error('solveLinear: the matrix is singular');
    if (pivot !== col) {
      swapRows(lu, n, pivot, col);
      swapRows(x, m, pivot, col);
    }
    const p = lu[col * n + col];
    for (let row = col + 1; row < n; row++) {
      const factor = lu[row * n + col] / p;
      if (factor === 0) continue;
      for (let k = col; k < n; k++) lu[row * n + k] -= factor * lu[col * n + k];
      for (let k = 0; k < m; k++) x[row * m + k] -= factor * x[col * m + k];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    for (let k = 0; k < m; k++) {
      let sum = x[row * m + k];
      for (let j = row + 1; j < n; j++) sum -= lu[row * n + j] * x[j * m + k];
      x[row * m + k] = sum / lu[row * n + row];
    }
  }
  return x;
}

function swapRows(matrix: Float64Array, width: number, i: number, j: number): void {
  for (let k = 0; k < width; k++) {
    const t = matrix[i * width + k];
    matrix[i * width + k] = matrix[j * width + k];
    matrix[j * width + k] = t;
  }
}
