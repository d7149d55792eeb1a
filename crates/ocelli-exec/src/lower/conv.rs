//! `Op::Conv2d` -> `shaders/conv2d.wgsl`, `Op::ConvTranspose2d` -> `shaders/conv_transpose.wgsl`.

use ocelli_graph::{resolve_conv_padding, Conv2d, ConvTranspose2d, Tensor, TensorData, UnaryOp};

use crate::dispatch::{chained_parts, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::gemm::{band_gemm_steps, gemm_steps, GemmSpec};
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

/// One band of an im2col patch matrix: images `n_begin ..` (`images` of them) and output rows
/// `oy_begin ..` (`rows` of them) of each, `patch_cols` ≥ rows·OW columns per patch row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColBand {
    n_begin: usize,
    images: usize,
    oy_begin: usize,
    rows: usize,
    patch_cols: usize,
}

/// The bands of the [n, k_rows, oh·ow] patch matrix that keep each within `max_bytes`: whole
/// images, as many per band as fit, or bands of output rows of one image when an image does not
/// fit; bands of equal size but the last. `None` when not even one output row fits.
fn col_bands(n: usize, k_rows: usize, [oh, ow]: [usize; 2], elem_bytes: u64, max_bytes: u64) -> Option<Vec<ColBand>> {
    let max_cols = usize::try_from(max_bytes / (k_rows as u64 * elem_bytes)).unwrap_or(usize::MAX) / 4 * 4;
    let image_cols = (oh * ow).next_multiple_of(4);
    let (images, rows) = if image_cols <= max_cols {
        let per_band = (max_cols / image_cols).min(n);
        (n.div_ceil(n.div_ceil(per_band)), oh)
    } else {
        let per_band = max_cols / ow;
        if per_band == 0 {
            return None;
        }
        (1, oh.div_ceil(oh.div_ceil(per_band)))
    };
    let mut bands = Vec::new();
    for n_begin in (0..n).step_by(images) {
        for oy_begin in (0..oh).step_by(rows) {
            let rows = rows.min(oh - oy_begin);
            let images = images.min(n - n_begin);
            bands.push(ColBand { n_begin, images, oy_begin, rows, patch_cols: (rows * ow).next_multiple_of(4) });
        }
    }
    Some(bands)
}

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
/// is a multiple of 4, f32 3×3 stride-1 ones with 8 or more input channels as Winograd
/// F(4×4, 3×3) (36 batched GEMMs between transforms; F(2×2, 3×3) where that transforms fewer
/// values, on planes about 2 wide or high, or where F(4×4)'s transforms pass the scratch limit;
/// 1.4–1.7× faster than F(2×2, 3×3) on lavapipe for the U-Net's 28×28 convs, which was itself
/// 12–15% faster than im2col; in bands of images within the scratch limit), the others on an
/// im2col patch matrix in a scratch buffer;
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
    // Parameters for `items` work items of `cols` output columns each (`band`: im2col's).
    let params = |items: usize, cols: usize, (ic_begin, ic_end): (usize, usize), band: Option<ColBand>| {
        let b = band.unwrap_or(ColBand { n_begin: 0, images: n, oy_begin: 0, rows: oh, patch_cols });
        Params::default()
            .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], pads[0], pads[1]])
            .us(&[p.dilation[0], p.dilation[1], cg, og, og.div_ceil(BLOCK), ow.div_ceil(cols), items, k_rows])
            .us(&[b.patch_cols, ic_begin, ic_end, b.n_begin, b.oy_begin, b.rows])
            .0
    };
    // The input through a texture where the adapter reads those faster.
    let family = if io.tuning.fits_texels(n * c * h * w) { KernelFamily::Conv2dTexels } else { KernelFamily::Conv2d };
    let wino = WinogradConv::new([n, c, h, w], o, [oh, ow], [pads[0], pads[1]]);
    // f16 stays on im2col: the transforms would round to f16 between them.
    let plain_3x3 = [kh, kw] == [3, 3] && p.stride == [1, 1] && p.dilation == [1, 1] && p.groups == 1;
    if plain_3x3 && io.elem_bytes() == 4 && c >= 8 {
        let bias = has_bias.then(|| io.input(2).into());
        let residual = residual.then(|| io.input(n_base).into());
        if let Some(steps) = winograd(io, &wino, bias, residual, acts, scratch, derived)? {
            return Ok(steps);
        }
    }
    // The GEMM of `images` images from `n_begin`, output columns `col_begin ..` (`cols` of them)
    // of each, over a b with rows `ldb` apart.
    let spec = |k: usize, ldb: usize, (n_begin, images): (usize, usize), (col_begin, cols): (usize, usize)| GemmSpec {
        m: o,
        n: cols,
        k,
        batch: images,
        trans_a: false,
        trans_b: false,
        a_batch_stride: 0,
        b_batch_stride: k * ldb,
        ldb,
        y_offset: n_begin * o * oh * ow + col_begin,
        ldy: oh * ow,
        bias: has_bias.then(|| (io.input(2), true)),
        residual: residual.then(|| io.input(n_base)),
        l1: false,
    };
    let col_bytes = (n * k_rows * patch_cols) as u64 * io.elem_bytes();
    let y = Binding::from(io.output(0));
    if p.groups == 1 && pointwise && (patch_cols == oh * ow || col_bytes > io.tuning.scratch_limit) {
        let x = io.input(0).into();
        return gemm_steps(&spec(k, oh * ow, (0, n), (0, oh * ow)), io.input(1).into(), x, y, acts, io, scratch);
    }
    let bands = col_bands(n, k_rows, [oh, ow], io.elem_bytes(), io.tuning.scratch_limit);
    if let (1, Some(bands)) = (p.groups, bands) {
        let band_bytes = |b: &ColBand| (b.images * k_rows * b.patch_cols) as u64 * io.elem_bytes();
        scratch.push(bands.iter().map(band_bytes).max().unwrap_or(0));
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
        let mut steps = Vec::with_capacity(2 * bands.len());
        let mut chain = None;
        for band in bands {
            let items = band.images * k_rows * band.rows * ow.div_ceil(segment);
            steps.push(Step::Dispatch(Dispatch {
                family,
                entry: "im2col",
                constants: vec![("WG", f64::from(WG))],
                bindings: vec![io.input(0).into(), col],
                params: params(items, segment, (0, cg), Some(band)),
                groups: linear_groups(items, WG),
            }));
            let gemm = spec(k_rows, band.patch_cols, (band.n_begin, band.images), (band.oy_begin * ow, band.rows * ow));
            steps.extend(band_gemm_steps(&gemm, (weights, col, y), acts, io, scratch, &mut chain)?);
        }
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
            params: params(items, cols, (j * per_part, ((j + 1) * per_part).min(cg)), None),
            groups: linear_groups(items, WG),
        }));
    }
    Ok(steps)
}

/// The `rows` × `cols` f32 matrix `t` transposed; `None` for other element types.
fn transposed(t: &Tensor, rows: usize, cols: usize) -> Result<Option<Tensor>, ExecError> {
    let TensorData::F32(v) = t.data() else { return Ok(None) };
    let data = (0..cols).flat_map(|j| (0..rows).map(move |i| v[i * cols + j])).collect();
    Ok(Some(Tensor::new([cols, rows], TensorData::F32(data))?))
}

/// Transposed convolution. Ungrouped ones whose [N, O·KH·KW, H·W] column matrix fits the
/// scratch limit run as a GEMM of the weights (as [O·KH·KW, C], transposed at compile time when
/// constant) by each image, then `col2im`, which gathers each output's taps and adds the bias
/// (on lavapipe 10–15× faster than the direct gather, which reads x and w from storage buffers
/// per tap); the others run the direct kernel.
pub(crate) fn conv_transpose2d(
    io: &Io<'_>,
    p: &ConvTranspose2d,
    scratch: &mut Vec<u64>,
    derived: &mut Vec<Tensor>,
) -> Result<Vec<Step>, ExecError> {
    let [n, c, h, w] = dims4(io.in_shape(0).dims());
    let [_, og, kh, kw] = dims4(io.in_shape(1).dims());
    let [_, o, oh, ow] = dims4(io.out_shape(0).dims());
    let cg = c / p.groups;
    let numel = n * o * oh * ow;
    let has_bias = io.node.inputs.len() == 3;
    let taps = o * kh * kw;
    let col_bytes = (n * taps * h * w) as u64 * 4;
    if p.groups == 1 && !io.f16() && col_bytes <= io.tuning.scratch_limit {
        scratch.push(col_bytes);
        let cols = Binding::Scratch(scratch.len() - 1);
        let weights = match io.constant(1).map(|t| transposed(t, c, taps)).transpose()?.flatten() {
            Some(t) => {
                derived.push(t);
                Binding::Derived(derived.len() - 1)
            }
            None => io.input(1).into(),
        };
        let spec = GemmSpec {
            m: taps,
            n: h * w,
            k: c,
            batch: n,
            trans_a: matches!(weights, Binding::Value(_)),
            trans_b: false,
            a_batch_stride: 0,
            b_batch_stride: c * h * w,
            ldb: h * w,
            y_offset: 0,
            ldy: h * w,
            bias: None,
            residual: None,
            l1: false,
        };
        let mut steps = gemm_steps(&spec, weights, io.input(0).into(), cols, &[], io, scratch)?;
        // Output rows in segments of at most 4·loop_chunk / (KH·KW) taps' worth of outputs.
        let segment = ow.min((4 * io.tuning.loop_chunk / (kh * kw).max(1)).max(1));
        let items = n * o * oh * ow.div_ceil(segment);
        let params = Params::default()
            .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], p.padding[0], p.padding[1]])
            .us(&[p.dilation[0], p.dilation[1], cg, og, items, 0, cg, ow.div_ceil(segment)]);
        steps.push(Step::Dispatch(Dispatch {
            family: KernelFamily::ConvTranspose,
            entry: "col2im",
            constants: vec![("WG", f64::from(WG)), ("HAS_BIAS", f64::from(u8::from(has_bias)))],
            bindings: vec![cols, if has_bias { io.input(2).into() } else { Binding::Placeholder }, io.output(0).into()],
            params: params.0,
            groups: linear_groups(items, WG),
        }));
        return Ok(steps);
    }
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
            .us(&[p.dilation[0], p.dilation[1], cg, og, numel, j * per_part, ((j + 1) * per_part).min(cg), 1]);
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

    use super::{col_bands, ColBand};
    use crate::dispatch::{Binding, Step};
    use crate::lower::tests::TUNING;
    use crate::lower::{lower, Lowering};
    use crate::tuning::Tuning;

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
        assert_eq!(derived[0].shape().dims(), &[36, 8, 8]);
        assert!(steps.iter().all(|s| !matches!(s, Step::Dispatch(d) if d.entry == "winograd_weights")));
        assert_eq!(dispatch(&steps, "gemm").bindings[0], Binding::Derived(0));
        // Corner position e = 0 of the 6×6 tile (a 9×9 plane takes F(4×4, 3×3)) is g[0][0] of each filter.
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

    /// Every (image, output row) in exactly one band, each band within `max` bytes.
    fn assert_cover(bands: &[ColBand], n: usize, k_rows: usize, [oh, ow]: [usize; 2], max: u64) {
        let mut seen = vec![0; n * oh];
        for b in bands {
            assert_eq!(b.patch_cols, (b.rows * ow).next_multiple_of(4), "{b:?}");
            assert!((b.images * k_rows * b.patch_cols * 4) as u64 <= max, "{b:?} over {max} bytes");
            assert!(b.images == 1 || b.rows == oh, "{b:?}: several images of part of a plane");
            for i in b.n_begin..b.n_begin + b.images {
                for r in b.oy_begin..b.oy_begin + b.rows {
                    seen[i * oh + r] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1), "bands {bands:?} cover {seen:?}");
    }

    #[test]
    fn im2col_bands_hold_whole_images_or_balanced_runs_of_rows() {
        // Everything fits: one band.
        let one = col_bands(3, 36, [13, 21], 4, 1 << 20).unwrap();
        assert_eq!(one, [ColBand { n_begin: 0, images: 3, oy_begin: 0, rows: 13, patch_cols: 276 }]);
        // 100 columns per image, 228 per band: two images per band, 5 images as 2, 2, 1.
        let images = col_bands(5, 27, [9, 11], 4, 25_000).unwrap();
        assert_eq!(images.iter().map(|b| b.images).collect::<Vec<_>>(), [2, 2, 1]);
        assert_cover(&images, 5, 27, [9, 11], 25_000);
        // 68 columns per band at 20 kB: 3 rows of 21, so 13 rows as 3, 3, 3, 3, 1 per image.
        let rows = col_bands(2, 72, [13, 21], 4, 20_480).unwrap();
        assert_eq!(rows.iter().map(|b| b.rows).collect::<Vec<_>>(), [3, 3, 3, 3, 1, 3, 3, 3, 3, 1]);
        assert_cover(&rows, 2, 72, [13, 21], 20_480);
        // 96 columns: 5 rows of 19 fit, so 3 bands of ⌈13/3⌉ = 5 rows: 5, 5, 3.
        let balanced = col_bands(1, 36, [13, 19], 4, 36 * 4 * 96).unwrap();
        assert_eq!(balanced.iter().map(|b| b.rows).collect::<Vec<_>>(), [5, 5, 3]);
        assert_cover(&balanced, 1, 36, [13, 19], 36 * 4 * 96);
        // Not even one row of 21 outputs fits: no bands (the direct kernel).
        assert_eq!(col_bands(1, 72, [13, 21], 4, 72 * 4 * 20), None);
    }

    /// conv(x [n, c, 9, 9], w [o, c, 3, 3]) with padding 1, the weights constant or an input.
    fn batch_conv_graph(n: usize, c: usize, o: usize, constant: bool) -> Graph {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [n, c, 9, 9], DType::F32).unwrap();
        let w = if constant {
            g.constant(Tensor::from_f32([o, c, 3, 3], vec![0.5; o * c * 9]).unwrap()).unwrap()
        } else {
            g.input("w", [o, c, 3, 3], DType::F32).unwrap()
        };
        let p = Conv2d { padding: Padding::Explicit([1; 4]), ..Default::default() };
        let y = g.op(Op::Conv2d(p), &[x, w]).unwrap();
        g.build(&[y]).unwrap()
    }

    /// The dispatches and scratch sizes of the graph's one node under `tuning`.
    fn lowered_with(graph: &Graph, tuning: Tuning) -> (Vec<crate::dispatch::Dispatch>, Vec<u64>) {
        let Lowering::Steps { steps, scratch, .. } = lower(&graph.nodes()[0], graph, tuning).unwrap() else {
            panic!("a convolution is not an alias")
        };
        let dispatches = steps
            .into_iter()
            .map(|s| match s {
                Step::Dispatch(d) => d,
                other => panic!("{other:?}"),
            })
            .collect();
        (dispatches, scratch)
    }

    #[test]
    fn a_winograd_conv_over_its_scratch_limit_runs_in_bands_of_images() {
        // 5 images of 8 channels to 12, 9×9: 9 tiles of 4×4 (36 positions each) per image, a
        // band's tiles padded to a multiple of 4; 40 kB holds the products of 20 tiles (34.6 kB),
        // 2 images, so bands of 2, 2, 1 through a 23.0 kB and a 34.6 kB buffer.
        let graph = batch_conv_graph(5, 8, 12, true);
        let (dispatches, scratch) = lowered_with(&graph, Tuning { scratch_limit: 40_000, ..TUNING });
        assert_eq!(scratch, [23_040, 34_560]);
        let entries: Vec<&str> = dispatches.iter().map(|d| d.entry).collect();
        assert_eq!(entries, ["winograd_input", "gemm", "winograd_output"].repeat(3));
        for (band, (n_begin, images)) in dispatches.chunks(3).zip([(0, 2), (2, 2), (4, 1)]) {
            for transform in [&band[0], &band[2]] {
                // images first, n_begin last (after items).
                assert_eq!([transform.params[0], transform.params[12]], [images, n_begin]);
            }
            assert_eq!(band[1].params[1], (9 * images).next_multiple_of(4), "GEMM columns: the band's padded tiles");
        }
        // Below one image's 20.7 kB of products (12 padded tiles): im2col in bands instead.
        let (dispatches, _) = lowered_with(&graph, Tuning { scratch_limit: 15_000, ..TUNING });
        assert_eq!(dispatches[0].entry, "im2col");
    }

    #[test]
    fn winograd_falls_back_to_2x2_tiles_where_4x4_weights_pass_the_scratch_limit() {
        // 64 → 64 channels: transformed weights of 590 kB with 6×6 tiles, 262 kB with 4×4. At a
        // 400 kB limit weights that are scratch (an input) need F(2×2, 3×3); constant weights
        // are derived constants, not scratch, and keep F(4×4, 3×3).
        let tuning = Tuning { scratch_limit: 400_000, ..TUNING };
        let m_of = |d: &crate::dispatch::Dispatch| constant(d, "M");
        let (dispatches, _) = lowered_with(&batch_conv_graph(1, 64, 64, false), tuning);
        assert_eq!(dispatches[0].entry, "winograd_weights");
        assert_eq!(
            dispatches.iter().filter(|d| d.entry.starts_with("winograd")).map(m_of).collect::<Vec<_>>(),
            [2.0; 3]
        );
        let (dispatches, _) = lowered_with(&batch_conv_graph(1, 64, 64, true), tuning);
        assert_eq!(
            dispatches.iter().filter(|d| d.entry.starts_with("winograd")).map(m_of).collect::<Vec<_>>(),
            [4.0; 2]
        );
    }

    #[test]
    fn banded_gemms_with_k_in_parts_share_one_chain_buffer() {
        // Winograd, 40 input channels: K in parts of 32 at loop_chunk 3, so each band's GEMM is
        // two dispatches chained through a buffer of the band's products; all 3 bands share it.
        let graph = batch_conv_graph(5, 40, 8, false);
        let tuning = Tuning { scratch_limit: 130_000, loop_chunk: 3, ..TUNING };
        let (dispatches, scratch) = lowered_with(&graph, tuning);
        // Transformed inputs and products of 2 images, the weights, the chain.
        assert_eq!(scratch, [115_200, 23_040, 46_080, 23_040]);
        let gemms: Vec<_> = dispatches.iter().filter(|d| d.entry == "gemm").collect();
        assert_eq!(gemms.len(), 6);
        for pair in gemms.chunks(2) {
            // Bindings a, b, bias, residual, y: the first part writes the chain buffer, the
            // second adds it as its residual and writes m.
            assert_eq!(pair[0].bindings[4], Binding::Scratch(3), "{pair:?}");
            assert_eq!(pair[1].bindings[3..], [Binding::Scratch(3), Binding::Scratch(1)], "{pair:?}");
        }
        // im2col, 5 channels: 45 patch rows of 84 columns (15.1 kB) per image, one per band;
        // the chain buffer is sized for the last band's reach into y (3 images of 4 × 81).
        let mut g = GraphBuilder::new();
        let x = g.input("x", [3, 5, 9, 9], DType::F32).unwrap();
        let w = g.input("w", [4, 5, 3, 3], DType::F32).unwrap();
        let p = Conv2d { padding: Padding::Explicit([1; 4]), ..Default::default() };
        let y = g.op(Op::Conv2d(p), &[x, w]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let tuning = Tuning { scratch_limit: 16_000, loop_chunk: 3, ..TUNING };
        let (dispatches, scratch) = lowered_with(&graph, tuning);
        assert_eq!(scratch, [15_120, 3 * 4 * 81 * 4]);
        assert_eq!(dispatches.iter().filter(|d| d.entry == "gemm").count(), 6);
    }

    #[test]
    fn a_conv_over_its_scratch_limit_runs_as_im2col_gemm_pairs_over_row_bands() {
        // 9×9 outputs of 3·3·3 → 28 patch rows: 28·84·4 = 9408 bytes for the whole plane; at
        // 4 kB a band holds 36 columns, 4 rows of 9: bands of 3 rows (9, 9, 9 of 81 columns).
        let tuning = Tuning { scratch_limit: 4096, ..TUNING };
        let graph = conv_graph(3, 5, 3, 1, true);
        let steps = match lower(&graph.nodes()[0], &graph, tuning).unwrap() {
            Lowering::Steps { steps, scratch, .. } => {
                assert_eq!(scratch, [28 * 28 * 4], "one band-sized buffer");
                steps
            }
            Lowering::Alias => panic!("a convolution is not an alias"),
        };
        let entries: Vec<&str> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Dispatch(d) => Some(d.entry),
                _ => None,
            })
            .collect();
        assert_eq!(entries, ["im2col", "gemm", "im2col", "gemm", "im2col", "gemm"]);
        for (j, pair) in steps.chunks(2).enumerate() {
            let (Step::Dispatch(im2col), Step::Dispatch(gemm)) = (&pair[0], &pair[1]) else { panic!("{pair:?}") };
            // n_begin, oy_begin, band_rows after k_rows, patch_cols, ic_begin, ic_end.
            assert_eq!(im2col.params[K_ROWS..K_ROWS + 7], [28, 28, 0, 3, 0, 3 * j as u32, 3]);
            // n = 27 columns, ldb 28, y from column 27·j with rows 81 apart.
            assert_eq!(gemm.params[1], 27, "n");
            assert_eq!(gemm.params[LDB..LDB + 5], [28, 0, 28, 27 * j as u32, 81]);
        }
    }
}
