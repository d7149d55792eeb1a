//! [`ocelli_graph::Op::RandomNormal`]: Philox4x32-10 (Salmon et al., SC 2011) counters turned
//! into standard normals by Box–Muller, with the same f32 arithmetic as `shaders/random.wgsl`.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: the four words of `counter` under `key`.
pub(crate) fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        c = [(p1 >> 32) as u32 ^ c[1] ^ k[0], p1 as u32, (p0 >> 32) as u32 ^ c[3] ^ k[1], p0 as u32];
    }
    c
}

/// sin and cos of `t` in [−π, π] within 1e-6, by polynomials of half the angle (no range
/// trouble on any device): `sin t = 2 s c`, `cos t = 1 − 2 s²` with `s, c` of `t / 2` by Taylor terms to the
/// 13th and 14th power.
pub(crate) fn sincos(t: f32) -> (f32, f32) {
    let h = 0.5 * t;
    let q = h * h;
    let s = h
        * (1.0
            + q * (-1.0 / 6.0
                + q * (1.0 / 120.0
                    + q * (-1.0 / 5040.0
                        + q * (1.0 / 362_880.0 + q * (-1.0 / 39_916_800.0 + q * (1.0 / 6_227_020_800.0)))))));
    let c = 1.0
        + q * (-0.5
            + q * (1.0 / 24.0
                + q * (-1.0 / 720.0
                    + q * (1.0 / 40_320.0
                        + q * (-1.0 / 3_628_800.0 + q * (1.0 / 479_001_600.0 + q * (-1.0 / 87_178_291_200.0)))))));
    (2.0 * s * c, 1.0 - 2.0 * s * s)
}

/// ln u for u in (0, 1] to a few f32 ulps of its value: on [0.5, 1] by the series of
/// `2 atanh((u − 1) / (u + 1))` (drivers may miss ln near 1 by 2^-21 absolute, all of a small
/// sample's radius), below by `ln`.
pub(crate) fn ln_unit(u: f32) -> f32 {
    if u < 0.5 {
        return u.ln();
    }
    let z = (u - 1.0) / (u + 1.0);
    let q = z * z;
    let series = 1.0
        + q * (1.0 / 3.0
            + q * (1.0 / 5.0 + q * (1.0 / 7.0 + q * (1.0 / 9.0 + q * (1.0 / 11.0 + q * (1.0 / 13.0 + q / 15.0))))));
    2.0 * z * series
}

/// Two normals from two words: `u1 ∈ (0, 1]` from the top 24 bits of `a`, `u2 ∈ [0, 1)` of `b`,
/// `r = √(−2 ln u1)`, angle `2π·u2 − π`, and `(−r cos, −r sin)` of it (the same as
/// `(r cos, r sin)` of `2π·u2`).
pub(crate) fn box_muller(a: u32, b: u32) -> [f32; 2] {
    let u1 = ((a >> 8) as f32 + 1.0) * (1.0 / 16_777_216.0);
    let u2 = (b >> 8) as f32 * (1.0 / 16_777_216.0);
    let r = (-2.0 * ln_unit(u1)).sqrt();
    let (s, c) = sincos(u2 * std::f32::consts::TAU - std::f32::consts::PI);
    [-r * c, -r * s]
}

/// `numel` standard normals for `key`: element `e` is lane `e % 4` of block `e / 4`, whose
/// counter is `(e / 4 as two words, 0, 0)`.
pub(crate) fn normals(key: [u32; 2], numel: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(numel.next_multiple_of(4));
    for block in 0..numel.div_ceil(4) {
        let b = block as u64;
        let x = philox([b as u32, (b >> 32) as u32, 0, 0], key);
        out.extend(box_muller(x[0], x[1]));
        out.extend(box_muller(x[2], x[3]));
    }
    out.truncate(numel);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's known-answer vectors for philox4x32_10 (kat_vectors).
    #[test]
    fn philox_matches_random123_known_answers() {
        assert_eq!(philox([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(philox([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
        assert_eq!(
            philox([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn sincos_is_accurate_over_the_whole_turn() {
        let mut worst = 0f64;
        for k in 0..=10_000 {
            let t = -std::f32::consts::PI + k as f32 * std::f32::consts::TAU / 10_000.0;
            let (s, c) = sincos(t);
            worst = worst.max((f64::from(s) - f64::from(t).sin()).abs());
            worst = worst.max((f64::from(c) - f64::from(t).cos()).abs());
        }
        // A few f32 ulps of 1 (1.2e-7): the noise it makes never needs more.
        assert!(worst < 1e-6, "max |error| {worst}");
        eprintln!("sincos max |error| {worst:.2e}");
    }

    #[test]
    fn ln_unit_is_accurate_relative_to_its_value() {
        let mut worst = 0f64;
        for k in 1..=(1u32 << 24) {
            if k % 97 == 0 || k > (1 << 24) - 4096 {
                let u = k as f32 / 16_777_216.0;
                let want = f64::from(u).ln();
                if want != 0.0 {
                    worst = worst.max(((f64::from(ln_unit(u)) - want) / want).abs());
                }
            }
        }
        assert!(worst < 1e-6, "max relative error {worst}");
    }

    /// A million normals: mean within 0.005 of 0, variance within 0.005 of 1, and the fraction
    /// beyond 2σ within 0.002 of 4.55%; different keys give different streams.
    #[test]
    fn normals_are_standard_normal() {
        let v = normals([7, 0], 1_000_000);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        let tails = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / n;
        assert!(mean.abs() < 0.005 && (var - 1.0).abs() < 0.005, "mean {mean} variance {var}");
        assert!((tails - 0.0455).abs() < 0.002, "tails {tails}");
        assert_ne!(normals([7, 1], 8), normals([7, 0], 8));
        assert_eq!(normals([7, 0], 5), v[..5]);
    }
}
