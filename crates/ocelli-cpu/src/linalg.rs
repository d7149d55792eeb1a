use ocelli_graph::Shape;

/// Batched `op(a)·op(b) + bias` with f64 accumulation.
pub(crate) fn matmul(
    a: &[f32],
    sa: &Shape,
    b: &[f32],
    sb: &Shape,
    bias: Option<&[f32]>,
    ta: bool,
    tb: bool,
    out: &Shape,
) -> Vec<f32> {
    let (ar, br, or) = (sa.rank(), sb.rank(), out.rank());
    let (m, n) = (out.dims()[or - 2], out.dims()[or - 1]);
    let k = if ta { sa.dims()[ar - 2] } else { sa.dims()[ar - 1] };
    let batch: usize = out.dims()[..or - 2].iter().product();
    let a_batches: usize = sa.dims()[..ar - 2].iter().product();
    let b_batches: usize = sb.dims()[..br - 2].iter().product();
    let mut y = vec![0f32; batch * m * n];
    for bi in 0..batch {
        let ao = if a_batches == 1 { 0 } else { bi * m * k };
        let bo = if b_batches == 1 { 0 } else { bi * k * n };
        for i in 0..m {
            for j in 0..n {
                let mut acc = bias.map_or(0.0, |b| f64::from(b[j]));
                for p in 0..k {
                    let av = if ta { a[ao + p * m + i] } else { a[ao + i * k + p] };
                    let bv = if tb { b[bo + j * k + p] } else { b[bo + p * n + j] };
                    acc += f64::from(av) * f64::from(bv);
                }
                y[(bi * m + i) * n + j] = acc as f32;
            }
        }
    }
    y
}

/// L1 distances between the rows of a `[m, d]` and of b `[n, d]`, f64 accumulation.
pub(crate) fn l1_distance(a: &[f32], b: &[f32], d: usize) -> Vec<f32> {
    a.chunks(d)
        .flat_map(|x| {
            b.chunks(d)
                .map(move |y| x.iter().zip(y).map(|(p, q)| (f64::from(*p) - f64::from(*q)).abs()).sum::<f64>() as f32)
        })
        .collect()
}
