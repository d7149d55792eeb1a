//! 3×3 stride-1 ungrouped f32 convolutions -> `shaders/winograd.wgsl`: F(2×2, 3×3) transforms
//! around 16 batched GEMMs (`shaders/gemm.wgsl`), 2.25× fewer multiplications than im2col.

use ocelli_graph::{Tensor, UnaryOp};

use crate::dispatch::{linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{gemm_steps, GemmSpec};
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
    /// Tiles of 2×2 outputs over the batch.
    fn tiles(&self) -> [usize; 3] {
        [self.n, self.oh.div_ceil(2), self.ow.div_ceil(2)]
    }

    /// Bytes of the transformed weights, inputs and products.
    pub fn scratch_bytes(&self) -> [u64; 3] {
        let t: usize = self.tiles().iter().product();
        [TILE * self.o * self.c, TILE * self.c * t, TILE * self.o * t].map(|n| n as u64 * 4)
    }

    fn params(&self, items: usize) -> Vec<u32> {
        let [_, th, tw] = self.tiles();
        Params::default()
            .us(&[self.n, self.c, self.h, self.w, self.o, self.oh, self.ow, self.pad_top, self.pad_left, th, tw, items])
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

/// The dispatches of `acts(conv(x, w) + bias + residual)`; `bias` and `residual` are the node's
/// values if present, `scratch` receives the scratch buffers. Constant f32 weights are
/// transformed now, into `derived`; others by a first dispatch on every run.
pub(crate) fn winograd(
    io: &Io<'_>,
    conv: &WinogradConv,
    bias: Option<Binding>,
    residual: Option<Binding>,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
    derived: &mut Vec<Tensor>,
) -> Result<Vec<Step>, ExecError> {
    let [u_bytes, v_bytes, m_bytes] = conv.scratch_bytes();
    scratch.extend([v_bytes, m_bytes]);
    let [v, m] = [2, 1].map(|back| Binding::Scratch(scratch.len() - back));
    let t: usize = conv.tiles().iter().product();
    let texels = io.tuning.fits_texels(conv.n * conv.c * conv.h * conv.w)
        && io.tuning.fits_texels((v_bytes / 4) as usize)
        && io.tuning.fits_texels((m_bytes / 4) as usize);
    let family = if texels { KernelFamily::WinogradTexels } else { KernelFamily::Winograd };
    let transform = |entry, bindings, items: usize, constants| {
        Step::Dispatch(Dispatch {
            family,
            entry,
            constants,
            bindings,
            params: conv.params(items),
            groups: linear_groups(items, WG),
        })
    };
    let mut steps = Vec::with_capacity(4);
    let u = match io.constant(1).and_then(Tensor::as_f32) {
        Some(w) => {
            derived.push(transformed_weights(w, conv.o, conv.c)?);
            Binding::Derived(derived.len() - 1)
        }
        None => {
            scratch.push(u_bytes);
            let u = Binding::Scratch(scratch.len() - 1);
            let items = conv.o * conv.c;
            steps.push(transform("winograd_weights", vec![io.input(1).into(), u], items, vec![("WG", f64::from(WG))]));
            u
        }
    };
    let input = transform("winograd_input", vec![io.input(0).into(), v], conv.c * t, vec![("WG", f64::from(WG))]);
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
    let gemm = gemm_steps(&spec, u, v, m, &[], io, scratch)?;
    let flag = |b: bool| f64::from(u8::from(b));
    let mut constants =
        vec![("WG", f64::from(WG)), ("HAS_BIAS", flag(bias.is_some())), ("RESIDUAL", flag(residual.is_some()))];
    constants.extend(act_constants(acts));
    let output = transform(
        "winograd_output",
        vec![m, bias.unwrap_or(Binding::Placeholder), residual.unwrap_or(Binding::Placeholder), io.output(0).into()],
        conv.o * t,
        constants,
    );
    steps.push(input);
    steps.extend(gemm);
    steps.push(output);
    Ok(steps)
}
