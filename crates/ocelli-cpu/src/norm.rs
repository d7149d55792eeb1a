use ocelli_graph::Shape;

/// Inference batch norm over axis 1.
pub(crate) fn batch_norm(
    x: &[f32],
    sx: &Shape,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> Vec<f32> {
    let (_, c, inner) = sx.split_at_axis(1);
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / inner) % c;
            let inv = 1.0 / (f64::from(var[ch]) + f64::from(eps)).sqrt();
            ((f64::from(v) - f64::from(mean[ch])) * inv * f64::from(gamma[ch]) + f64::from(beta[ch])) as f32
        })
        .collect()
}

/// Normalises each contiguous row of `len` elements (biased variance), then applies
/// `gamma[affine(row, i)]`, `beta[...]`.
fn normalize_rows(
    x: &[f32],
    len: usize,
    eps: f32,
    affine: impl Fn(usize, usize) -> usize,
    gamma: &[f32],
    beta: &[f32],
) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    for (r, row) in x.chunks_exact(len).enumerate() {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / len as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / len as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for (i, &v) in row.iter().enumerate() {
            let a = affine(r, i);
            y[r * len + i] = ((f64::from(v) - mean) * inv * f64::from(gamma[a]) + f64::from(beta[a])) as f32;
        }
    }
    y
}

/// Group norm over `[N, C, ...]` with per-channel affine.
pub(crate) fn group_norm(x: &[f32], sx: &Shape, gamma: &[f32], beta: &[f32], groups: usize, eps: f32) -> Vec<f32> {
    let (_, c, spatial) = sx.split_at_axis(1);
    let cg = c / groups;
    normalize_rows(x, cg * spatial, eps, |r, i| (r % groups) * cg + i / spatial, gamma, beta)
}

/// Layer norm over the dimensions from `axis` on.
pub(crate) fn layer_norm(x: &[f32], sx: &Shape, gamma: &[f32], beta: &[f32], axis: usize, eps: f32) -> Vec<f32> {
    let len: usize = sx.dims()[axis..].iter().product();
    normalize_rows(x, len, eps, |_, i| i, gamma, beta)
}
