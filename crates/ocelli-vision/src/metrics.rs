use ocelli_graph::Tensor;

use crate::{Result, VisionError};

/// Peak signal-to-noise ratio in dB of two same-shaped tensors with values in [0, 1]:
/// `10·log10(1 / MSE)` (infinite for identical inputs).
pub fn psnr(a: &Tensor, b: &Tensor) -> Result<f64> {
    if a.shape() != b.shape() {
        return Err(VisionError::Unsupported(format!("PSNR of shapes {} and {}", a.shape(), b.shape())));
    }
    let (x, y) = (a.to_f64_vec(), b.to_f64_vec());
    let mse = x.iter().zip(&y).map(|(p, q)| (p - q) * (p - q)).sum::<f64>() / x.len() as f64;
    Ok(10.0 * (1.0 / mse).log10())
}
