//! `Op::MatMul` (and its fused epilogue) -> `shaders/gemm.wgsl`.

use ocelli_graph::UnaryOp;

use ocelli_graph::ValueId;

use crate::dispatch::{chained_parts_through, Binding, Dispatch, Params, Step};
use crate::gemm_source::{K_ALIGN, ROWS};
use crate::lower::epilogue::act_constants;
use crate::lower::Io;
use crate::tuning::Tuning;
use crate::{ExecError, KernelFamily};

/// Output columns per invocation.
const BLOCK: usize = 8;

// The `epilogue` bits of gemm.wgsl's parameters.
const HAS_BIAS: usize = 1;
const BIAS_PER_ROW: usize = 2;
const RESIDUAL: usize = 4;
const LEAKY: usize = 8;
const LOWER: usize = 16;
const UPPER: usize = 32;

/// A single ReLU, ReLU6, clamp or leaky ReLU as gemm.wgsl's runtime activation: its `epilogue`
/// bits and slope, lo, hi; `None` for chains that need the override constants.
fn linear_activation(acts: &[UnaryOp]) -> Option<(usize, [f32; 3])> {
    match acts {
        [] => Some((0, [0.0; 3])),
        [UnaryOp::Relu] => Some((LOWER, [0.0; 3])),
        [UnaryOp::Relu6] => Some((LOWER | UPPER, [0.0, 0.0, 6.0])),
        [UnaryOp::Clamp { min, max }] => Some((LOWER | UPPER, [0.0, *min, *max])),
        [UnaryOp::LeakyRelu(slope)] => Some((LEAKY, [*slope, 0.0, 0.0])),
        _ => None,
    }
}

/// Where a GEMM's operands and epilogue come from.
pub(crate) struct GemmSpec {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub batch: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub a_batch_stride: usize,
    pub b_batch_stride: usize,
    /// Elements between rows of a `b` that is not transposed: `n`, or more for padded rows.
    pub ldb: usize,
    /// Where y (and the residual) starts, in elements: 0 unless y is a band of a larger output.
    pub y_offset: usize,
    /// Elements between rows of y (and the residual): `n`, or more when y is a band of columns.
    pub ldy: usize,
    /// Bias value and whether it is per row (conv channels) rather than per column.
    pub bias: Option<(ValueId, bool)>,
    pub residual: Option<ValueId>,
    /// L1 distances instead of products.
    pub l1: bool,
}

/// The dispatches of `y = acts(op(a)·op(b) + bias + residual)`, bindings a, b, y. A K longer
/// than 4·[`Tuning::loop_chunk`] runs in parts, each a dispatch that adds its part of K to the
/// previous result (bound as its residual): the first part adds the bias and residual, the last
/// applies the activations, and the parts alternate between `y` and a scratch buffer so that
/// the last one writes `y`.
pub(crate) fn gemm_steps(
    spec: &GemmSpec,
    a: Binding,
    b: Binding,
    y: Binding,
    acts: &[UnaryOp],
    io: &Io<'_>,
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    band_gemm_steps(spec, (a, b, y), acts, io, scratch, &mut None)
}

/// [`gemm_steps`] for one of several bands whose GEMMs run in turn: when K runs in parts, the
/// part chains of all the bands go through one scratch buffer, `chain` (its index, set by the
/// first band, sized for the largest; see [`chained_parts_through`]).
pub(crate) fn band_gemm_steps(
    spec: &GemmSpec,
    (a, b, y): (Binding, Binding, Binding),
    acts: &[UnaryOp],
    io: &Io<'_>,
    scratch: &mut Vec<u64>,
    chain: &mut Option<usize>,
) -> Result<Vec<Step>, ExecError> {
    if spec.batch > 65_535 {
        return Err(ExecError::Unsupported { op: "matmul", why: format!("batch {} exceeds 65535", spec.batch) });
    }
    let tuning = io.tuning;
    let part = (4 * tuning.loop_chunk / K_ALIGN).max(1) * K_ALIGN;
    let parts = spec.k.div_ceil(part).max(1);
    let bias = spec.bias.map_or(Binding::Placeholder, |(v, _)| Binding::Value(v));
    let residual = spec.residual.map_or(Binding::Placeholder, Binding::Value);
    let bytes = (spec.y_offset + spec.batch * spec.m * spec.ldy) as u64 * io.elem_bytes();
    let mut steps = Vec::with_capacity(parts);
    for (j, (dst, prev)) in chained_parts_through(parts, y, bytes, scratch, chain).into_iter().enumerate() {
        let first = j == 0;
        let epilogue = Epilogue {
            bias: if first { spec.bias.map(|(_, per_row)| (bias, per_row)) } else { None },
            residual: if first { spec.residual.map(|_| residual) } else { prev },
            acts: if j + 1 == parts { acts } else { &[] },
        };
        let k = (j * part, ((j + 1) * part).min(spec.k));
        steps.push(gemm_dispatch(spec, (a, b, dst), &epilogue, k, tuning));
    }
    Ok(steps)
}

/// What one GEMM dispatch adds to its products, and the activations it applies.
struct Epilogue<'a> {
    /// Bias binding and whether it is per row.
    bias: Option<(Binding, bool)>,
    residual: Option<Binding>,
    acts: &'a [UnaryOp],
}

/// One GEMM dispatch over the part `k` of K of `spec`, bindings a, b, y.
fn gemm_dispatch(
    spec: &GemmSpec,
    (a, b, y): (Binding, Binding, Binding),
    epilogue: &Epilogue<'_>,
    (k_begin, k_end): (usize, usize),
    tuning: Tuning,
) -> Step {
    let flag = |b: bool| f64::from(u8::from(b));
    let aligned_a = !spec.trans_a && spec.k.is_multiple_of(4) && spec.a_batch_stride.is_multiple_of(4);
    let aligned_b = !spec.trans_b && spec.ldb.is_multiple_of(4) && spec.b_batch_stride.is_multiple_of(4);
    let aligned_bt = spec.trans_b && spec.k.is_multiple_of(4) && spec.b_batch_stride.is_multiple_of(4);
    let mut constants = vec![
        ("WG_X", f64::from(tuning.gemm_wg)),
        ("TRANS_A", flag(spec.trans_a)),
        ("TRANS_B", flag(spec.trans_b)),
        ("ALIGNED_A", flag(aligned_a)),
        ("ALIGNED_B", flag(aligned_b)),
        ("ALIGNED_BT", flag(aligned_bt)),
        ("L1", flag(spec.l1)),
    ];
    // Activations the kernel cannot apply from its parameters go to override constants.
    let (act_bits, [slope, lo, hi]) = linear_activation(epilogue.acts).unwrap_or_else(|| {
        constants.extend(act_constants(epilogue.acts));
        (0, [0.0; 3])
    });
    let bit = |on: bool, b: usize| if on { b } else { 0 };
    let bits = bit(epilogue.bias.is_some(), HAS_BIAS)
        | bit(epilogue.bias.is_some_and(|(_, per_row)| per_row), BIAS_PER_ROW)
        | bit(epilogue.residual.is_some(), RESIDUAL)
        | act_bits;
    let bias = epilogue.bias.map_or(Binding::Placeholder, |(v, _)| v);
    let residual = epilogue.residual.unwrap_or(Binding::Placeholder);
    // Operands as textures where the adapter reads those faster and both fit one.
    let a_len = (spec.a_batch_stride * spec.batch).max(spec.m * spec.k);
    let b_len = (spec.b_batch_stride * spec.batch).max(spec.k * spec.ldb);
    let texels = tuning.fits_texels(a_len) && tuning.fits_texels(b_len);
    let family = match (tuning.gemm_subgroups, texels) {
        (false, false) => KernelFamily::Gemm,
        (true, false) => KernelFamily::GemmSubgroup,
        (false, true) => KernelFamily::GemmTexels,
        (true, true) => KernelFamily::GemmSubgroupTexels,
    };
    Step::Dispatch(Dispatch {
        family,
        entry: if tuning.gemm_subgroups { "gemm_subgroup" } else { "gemm" },
        constants,
        bindings: vec![a, b, bias, residual, y],
        params: Params::default()
            .us(&[spec.m, spec.n, spec.k, spec.a_batch_stride, spec.b_batch_stride, bits])
            .f(slope)
            .f(lo)
            .f(hi)
            .us(&[spec.ldb, k_begin, k_end, spec.y_offset, spec.ldy])
            .0,
        groups: [
            spec.n.div_ceil(BLOCK * tuning.gemm_wg as usize) as u32,
            spec.m.div_ceil(ROWS) as u32,
            spec.batch as u32,
        ],
    })
}

/// `acts(op(a)·op(b) + bias + residual)`; `n_base` inputs belong to the matmul itself.
pub(crate) fn matmul(
    io: &Io<'_>,
    trans_a: bool,
    trans_b: bool,
    n_base: usize,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    let (a, b, y) = (io.in_shape(0).dims(), io.in_shape(1).dims(), io.out_shape(0).dims());
    let (m, n) = (y[y.len() - 2], y[y.len() - 1]);
    let k = if trans_a { a[a.len() - 2] } else { a[a.len() - 1] };
    let batches = |d: &[usize]| d[..d.len() - 2].iter().product::<usize>();
    let spec = GemmSpec {
        m,
        n,
        k,
        batch: batches(y),
        trans_a,
        trans_b,
        a_batch_stride: if batches(a) == 1 { 0 } else { m * k },
        b_batch_stride: if batches(b) == 1 { 0 } else { k * n },
        ldb: n,
        y_offset: 0,
        ldy: n,
        bias: (n_base == 3).then(|| (io.input(2), false)),
        residual: (io.node.inputs.len() > n_base).then(|| io.input(n_base)),
        l1: false,
    };
    let v = |id| Binding::Value(id);
    gemm_steps(&spec, v(io.input(0)), v(io.input(1)), v(io.output(0)), acts, io, scratch)
}

/// `Op::L1Distance`: the GEMM tiling with |a − b| accumulation, b read transposed.
pub(crate) fn l1_distance(io: &Io<'_>, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (a, b) = (io.in_shape(0).dims(), io.in_shape(1).dims());
    let spec = GemmSpec {
        m: a[0],
        n: b[0],
        k: a[1],
        batch: 1,
        trans_a: false,
        trans_b: true,
        a_batch_stride: 0,
        b_batch_stride: 0,
        ldb: b[0],
        y_offset: 0,
        ldy: b[0],
        bias: None,
        residual: None,
        l1: true,
    };
    gemm_steps(&spec, io.input(0).into(), io.input(1).into(), io.output(0).into(), &[], io, scratch)
}
