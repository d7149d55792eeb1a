use ocelli_graph::{BinaryOp, Shape, UnaryOp};

/// Broadcasting binary op.
pub(crate) fn binary(a: &[f32], sa: &Shape, b: &[f32], sb: &Shape, op: BinaryOp, out: &Shape) -> Vec<f32> {
    let (stra, strb, dims) = (sa.broadcast_strides(out), sb.broadcast_strides(out), out.dims());
    let mut coord = vec![0usize; dims.len()];
    (0..out.numel())
        .map(|_| {
            let ia: usize = coord.iter().zip(&stra).map(|(c, s)| c * s).sum();
            let ib: usize = coord.iter().zip(&strb).map(|(c, s)| c * s).sum();
            for d in (0..dims.len()).rev() {
                coord[d] += 1;
                if coord[d] < dims[d] {
                    break;
                }
                coord[d] = 0;
            }
            apply_binary(f64::from(a[ia]), f64::from(b[ib]), op) as f32
        })
        .collect()
}

fn apply_binary(a: f64, b: f64, op: BinaryOp) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Greater => f64::from(u8::from(a > b)),
        BinaryOp::PRelu => {
            if a > 0.0 {
                a
            } else {
                a * b
            }
        }
    }
}

/// One unary op in f64.
pub(crate) fn unary(x: f32, op: UnaryOp) -> f32 {
    let x = f64::from(x);
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let relu6 = |v: f64| v.clamp(0.0, 6.0);
    let y = match op {
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::Relu6 => relu6(x),
        UnaryOp::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                x * f64::from(a)
            }
        }
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Silu => x * sigmoid(x),
        UnaryOp::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        UnaryOp::HardSwish => x * relu6(x + 3.0) / 6.0,
        UnaryOp::HardSigmoid => relu6(x + 3.0) / 6.0,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Neg => -x,
        UnaryOp::Clamp { min, max } => x.max(f64::from(min)).min(f64::from(max)),
        UnaryOp::Affine { scale, shift } => x * f64::from(scale) + f64::from(shift),
    };
    y as f32
}

/// The error function to near f64 precision: Taylor series for |x| < 2.5, a continued fraction
/// for erfc beyond.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 2.5 {
        // erf(a) = 2/sqrt(pi) * sum (-1)^n a^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, a2) = (a, a, a * a);
        for n in 1..200 {
            term *= -a2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
        let mut k = a;
        for n in (1..120).rev() {
            k = a + (n as f64 / 2.0) / k;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * k)
    };
    r.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::erf;

    #[test]
    fn erf_matches_known_values() {
        // Values from Abramowitz & Stegun table 7.1.
        for (x, want) in
            [(0.0, 0.0), (0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (2.0, 0.995_322_265_0), (3.0, 0.999_977_909_5)]
        {
            assert!((erf(x) - want).abs() < 1e-9, "erf({x}) = {} want {want}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-9);
        }
    }
}
