//! `Op::Conv2d` -> `shaders/conv2d.wgsl`, `Op::ConvTranspose2d` -> `shaders/conv_transpose.wgsl`.

use ocelli_graph::{resolve_conv_padding, Conv2d, ConvTranspose2d, Tensor, TensorData, UnaryOp};

use crate::dispatch::{chained_parts, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{gemm_steps, GemmSpec};
use crate::lower::winograd::{winograd, WinogradConv};
use crate::lower::Io;
use crate::tuning::MAX_WINDOW;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;
/// Output channels and output columns per invocation in conv2d.wgsl.
const BLOCK: usize = 4;

fn dims4(d: &[usize]) -> [usize; 4] {
    [d[0], d[1], d[2], d[3]]
}

/// Largest im2col patch matrix built for the GEMM path; bigger convolutions run direct.
const MAX_IM2COL_BYTES: u64 = 64 << 20;

/// The `rows` × `cols` matrix `t` with zero columns appended up to `padded_cols`.
fn pad_columns(t: &Tensor, rows: usize, cols: usize, padded_cols: usize) -> Result<Tensor, ExecError> {
    fn pad<T: Copy>(v: &[T], zero: T, cols: usize, padded_cols: usize) -> Vec<T> {
        v.chunks(cols)
            .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(zero, padded_cols - cols)))
            .collect()
    }
    let data = match t.data() {
        TensorData::F32(v) => TensorData::F32(pad(v, 0.0, cols, padded_cols)),
        TensorData::F16(v) => TensorData::F16(pad(v, half::f16::ZERO, cols, padded_cols)),
        TensorData::I32(v) => TensorData::I32(pad(v, 0, cols, padded_cols)),
        TensorData::U32(v) => TensorData::U32(pad(v, 0, cols, padded_cols)),
    };
    Ok(Tensor::new([rows, padded_cols], data)?)
}

/// `acts(conv(x, w) + bias + residual)`; `n_base` inputs belong to the convolution itself.
/// Ungrouped convolutions run as GEMMs — 1×1 stride-1 unpadded ones directly on x when OH·OW
/// is a multiple of 4, f32 3×3 stride-1 ones with 8 or more channels in and out as Winograd
/// F(2×2, 3×3) (16 batched GEMMs between transforms: about 12–15% faster than im2col on lavapipe
/// for 64×56×56 and 128×28×28), the others on an im2col patch matrix in a scratch buffer;
/// depthwise ones run a kernel of their own, other grouped ones the direct kernel. Constant
/// weights may become `derived` constants: Winograd's transformed weights, and im2col weights
/// with rows padded to a multiple of 4.
pub(crate) fn conv2d(
    io: &Io<'_>,
    p: &Conv2d,
    n_base: usize,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
    derived: &mut Vec<Tensor>,
) -> Result<Vec<Step>, ExecError> {
    let [n, c, h, w] = dims4(io.in_shape(0).dims());
    let [o, cg, kh, kw] = dims4(io.in_shape(1).dims());
    let [_, _, oh, ow] = dims4(io.out_shape(0).dims());
    let pads = resolve_conv_padding(p, [h, w], [kh, kw]);
    let has_bias = n_base == 3;
    let residual = io.node.inputs.len() > n_base;
    let og = o / p.groups;
    let k = cg * kh * kw;
    let pointwise = kh == 1 && kw == 1 && p.stride == [1, 1] && pads == [0; 4];
    // The im2col patch matrix keeps the GEMM on its aligned variant, one pipeline for every
    // layer (a GEMM pipeline costs lavapipe about 0.5 s to compile at its first dispatch):
    // - its rows are padded to a multiple of 4 columns (zeros past OH·OW), so 1×1 convolutions
    //   over 7×7 planes (MobileNetV2's last stage) copy x through im2col instead of running the
    //   GEMM on x's unaligned rows;
    // - with constant weights, its row count is padded to a multiple of 4 (zero rows against
    //   zero weight columns), so stems such as MobileNetV2's (3·3·3 = 27) read aligned weight
    //   rows, at 28/27 of the work.
    let patch_cols = (oh * ow).next_multiple_of(4);
    let pad_patches = p.groups == 1 && !k.is_multiple_of(4) && io.constant(1).is_some();
    let k_rows = if pad_patches { k.next_multiple_of(4) } else { k };
    let direct_items = n * p.groups * og.div_ceil(BLOCK) * oh * ow.div_ceil(BLOCK);
    // Parameters for `items` work items of `cols` output columns each.
    let params = |items: usize, cols: usize, (ic_begin, ic_end): (usize, usize)| {
        Params::default()
            .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], pads[0], pads[1]])
            .us(&[p.dilation[0], p.dilation[1], cg, og, og.div_ceil(BLOCK), ow.div_ceil(cols), items, k_rows])
            .us(&[patch_cols, ic_begin, ic_end])
            .0
    };
    // The input through a texture where the adapter reads those faster.
    let family = if io.tuning.fits_texels(n * c * h * w) { KernelFamily::Conv2dTexels } else { KernelFamily::Conv2d };
    let wino = WinogradConv { n, c, h, w, o, oh, ow, pad_top: pads[0], pad_left: pads[1] };
    let winograd_fits = wino.scratch_bytes().iter().all(|&b| b <= MAX_IM2COL_BYTES);
    // f16 stays on im2col: the transforms would round to f16 between them.
    let plain_3x3 = [kh, kw] == [3, 3] && p.stride == [1, 1] && p.dilation == [1, 1] && p.groups == 1;
    if plain_3x3 && io.elem_bytes() == 4 && c >= 8 && o >= 8 && winograd_fits {
        let bias = has_bias.then(|| io.input(2).into());
        let residual = residual.then(|| io.input(n_base).into());
        return winograd(io, &wino, bias, residual, acts, scratch, derived);
    }
    let col_bytes = (n * k_rows * patch_cols) as u64 * io.elem_bytes();
    let spec = |k: usize, ldb: usize| GemmSpec {
        m: o,
        n: oh * ow,
        k,
        batch: n,
        trans_a: false,
        trans_b: false,
        a_batch_stride: 0,
        b_batch_stride: k * ldb,
        ldb,
        bias: has_bias.then(|| (io.input(2), true)),
        residual: residual.then(|| io.input(n_base)),
        l1: false,
    };
    let y = Binding::from(io.output(0));
    if p.groups == 1 && pointwise && (patch_cols == oh * ow || col_bytes > MAX_IM2COL_BYTES) {
        let x = io.input(0).into();
        return gemm_steps(&spec(k, oh * ow), io.input(1).into(), x, y, acts, io, scratch);
    }
    if p.groups == 1 && col_bytes <= MAX_IM2COL_BYTES {
        scratch.push(col_bytes);
        let col = Binding::Scratch(scratch.len() - 1);
        let weights = match io.constant(1) {
            Some(w) if pad_patches => {
                derived.push(pad_columns(w, o, k, k_rows)?);
                Binding::Derived(derived.len() - 1)
            }
            _ => io.input(1).into(),
        };
        // Rows of at most 4·loop_chunk elements per invocation.
        let segment = ow.min(4 * io.tuning.loop_chunk);
        let items = n * k_rows * oh * ow.div_ceil(segment);
        let im2col = Step::Dispatch(Dispatch {
            family,
            entry: "im2col",
            constants: vec![("WG", f64::from(WG))],
            bindings: vec![io.input(0).into(), col],
            params: params(items, segment, (0, cg)),
            groups: linear_groups(items, WG),
        });
        let mut steps = vec![im2col];
        steps.extend(gemm_steps(&spec(k_rows, patch_cols), weights, col, y, acts, io, scratch)?);
        return Ok(steps);
    }
    let flag = |b: bool| f64::from(u8::from(b));
    let depthwise = cg == 1 && og == 1;
    let mut constants = vec![("WG", f64::from(WG))];
    // Depthwise rows through 16-input windows where x is a texture and the taps of 4 (WIDE: 8)
    // output columns fit one.
    let span = |cols: usize| 3 + (cols - 1) * p.stride[1] + (kw - 1) * p.dilation[1] + 1;
    let window = depthwise && family == KernelFamily::Conv2dTexels && span(BLOCK) <= 16;
    let wide = window && span(2 * BLOCK) <= 16;
    if window {
        constants.push(("WINDOW", 1.0));
        constants.push(("WEIGHT_WINDOW", flag(3 + kh * kw <= 16)));
        constants.push(("WIDE", flag(wide)));
    }
    let cols = if wide { 2 * BLOCK } else { BLOCK };
    // Loop iterations per input channel and tap row, counted generously (the tap loop and its
    // 4-column strips).
    let per_channel = kh * (1 + 5 * kw);
    if per_channel > io.tuning.loop_chunk.max(MAX_WINDOW) {
        return Err(ExecError::Unsupported {
            op: "conv2d",
            why: format!("a {kh}x{kw} kernel needs more loop iterations per invocation than drivers allow"),
        });
    }
    let optional = |present: bool, i: usize| if present { io.input(i).into() } else { Binding::Placeholder };
    let (entry, items, parts) = if depthwise {
        ("depthwise", n * c * oh * ow.div_ceil(cols), 1)
    } else {
        // Input channels per dispatch: about 4·loop_chunk iterations per invocation.
        let per_part = (4 * io.tuning.loop_chunk / per_channel).clamp(1, cg);
        ("conv2d", direct_items, cg.div_ceil(per_part))
    };
    let per_part = cg.div_ceil(parts);
    let bytes = io.out_shape(0).numel() as u64 * io.elem_bytes();
    let mut steps = Vec::with_capacity(parts);
    for (j, (dst, prev)) in chained_parts(parts, io.output(0).into(), bytes, scratch).into_iter().enumerate() {
        // The first part adds bias and residual, the last applies the activations.
        let (first, last) = (j == 0, j + 1 == parts);
        let mut constants = constants.clone();
        constants.push(("HAS_BIAS", flag(first && has_bias)));
        constants.push(("RESIDUAL", flag(!first || residual)));
        if last {
            constants.extend(act_constants(acts));
        }
        let residual_binding = if first { optional(residual, n_base) } else { prev.expect("previous part") };
        steps.push(Step::Dispatch(Dispatch {
            family,
            entry,
            constants,
            bindings: vec![
                io.input(0).into(),
                io.input(1).into(),
                optional(first && has_bias, 2),
                residual_binding,
                dst,
            ],
            params: params(items, cols, (j * per_part, ((j + 1) * per_part).min(cg))),
            groups: linear_groups(items, WG),
        }));
    }
    Ok(steps)
}

pub(crate) fn conv_transpose2d(
    io: &Io<'_>,
    p: &ConvTranspose2d,
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    let [n, c, h, w] = dims4(io.in_shape(0).dims());
    let [_, og, kh, kw] = dims4(io.in_shape(1).dims());
    let [_, o, oh, ow] = dims4(io.out_shape(0).dims());
    let cg = c / p.groups;
    let numel = n * o * oh * ow;
    let has_bias = io.node.inputs.len() == 3;
    // Loop iterations per input channel: one per tap, plus the tap loops themselves.
    let taps = kh * (1 + kw);
    if taps > io.tuning.loop_chunk.max(MAX_WINDOW) {
        return Err(ExecError::Unsupported {
            op: "conv_transpose2d",
            why: format!("a {kh}x{kw} kernel needs more loop iterations per invocation than drivers allow"),
        });
    }
    let parts = cg.div_ceil((4 * io.tuning.loop_chunk / (kh * kw).max(1)).clamp(1, cg));
    let per_part = cg.div_ceil(parts);
    let mut steps = Vec::with_capacity(parts);
    for (j, (dst, prev)) in
        chained_parts(parts, io.output(0).into(), (numel * 4) as u64, scratch).into_iter().enumerate()
    {
        let bias = j == 0 && has_bias;
        let params = Params::default()
            .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], p.padding[0], p.padding[1]])
            .us(&[p.dilation[0], p.dilation[1], cg, og, numel, j * per_part, ((j + 1) * per_part).min(cg)]);
        steps.push(Step::Dispatch(Dispatch {
            family: KernelFamily::ConvTranspose,
            entry: "conv_transpose2d",
            constants: vec![
                ("WG", f64::from(WG)),
                ("HAS_BIAS", f64::from(u8::from(bias))),
                ("ACCUMULATE", f64::from(u8::from(j > 0))),
            ],
            bindings: vec![
                io.input(0).into(),
                io.input(1).into(),
                if bias { io.input(2).into() } else { Binding::Placeholder },
                prev.unwrap_or(Binding::Placeholder),
                dst,
            ],
            params: params.0,
            groups: linear_groups(numel, WG),
        }));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use ocelli_graph::{Conv2d, DType, Graph, GraphBuilder, Op, Padding, Tensor};

    use crate::dispatch::{Binding, Step};
    use crate::lower::{lower, Lowering};
    use crate::tuning::Tuning;

    const TUNING: Tuning = Tuning { gemm_subgroups: false, gemm_wg: 8, texel_capacity: 1 << 20, loop_chunk: 4096 };

    /// Index of `ldb` in a GEMM dispatch's parameters.
    const LDB: usize = 9;

    /// Index of `k_rows` (then `patch_cols`) in a convolution's parameters.
    const K_ROWS: usize = 20;

    /// conv(x [1, c, 9, 9], w [o, c, k, k]) with `stride` (padding 1 for k = 3), the weights
    /// constant or an input.
    fn conv_graph(c: usize, o: usize, k: usize, stride: usize, constant: bool) -> Graph {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [1, c, 9, 9], DType::F32).unwrap();
        let values = (0..o * c * k * k).map(|i| i as f32).collect();
        let w = if constant {
            g.constant(Tensor::from_f32([o, c, k, k], values).unwrap()).unwrap()
        } else {
            g.input("w", [o, c, k, k], DType::F32).unwrap()
        };
        let pad = Padding::Explicit([k / 2; 4]);
        let p = Conv2d { stride: [stride, stride], padding: pad, ..Default::default() };
        let y = g.op(Op::Conv2d(p), &[x, w]).unwrap();
        g.build(&[y]).unwrap()
    }

    fn lowered(graph: &Graph) -> (Vec<Step>, Vec<Tensor>) {
        match lower(&graph.nodes()[0], graph, TUNING).unwrap() {
            Lowering::Steps { steps, derived, .. } => (steps, derived),
            Lowering::Alias => panic!("a convolution is not an alias"),
        }
    }

    fn dispatch(steps: &[Step], entry: &str) -> crate::dispatch::Dispatch {
        steps
            .iter()
            .find_map(|s| match s {
                Step::Dispatch(d) if d.entry == entry => Some(d.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {entry} dispatch"))
    }

    fn constant(d: &crate::dispatch::Dispatch, name: &str) -> f64 {
        d.constants.iter().find(|(n, _)| *n == name).map(|&(_, v)| v).unwrap()
    }

    #[test]
    fn constant_weights_with_27_taps_are_padded_to_28_for_an_aligned_gemm() {
        let (steps, derived) = lowered(&conv_graph(3, 5, 3, 2, true));
        assert_eq!(derived.len(), 1);
        assert_eq!(derived[0].shape().dims(), &[5, 28]);
        let w = derived[0].as_f32().unwrap();
        for row in 0..5 {
            let want: Vec<f32> = (row * 27..row * 27 + 27).map(|i| i as f32).chain([0.0]).collect();
            assert_eq!(&w[row * 28..row * 28 + 28], want.as_slice(), "row {row}");
        }
        let gemm = dispatch(&steps, "gemm");
        assert_eq!(gemm.bindings[0], Binding::Derived(0));
        assert_eq!(constant(&gemm, "ALIGNED_A"), 1.0);
        assert_eq!(gemm.params[2], 28, "k");
        // im2col writes 28 patch rows of 5·5 outputs padded to 28 (k_rows and patch_cols), which
        // the GEMM reads as aligned rows.
        let im2col = dispatch(&steps, "im2col");
        assert_eq!(im2col.params[K_ROWS..K_ROWS + 2], [28, 28]);
        assert_eq!(constant(&gemm, "ALIGNED_B"), 1.0);
        assert_eq!(gemm.params[LDB], 28, "ldb");

        let (steps, derived) = lowered(&conv_graph(3, 5, 3, 2, false));
        assert!(derived.is_empty());
        let gemm = dispatch(&steps, "gemm");
        assert_eq!(constant(&gemm, "ALIGNED_A"), 0.0);
        assert_eq!(gemm.params[2], 27);
    }

    #[test]
    fn winograd_transforms_constant_weights_at_compile_time() {
        let (steps, derived) = lowered(&conv_graph(8, 8, 3, 1, true));
        assert_eq!(derived.len(), 1);
        assert_eq!(derived[0].shape().dims(), &[16, 8, 8]);
        assert!(steps.iter().all(|s| !matches!(s, Step::Dispatch(d) if d.entry == "winograd_weights")));
        assert_eq!(dispatch(&steps, "gemm").bindings[0], Binding::Derived(0));
        // Corner position e = 0 of the 4×4 tile is g[0][0] of each filter.
        let u = derived[0].as_f32().unwrap();
        assert_eq!(u[..3], [0.0, 9.0, 18.0]);

        let (steps, derived) = lowered(&conv_graph(8, 8, 3, 1, false));
        assert!(derived.is_empty());
        dispatch(&steps, "winograd_weights");
    }

    #[test]
    fn pointwise_convs_over_unaligned_planes_copy_x_into_aligned_rows() {
        // 9×9 = 81 outputs per channel: im2col copies x into rows of 84 for the aligned GEMM.
        let (steps, _) = lowered(&conv_graph(8, 6, 1, 1, false));
        let im2col = dispatch(&steps, "im2col");
        assert_eq!(im2col.params[K_ROWS..K_ROWS + 2], [8, 84]);
        let gemm = dispatch(&steps, "gemm");
        assert_eq!(constant(&gemm, "ALIGNED_B"), 1.0);
        assert_eq!(gemm.params[1], 81, "n");
        assert_eq!(gemm.params[LDB], 84, "ldb");
    }
}
