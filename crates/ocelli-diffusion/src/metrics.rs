//! Image-quality numbers: PSNR of reconstructions, and the Fréchet distance between two sets
//! of feature vectors (the FID recipe with the MNIST CNN's features instead of Inception's).

/// Mean PSNR in dB (peak 1.0) of each image of `a` against the same image of `b`, both flat
/// batches of `pixels`-pixel images; an exact image counts as 100 dB.
pub fn mean_psnr(a: &[f32], b: &[f32], pixels: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr of batches of different sizes");
    let per: Vec<f64> = a
        .chunks(pixels)
        .zip(b.chunks(pixels))
        .map(|(x, y)| {
            let mse =
                x.iter().zip(y).map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2)).sum::<f64>() / pixels as f64;
            if mse == 0.0 {
                100.0
            } else {
                -10.0 * mse.log10()
            }
        })
        .collect();
    per.iter().sum::<f64>() / per.len().max(1) as f64
}

/// Mean and covariance of a set of feature vectors, in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// Mean `[d]`.
    pub mean: Vec<f64>,
    /// Covariance `[d·d]`, row-major, with the unbiased (n − 1) normalisation.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// Fits the rows (`dim` values each) of `features`; needs at least two rows.
    pub fn fit(features: &[f32], dim: usize) -> Self {
        let n = features.len() / dim;
        assert!(n >= 2 && features.len() == n * dim, "need at least two whole feature rows");
        let mut mean = vec![0.0; dim];
        for row in features.chunks(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0.0; dim * dim];
        let mut c = vec![0.0; dim];
        for row in features.chunks(dim) {
            for (ci, (&v, m)) in c.iter_mut().zip(row.iter().zip(&mean)) {
                *ci = f64::from(v) - m;
            }
            for i in 0..dim {
                for j in i..dim {
                    cov[i * dim + j] += c[i] * c[j];
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        Gaussian { mean, cov }
    }
}

/// ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁^½ Σ₂ Σ₁^½)^½).
pub fn frechet_distance(p: &Gaussian, q: &Gaussian) -> f64 {
    let d = p.mean.len();
    assert_eq!(d, q.mean.len(), "Fréchet distance between features of different widths");
    let mean: f64 = p.mean.iter().zip(&q.mean).map(|(a, b)| (a - b).powi(2)).sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let (values, vectors) = symmetric_eigen(&p.cov, d);
    // Σ₁^½ = V diag(√λ) Vᵀ
    let mut root = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            root[i * d + j] = (0..d).map(|k| vectors[i * d + k] * values[k].max(0.0).sqrt() * vectors[j * d + k]).sum();
        }
    }
    let inner = matmul(&matmul(&root, &q.cov, d), &root, d);
    let (mu, _) = symmetric_eigen(&inner, d);
    let cross: f64 = mu.iter().map(|&v| v.max(0.0).sqrt()).sum();
    mean + trace(&p.cov) + trace(&q.cov) - 2.0 * cross
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let v = a[i * d + k];
            for j in 0..d {
                out[i * d + j] += v * b[k * d + j];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (the columns of a row-major `d×d` matrix) of a symmetric
/// matrix, by cyclic Jacobi rotations until the off-diagonal mass is negligible.
fn symmetric_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off <= 1e-30 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_distance_of_known_gaussians() {
        // Diagonal covariances: FD = ‖Δμ‖² + Σ (√a − √b)².
        let p = Gaussian { mean: vec![0.0, 1.0, 2.0], cov: vec![4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 9.0] };
        let q = Gaussian { mean: vec![1.0, 1.0, 0.0], cov: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0] };
        let want = 1.0 + 4.0 + (2.0f64 - 1.0).powi(2) + 0.0 + (3.0f64 - 2.0).powi(2);
        assert!((frechet_distance(&p, &q) - want).abs() < 1e-9, "{}", frechet_distance(&p, &q));
        // A rotated, correlated covariance against itself is at distance 0.
        let r = Gaussian { mean: vec![0.5, -1.0], cov: vec![2.0, 0.8, 0.8, 1.0] };
        assert!(frechet_distance(&r, &r).abs() < 1e-9);
        // Commuting non-diagonal pair: Σ₂ = 4Σ₁ gives tr(Σ₁) + tr(4Σ₁) − 2·2·tr(Σ₁) = tr(Σ₁).
        let s = Gaussian { mean: vec![0.5, -1.0], cov: vec![8.0, 3.2, 3.2, 4.0] };
        assert!((frechet_distance(&r, &s) - 3.0).abs() < 1e-9, "{}", frechet_distance(&r, &s));
    }

    #[test]
    fn gaussian_fit_and_psnr() {
        let g = Gaussian::fit(&[1.0, 2.0, 3.0, 6.0], 2);
        assert_eq!(g.mean, vec![2.0, 4.0]);
        assert_eq!(g.cov, vec![2.0, 4.0, 4.0, 8.0]);
        let (a, b) = ([0.0f32, 1.0, 0.5, 0.5], [0.1f32, 0.9, 0.5, 0.5]);
        // image 1: mse 0.01 → 20 dB; image 2 exact → 100 dB
        assert!((mean_psnr(&a, &b, 2) - 60.0).abs() < 1e-4);
    }
}
