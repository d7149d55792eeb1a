//! 3×3 stride-1 ungrouped f32 convolutions -> `shaders/winograd.wgsl`: F(2×2, 3×3) transforms
//! around 16 batched GEMMs (`shaders/gemm.wgsl`), 2.25× fewer multiplications than im2col.

use ocelli_graph::{Tensor, UnaryOp};

use crate::dispatch::{linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{band_gemm_steps, GemmSpec};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;
/// Positions of a 4×4 transformed tile: one GEMM each.
const TILE: usize = 16;

/// The convolution's geometry: input [n, c, h, w], o output channels of oh × ow, and its top
/// and left padding.
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
}

impl WinogradConv {
    /// Tiles of 2×2 outputs per image: [rows, columns].
    fn image_tiles(&self) -> [usize; 2] {
        [self.oh.div_ceil(2), self.ow.div_ceil(2)]
    }

    /// Bytes of the transformed weights [16, O, C].
    fn weight_bytes(&self) -> u64 {
        (TILE * self.o * self.c) as u64 * 4
    }

    /// Bytes of the transformed inputs [16, C, T] and products [16, O, T] of `images` images.
    fn band_bytes(&self, images: usize) -> [u64; 2] {
        let t = (images * self.image_tiles().iter().product::<usize>()) as u64;
        [TILE as u64 * self.c as u64 * t * 4, TILE as u64 * self.o as u64 * t * 4]
    }

    /// Images per band keeping every scratch buffer within `max_bytes`, balanced over the batch
    /// (bands of equal size but the last); `None` when the weights or one image do not fit.
    pub fn band_images(&self, max_bytes: u64) -> Option<usize> {
        let per_image = self.band_bytes(1).into_iter().max().unwrap_or(0);
        if self.weight_bytes() > max_bytes || per_image > max_bytes {
            return None;
        }
        let fit = usize::try_from(max_bytes / per_image.max(1)).unwrap_or(usize::MAX).min(self.n);
        Some(self.n.div_ceil(self.n.div_ceil(fit)))
    }

    /// Parameters for the band of `images` images from `n_begin`, over `items` invocations.
    fn params(&self, (n_begin, images): (usize, usize), items: usize) -> Vec<u32> {
        let [th, tw] = self.image_tiles();
        Params::default()
            .us(&[images, self.c, self.h, self.w, self.o, self.oh, self.ow, self.pad_top, self.pad_left, th, tw, items])
            .u(n_begin)
            .0
    }
}

/// u[e, o, c] = (G · w[o, c] · Gᵀ)[e] for f32 weights w [O, C, 3, 3], in the order and layout of
/// `winograd_weights`.
fn transformed_weights(w: &[f32], o: usize, c: usize) -> Result<Tensor, ExecError> {
    let plane = o * c;
    let mut u = vec![0.0; TILE * plane];
    for (item, g) in w.chunks_exact(9).enumerate() {
        let row = |r: usize| [g[3 * r], g[3 * r + 1], g[3 * r + 2]];
        let (g0, g1, g2) = (row(0), row(1), row(2));
        let mix = |sign: f32| std::array::from_fn::<f32, 3, _>(|j| 0.5 * (g0[j] + sign * g1[j] + g2[j]));
        for (r, [x, y, z]) in [g0, mix(1.0), mix(-1.0), g2].into_iter().enumerate() {
            for (s, t) in [x, 0.5 * (x + y + z), 0.5 * (x - y + z), z].into_iter().enumerate() {
                u[(4 * r + s) * plane + item] = t;
            }
        }
    }
    Ok(Tensor::from_f32([TILE, o, c], u)?)
}

/// The dispatches of `acts(conv(x, w) + bias + residual)` in bands of images within the
/// scratch limit ([`WinogradConv::band_images`]; `None` when not even one image fits): the
/// input transform, the GEMMs of the 16 tile positions (one batched GEMM, or a chain of them
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
    let Some(band) = conv.band_images(io.tuning.scratch_limit) else { return Ok(None) };
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
    let u = match io.constant(1).and_then(Tensor::as_f32) {
        Some(w) => {
            derived.push(transformed_weights(w, conv.o, conv.c)?);
            Binding::Derived(derived.len() - 1)
        }
        None => {
            scratch.push(conv.weight_bytes());
            let u = Binding::Scratch(scratch.len() - 1);
            let items = conv.o * conv.c;
            let wg = vec![("WG", f64::from(WG))];
            steps.push(transform("winograd_weights", vec![io.input(1).into(), u], (0, conv.n), items, wg));
            u
        }
    };
    let flag = |b: bool| f64::from(u8::from(b));
    let mut out_constants =
        vec![("WG", f64::from(WG)), ("HAS_BIAS", flag(bias.is_some())), ("RESIDUAL", flag(residual.is_some()))];
    out_constants.extend(act_constants(acts));
    let tiles_per_image: usize = conv.image_tiles().iter().product();
    let mut chain = None;
    for n_begin in (0..conv.n).step_by(band) {
        let images = (n_begin, band.min(conv.n - n_begin));
        let t = images.1 * tiles_per_image;
        let wg = vec![("WG", f64::from(WG))];
        steps.push(transform("winograd_input", vec![io.input(0).into(), v], images, conv.c * t, wg));
        let spec = GemmSpec {
            m: conv.o,
            n: t,
            k: conv.c,
            batch: TILE,
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
        steps.push(transform("winograd_output", bindings, images, conv.o * t, out_constants.clone()));
    }
    Ok(Some(steps))
}
