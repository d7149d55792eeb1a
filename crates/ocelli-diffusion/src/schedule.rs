//! The DDPM noise schedule, the samplers' time grids and per-step coefficients, and the
//! sinusoidal time embedding, all computed on the host in the order and precision of
//! `scripts/diffusion_mnist_model.py` (the schedule in f64, cast to f32; everything after in f32).

/// Diffusion steps of the DDPM schedule.
pub const T_STEPS: usize = 1000;

/// Width of the sinusoidal time embedding.
pub const TIME_EMBEDDING: usize = 64;

/// βₜ, αₜ = 1 − βₜ and ᾱₜ = Π αₛ of the linear schedule β = 1e-4 .. 0.02 over [`T_STEPS`].
#[derive(Debug, Clone)]
pub struct Schedule {
    /// βₜ (f64, cast).
    pub betas: Vec<f32>,
    /// αₜ (f64, cast).
    pub alphas: Vec<f32>,
    /// ᾱₜ (cumulative product in f64, cast).
    pub alphas_bar: Vec<f32>,
}

impl Schedule {
    /// The linear schedule (numpy's `linspace(1e-4, 0.02, 1000)`).
    pub fn linear() -> Self {
        let (start, stop) = (1e-4f64, 0.02f64);
        let step = (stop - start) / (T_STEPS - 1) as f64;
        let betas64: Vec<f64> =
            (0..T_STEPS).map(|i| if i + 1 == T_STEPS { stop } else { start + i as f64 * step }).collect();
        let mut bar = 1.0f64;
        let alphas_bar = betas64
            .iter()
            .map(|b| {
                bar *= 1.0 - b;
                bar as f32
            })
            .collect();
        Self {
            betas: betas64.iter().map(|&b| b as f32).collect(),
            alphas: betas64.iter().map(|&b| (1.0 - b) as f32).collect(),
            alphas_bar,
        }
    }
}

/// DDIM's sub-sequence of `steps` diffusion times: τᵢ = ⌊i·1000 / steps⌋, i = 0..steps.
pub fn ddim_times(steps: usize) -> Vec<usize> {
    (0..steps).map(|i| i * T_STEPS / steps).collect()
}

/// One update `x ← c·clamp((x − a·ε̂) / b, lo, hi) + d·ε̂ + e·x + σ·z` after one guided network
/// evaluation `ε̂` at `time` (z ~ N(0, I)): DDIM, DDPM ancestral and Euler steps all take this
/// form. [`Update::to_vec`] is the layout of the step graph's `coefficients` input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    /// The network's time input.
    pub time: f32,
    /// Multiplies ε̂ before it is subtracted.
    pub a: f32,
    /// Divides the difference.
    pub b: f32,
    /// Lower clamp of the estimate.
    pub lo: f32,
    /// Upper clamp.
    pub hi: f32,
    /// Multiplies the clamped estimate.
    pub c: f32,
    /// Multiplies ε̂ again.
    pub d: f32,
    /// Multiplies the step's input x.
    pub e: f32,
    /// Multiplies fresh noise.
    pub sigma: f32,
}

impl Update {
    /// The coefficients in input order, then the guidance scale.
    pub fn to_vec(self, guidance: f32) -> Vec<f32> {
        vec![self.a, self.b, self.lo, self.hi, self.c, self.d, self.e, self.sigma, guidance]
    }

    /// DDIM step `i` (of `steps`, run from `steps − 1` down to 0) with stochasticity `eta`:
    /// x̂₀ = clip((x − a·ε̂) / b, −1, 1) with a = √(1−ᾱ), b = √ᾱ; the noise is recomputed from the
    /// clipped estimate, ε̃ = (x − b·x̂₀) / a (as guided-diffusion's `ddim_sample` does; keeping
    /// ε̂ ruins guided samples once the clip bites); x ← c·x̂₀ + d·ε̃ + σ·z with c = √ᾱ′,
    /// d = √(1−ᾱ′−σ²), σ = η·√((1−ᾱ′)/(1−ᾱ))·√(1−ᾱ/ᾱ′) (ᾱ′ = ᾱ of the previous time, 1 after
    /// the last step; no noise on the last step), i.e. x ← (c − d·b/a)·x̂₀ + (d/a)·x + σ·z.
    pub fn ddim(schedule: &Schedule, steps: usize, i: usize, eta: f32) -> Self {
        let taus = ddim_times(steps);
        let ab = schedule.alphas_bar[taus[i]];
        let ab_prev = if i > 0 { schedule.alphas_bar[taus[i - 1]] } else { 1.0 };
        let sigma = eta * ((1.0 - ab_prev) / (1.0 - ab)).sqrt() * (1.0 - ab / ab_prev).sqrt();
        let (a, b) = ((1.0 - ab).sqrt(), ab.sqrt());
        let (c, d) = (ab_prev.sqrt(), (1.0 - ab_prev - sigma * sigma).max(0.0).sqrt());
        Self {
            time: taus[i] as f32,
            a,
            b,
            lo: -1.0,
            hi: 1.0,
            c: c - d * b / a,
            d: 0.0,
            e: d / a,
            sigma: if i > 0 { sigma } else { 0.0 },
        }
    }

    /// DDPM ancestral step at diffusion time `t`: x ← (x − βₜ/√(1−ᾱₜ)·ε̂) / √αₜ + √βₜ·z (no
    /// noise at t = 0, no clipping).
    pub fn ddpm(schedule: &Schedule, t: usize) -> Self {
        let beta = schedule.betas[t];
        Self {
            time: t as f32,
            a: beta / (1.0 - schedule.alphas_bar[t]).sqrt(),
            b: schedule.alphas[t].sqrt(),
            lo: f32::MIN,
            hi: f32::MAX,
            c: 1.0,
            d: 0.0,
            e: 0.0,
            sigma: if t > 0 { beta.sqrt() } else { 0.0 },
        }
    }

    /// Euler step `k` of `steps` of the flow ODE from noise (t = 0) to data (t = 1):
    /// x ← x + Δt·v(x, k/steps), time input 1000·k/steps.
    pub fn euler(steps: usize, k: usize) -> Self {
        let dt = (1.0 / steps as f64) as f32;
        Self {
            time: flow_time(steps, k),
            a: -dt,
            b: 1.0,
            lo: f32::MIN,
            hi: f32::MAX,
            c: 1.0,
            d: 0.0,
            e: 0.0,
            sigma: 0.0,
        }
    }
}

/// The flow model's time input at grid point `k` of `steps`: 1000·k/steps.
pub fn flow_time(steps: usize, k: usize) -> f32 {
    (1000.0 * k as f64 / steps as f64) as f32
}

/// The sinusoidal embedding of time input `s`: `[sin(s·fᵢ)…, cos(s·fᵢ)…]` with
/// fᵢ = exp(−ln(10000)·i/32), i = 0..32 (sin first), in f32.
pub fn time_embedding(s: f32) -> Vec<f32> {
    let half = TIME_EMBEDDING / 2;
    let c = -(10000f64.ln() as f32);
    let args: Vec<f32> = (0..half).map(|i| s * ((c * i as f32) / half as f32).exp()).collect();
    let sin = args.iter().map(|&a| f64::from(a).sin() as f32);
    let cos = args.iter().map(|&a| f64::from(a).cos() as f32);
    sin.chain(cos).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_numpy() {
        let s = Schedule::linear();
        assert_eq!(s.betas[0], 1e-4);
        assert_eq!(s.betas[999], 0.02);
        // numpy: np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))[[0, 499, 999]].astype(np.float32)
        assert!((s.alphas_bar[0] - 0.9999).abs() < 1e-7);
        assert!((s.alphas_bar[499] - 0.078_587_24).abs() < 1e-7, "{}", s.alphas_bar[499]);
        assert!((s.alphas_bar[999] - 4.035_829_6e-5).abs() < 1e-11, "{}", s.alphas_bar[999]);
    }

    #[test]
    fn ddim_grid_and_last_step() {
        assert_eq!(ddim_times(20)[..3], [0, 50, 100]);
        assert_eq!(ddim_times(20)[19], 950);
        let s = Schedule::linear();
        let last = Update::ddim(&s, 20, 0, 1.0);
        assert_eq!((last.c, last.d, last.e, last.sigma), (1.0, 0.0, 0.0, 0.0));
        let first = Update::ddim(&s, 20, 19, 0.0);
        assert_eq!(first.time, 950.0);
        assert_eq!(first.sigma, 0.0);
    }

    #[test]
    fn time_embedding_is_sin_then_cos() {
        let e = time_embedding(0.0);
        assert!(e[..32].iter().all(|&v| v == 0.0) && e[32..].iter().all(|&v| v == 1.0));
        let e = time_embedding(999.0);
        assert!((e[0] - 999f64.sin() as f32).abs() < 1e-6);
        assert!((e[32] - 999f64.cos() as f32).abs() < 1e-6);
    }
}
