//! 3×3 stride-1 ungrouped f32 convolutions -> `shaders/winograd.wgsl`: F(M×M, 3×3) transforms
//! (M = 2 or 4) around (M + 2)² batched GEMMs (`shaders/gemm.wgsl`), 2.25× or 4× fewer
//! multiplications than im2col.

use ocelli_graph::{Tensor, UnaryOp};

use crate::dispatch::{linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{band_gemm_steps, GemmSpec};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;

/// The convolution's geometry: input [n, c, h, w], o output channels of oh × ow, its top and
/// left padding, and m, the outputs per tile side (2 or 4).
#[derive(Clone, Copy)]
pub(crate) struct WinogradConv {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub oh: usize,
    pub ow: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub m: usize,
}

impl WinogradConv {
    /// The convolution of x [n, c, h, w] into o channels of [oh, ow] with `pads` on top and
    /// left, in the tiles that transform the fewest values (the batch's tiles padded to a
    /// multiple of 4): F(4×4, 3×3) but on planes about 2 wide or high, or of a few pixels in
    /// a small batch, where its 6×6 tiles would be mostly padding.
    pub fn new([n, c, h, w]: [usize; 4], o: usize, [oh, ow]: [usize; 2], [pad_top, pad_left]: [usize; 2]) -> Self {
        let conv = |m| Self { n, c, h, w, o, oh, ow, pad_top, pad_left, m };
        let cost = |m| conv(m).positions() * conv(m).padded_tiles(n);
        conv(if cost(2) < cost(4) { 2 } else { 4 })
    }

    /// Positions of a transformed (m + 2)² tile: one GEMM each.
    fn positions(&self) -> usize {
        (self.m + 2) * (self.m + 2)
    }

    /// Tiles of m×m outputs per image: [rows, columns].
    fn image_tiles(&self) -> [usize; 2] {
        [self.oh.div_ceil(self.m), self.ow.div_ceil(self.m)]
    }

    /// Bytes of the transformed weights [positions, O, C].
    fn weight_bytes(&self) -> u64 {
        (self.positions() * self.o * self.c) as u64 * 4
    }

    /// Tiles of `images` images.
    fn tiles(&self, images: usize) -> usize {
        images * self.image_tiles().iter().product::<usize>()
    }

    /// Columns of the transformed inputs and products of `images` images: their tiles padded
    /// to a multiple of 4, so that the input transform stores 4 tiles as one vector.
    fn padded_tiles(&self, images: usize) -> usize {
        self.tiles(images).next_multiple_of(4)
    }

    /// Bytes of the transformed inputs [positions, C, T] and products [positions, O, T] of
    /// `images` images, T their padded tiles.
    fn band_bytes(&self, images: usize) -> [u64; 2] {
        let t = self.padded_tiles(images) as u64;
        let a = self.positions() as u64;
        [a * self.c as u64 * t * 4, a * self.o as u64 * t * 4]
    }

    /// Images per band keeping every scratch buffer within `max_bytes`, balanced over the batch
    /// (bands of equal size but the last); `None` when one image, or the transformed weights
    /// where they are scratch (`weights_in_scratch`), do not fit.
    pub fn band_images(&self, max_bytes: u64, weights_in_scratch: bool) -> Option<usize> {
        let per_tile = self.positions() as u64 * self.c.max(self.o) as u64 * 4;
        // The most padded tiles within the limit, whole images of them.
        let tiles = usize::try_from(max_bytes / per_tile.max(1)).unwrap_or(usize::MAX) / 4 * 4;
        let fit = (tiles / self.tiles(1).max(1)).min(self.n);
        if (weights_in_scratch && self.weight_bytes() > max_bytes) || fit == 0 {
            return None;
        }
        Some(self.n.div_ceil(self.n.div_ceil(fit)))
    }

    /// Parameters for the band of `images` images from `n_begin`, over `items` invocations.
    fn params(&self, (n_begin, images): (usize, usize), items: usize) -> Vec<u32> {
        let [th, tw] = self.image_tiles();
        Params::default()
            .us(&[images, self.c, self.h, self.w, self.o, self.oh, self.ow, self.pad_top, self.pad_left, th, tw, items])
            .us(&[n_begin, self.padded_tiles(images)])
            .0
    }
}

/// G of F(2×2, 3×3), interpolating at 0, ±1 and ∞.
const G2: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];

/// G of F(4×4, 3×3), interpolating at 0, ±1, 1/2, -2 and ∞ (`g_side` in the shader).
const G4: [[f64; 3]; 6] = [
    [1.0, 0.0, 0.0],
    [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
    [-1.0 / 3.0, 1.0 / 3.0, -1.0 / 3.0],
    [-16.0 / 15.0, -8.0 / 15.0, -4.0 / 15.0],
    [1.0 / 15.0, -2.0 / 15.0, 4.0 / 15.0],
    [0.0, 0.0, 1.0],
];

/// u[e, o, c] = (G · w[o, c] · Gᵀ)[e] for f32 weights w [O, C, 3, 3], in the order and layout of
/// `winograd_weights` (computed in f64, rounded once).
fn transformed_weights(w: &[f32], conv: &WinogradConv) -> Result<Tensor, ExecError> {
    let g: &[[f64; 3]] = if conv.m == 4 { &G4 } else { &G2 };
    let (a, plane) = (g.len(), conv.o * conv.c);
    let mut u = vec![0.0; a * a * plane];
    for (item, k) in w.chunks_exact(9).enumerate() {
        // gk = G · k, then gk · Gᵀ.
        let gk: Vec<[f64; 3]> =
            g.iter().map(|gr| std::array::from_fn(|j| (0..3).map(|i| gr[i] * f64::from(k[3 * i + j])).sum())).collect();
        for (r, row) in gk.iter().enumerate() {
            for (s, gs) in g.iter().enumerate() {
                u[(a * r + s) * plane + item] = (0..3).map(|j| row[j] * gs[j]).sum::<f64>() as f32;
            }
        }
    }
    Ok(Tensor::from_f32([a * a, conv.o, conv.c], u)?)
}

/// The dispatches of `acts(conv(x, w) + bias + residual)` in bands of images within the
/// scratch limit ([`WinogradConv::band_images`]; F(2×2, 3×3) where F(4×4, 3×3)'s transforms
/// do not fit, `None` when not even one image of those fits): the
/// input transform, the GEMMs of the (m + 2)² tile positions (one batched GEMM, or a chain of them
/// with K in parts) and the output transform of each band, through the same band-sized scratch
/// buffers. `bias` and `residual` are the node's values if present, `scratch` receives the
/// scratch buffers. Constant f32 weights are transformed now, into `derived`; others by a first
/// dispatch on every run.
pub(crate) fn winograd(
    io: &Io<'_>,
    conv: &WinogradConv,
    bias: Option<Binding>,
    residual: Option<Binding>,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
    derived: &mut Vec<Tensor>,
) -> Result<Option<Vec<Step>>, ExecError> {
    let weights = io.constant(1).and_then(Tensor::as_f32);
    let fits = |c: WinogradConv| c.band_images(io.tuning.scratch_limit, weights.is_none()).map(|band| (c, band));
    let smaller = (conv.m == 4).then_some(WinogradConv { m: 2, ..*conv });
    let Some((conv, band)) = fits(*conv).or_else(|| smaller.and_then(fits)) else { return Ok(None) };
    let [v_bytes, m_bytes] = conv.band_bytes(band);
    scratch.extend([v_bytes, m_bytes]);
    let [v, m] = [2, 1].map(|back| Binding::Scratch(scratch.len() - back));
    let texels = io.tuning.fits_texels(conv.n * conv.c * conv.h * conv.w)
        && io.tuning.fits_texels((v_bytes / 4) as usize)
        && io.tuning.fits_texels((m_bytes / 4) as usize);
    let family = if texels { KernelFamily::WinogradTexels } else { KernelFamily::Winograd };
    let transform = |entry, bindings, images: (usize, usize), items: usize, constants| {
        Step::Dispatch(Dispatch {
            family,
            entry,
            constants,
            bindings,
            params: conv.params(images, items),
            groups: linear_groups(items, WG),
        })
    };
    let bands = conv.n.div_ceil(band);
    let mut steps = Vec::with_capacity(1 + 3 * bands);
    let u = match weights {
        Some(w) => {
            derived.push(transformed_weights(w, &conv)?);
            Binding::Derived(derived.len() - 1)
        }
        None => {
            scratch.push(conv.weight_bytes());
            let u = Binding::Scratch(scratch.len() - 1);
            let items = conv.o * conv.c;
            let wg = vec![("WG", f64::from(WG)), ("M", conv.m as f64)];
            steps.push(transform("winograd_weights", vec![io.input(1).into(), u], (0, conv.n), items, wg));
            u
        }
    };
    let flag = |b: bool| f64::from(u8::from(b));
    let mut out_constants = vec![
        ("WG", f64::from(WG)),
        ("M", conv.m as f64),
        ("HAS_BIAS", flag(bias.is_some())),
        ("RESIDUAL", flag(residual.is_some())),
    ];
    out_constants.extend(act_constants(acts));
    // Whole output rows of 4×4 tiles as vectors where rows hold whole tiles.
    let output_entry = if conv.m == 4 && conv.ow.is_multiple_of(4) { "winograd_output4" } else { "winograd_output" };
    let mut chain = None;
    for n_begin in (0..conv.n).step_by(band) {
        let images = (n_begin, band.min(conv.n - n_begin));
        let t = conv.padded_tiles(images.1);
        let wg = vec![("WG", f64::from(WG)), ("M", conv.m as f64)];
        steps.push(transform("winograd_input", vec![io.input(0).into(), v], images, conv.c * t / 4, wg));
        let spec = GemmSpec {
            m: conv.o,
            n: t,
            k: conv.c,
            batch: conv.positions(),
            trans_a: false,
            trans_b: false,
            a_batch_stride: conv.o * conv.c,
            b_batch_stride: conv.c * t,
            ldb: t,
            y_offset: 0,
            ldy: t,
            bias: None,
            residual: None,
            l1: false,
        };
        steps.extend(band_gemm_steps(&spec, (u, v, m), &[], io, scratch, &mut chain)?);
        let bindings = vec![
            m,
            bias.unwrap_or(Binding::Placeholder),
            residual.unwrap_or(Binding::Placeholder),
            io.output(0).into(),
        ];
        steps.push(transform(output_entry, bindings, images, conv.o * conv.tiles(images.1), out_constants.clone()));
    }
    Ok(Some(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winograd_takes_4x4_tiles_but_where_they_would_be_mostly_padding() {
        let m = |n, oh, ow| WinogradConv::new([n, 8, oh, ow], 8, [oh, ow], [1, 1]).m;
        // One 7×7 image: 4 tiles of 36 positions against 16 of 16; 5×5: 4 of 36 against 12
        // (9 padded) of 16. One 3×3 image: 1 tile padded to 4 (144) against 4 of 16 (64);
        // four of them: 4 against 16.
        assert_eq!([m(1, 28, 28), m(1, 7, 7), m(1, 5, 5), m(4, 3, 3)], [4, 4, 4, 4]);
        assert_eq!([m(1, 3, 3), m(1, 1, 9), m(1, 2, 2), m(1, 7, 2), m(64, 7, 2), m(1, 1, 1)], [2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn transformed_weights_convolve_like_the_filter() {
        // One filter, one tile: Aᵀ[(G k Gᵀ) ⊙ (Bᵀ d B)]A equals the direct 3×3 correlation of d,
        // with the shader's B and A written out here for F(2×2) and F(4×4).
        let k: Vec<f32> = (0..9).map(|i| (i as f32 * 0.37).sin()).collect();
        let bt2: [[f64; 4]; 4] = [[1., 0., -1., 0.], [0., 1., 1., 0.], [0., -1., 1., 0.], [0., 1., 0., -1.]];
        let at2: [[f64; 4]; 2] = [[1., 1., 1., 0.], [0., 1., -1., -1.]];
        let bt4: [[f64; 6]; 6] = [
            [1., -1.5, -2., 1.5, 1., 0.],
            [0., -1., 0.5, 2.5, 1., 0.],
            [0., 1., -2.5, 0.5, 1., 0.],
            [0., -2., -1., 2., 1., 0.],
            [0., 0.5, -1., -0.5, 1., 0.],
            [0., 1., -1.5, -2., 1.5, 1.],
        ];
        let at4: [[f64; 6]; 4] = [
            [1., 1., 1., 1., 1., 0.],
            [0., 1., -1., 0.5, -2., 0.],
            [0., 1., 1., 0.25, 4., 0.],
            [0., 1., -1., 0.125, -8., 1.],
        ];
        let bt2: Vec<&[f64]> = bt2.iter().map(|r| &r[..]).collect();
        let at2: Vec<&[f64]> = at2.iter().map(|r| &r[..]).collect();
        let bt4: Vec<&[f64]> = bt4.iter().map(|r| &r[..]).collect();
        let at4: Vec<&[f64]> = at4.iter().map(|r| &r[..]).collect();
        for (m, bt, at) in [(2, bt2, at2), (4, bt4, at4)] {
            let a = m + 2;
            let conv = WinogradConv { m, ..WinogradConv::new([1, 1, a, a], 1, [m, m], [0, 0]) };
            let u = transformed_weights(&k, &conv).unwrap();
            let u = u.as_f32().unwrap();
            let d: Vec<f64> = (0..a * a).map(|i| (i as f64 * 0.71).cos()).collect();
            // v = Bᵀ d B, p = u ⊙ v, y = Aᵀ p A.
            let v: Vec<f64> = (0..a * a)
                .map(|e| {
                    let (i, j) = (e / a, e % a);
                    (0..a)
                        .flat_map(|r| (0..a).map(move |s| (r, s)))
                        .map(|(r, s)| bt[i][r] * d[r * a + s] * bt[j][s])
                        .sum()
                })
                .collect();
            for (oy, ox) in (0..m).flat_map(|y| (0..m).map(move |x| (y, x))) {
                let got: f64 = (0..a * a).map(|e| at[oy][e / a] * f64::from(u[e]) * v[e] * at[ox][e % a]).sum();
                let want: f64 = (0..9).map(|t| f64::from(k[t]) * d[(oy + t / 3) * a + ox + t % 3]).sum();
                assert!((got - want).abs() < 1e-5, "F({m}×{m}) output ({oy}, {ox}): {got} vs {want}");
            }
        }
    }
}
