//! 3×3 stride-1 ungrouped f32 convolutions -> `shaders/winograd.wgsl`: F(2×2, 3×3) transforms
//! around 16 batched GEMMs (`shaders/gemm.wgsl`), 2.25× fewer multiplications than im2col.

use ocelli_graph::UnaryOp;

use crate::dispatch::{linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{gemm_dispatch, GemmSpec};
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

    /// Bytes of the three scratch buffers: transformed weights, inputs and products.
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

/// The four dispatches of `acts(conv(x, w) + bias + residual)`; `bias` and `residual` are the
/// node's values if present, `scratch` receives the three scratch buffers.
pub(crate) fn winograd(
    io: &Io<'_>,
    conv: &WinogradConv,
    bias: Option<Binding>,
    residual: Option<Binding>,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    let first = scratch.len();
    scratch.extend(conv.scratch_bytes());
    let [u, v, m] = [0, 1, 2].map(|k| Binding::Scratch(first + k));
    let t: usize = conv.tiles().iter().product();
    let [_, v_bytes, m_bytes] = conv.scratch_bytes();
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
    let weights =
        transform("winograd_weights", vec![io.input(1).into(), u], conv.o * conv.c, vec![("WG", f64::from(WG))]);
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
        bias: None,
        residual: None,
        l1: false,
    };
    let gemm = gemm_dispatch(&spec, u, v, m, &[], io.tuning)?;
    let flag = |b: bool| f64::from(u8::from(b));
    let mut constants =
        vec![("WG", f64::from(WG)), ("HAS_BIAS", flag(bias.is_some())), ("RESIDUAL", flag(residual.is_some()))];
    constants.extend(act_constants(acts));
    let x = Binding::from(io.input(0));
    let output = transform(
        "winograd_output",
        vec![m, bias.unwrap_or(x), residual.unwrap_or(x), io.output(0).into()],
        conv.o * t,
        constants,
    );
    Ok(vec![weights, input, gemm, output])
}
