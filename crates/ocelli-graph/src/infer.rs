//! Shape and dtype rules of every op. Errors name the op and the shapes.

use crate::op::{Conv2d, Padding, Pool2d, ResizePixels, RoiAlign, RoiPool};
use crate::{DType, GraphError, Op, PoolKind, Result, Shape, UpsampleMode};

type Io<'a> = (&'a Shape, DType);

/// Dtypes that data-movement ops (concat, slice, transpose) move.
const WORD_TYPES: &[DType] = &[DType::F32, DType::F16, DType::I32, DType::U32];

fn fmt_shapes(inputs: &[Io<'_>]) -> String {
    inputs.iter().map(|(s, _)| s.to_string()).collect::<Vec<_>>().join(" and ")
}

fn mismatch(op: &Op, inputs: &[Io<'_>], why: impl Into<String>) -> GraphError {
    GraphError::ShapeMismatch { op: op.name(), shapes: fmt_shapes(inputs), why: why.into() }
}

fn invalid(op: &Op, why: impl Into<String>) -> GraphError {
    GraphError::InvalidParam { op: op.name(), why: why.into() }
}

fn arity(op: &Op, inputs: &[Io<'_>], min: usize, max: usize) -> Result<()> {
    if inputs.len() < min || inputs.len() > max {
        let expected = if min == max { min.to_string() } else { format!("{min} to {max}") };
        return Err(GraphError::Arity { op: op.name(), expected, got: inputs.len() });
    }
    Ok(())
}

fn want_dtype(op: &Op, inputs: &[Io<'_>], index: usize, ok: &[DType]) -> Result<()> {
    let got = inputs[index].1;
    if ok.contains(&got) {
        return Ok(());
    }
    let expected = ok.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" or ");
    Err(GraphError::DTypeMismatch { op: op.name(), index, got, expected })
}

/// The float type an op computes in: f16 when its first input is f16, else f32. (Backends may
/// compute f16 ops in f32 and round the results.)
fn float_type(inputs: &[Io<'_>]) -> DType {
    match inputs.first() {
        Some((_, DType::F16)) => DType::F16,
        _ => DType::F32,
    }
}

/// Every input has the op's float type.
fn all_float(op: &Op, inputs: &[Io<'_>]) -> Result<()> {
    let ft = float_type(inputs);
    (0..inputs.len()).try_for_each(|i| want_dtype(op, inputs, i, &[ft]))
}

fn want_rank(op: &Op, inputs: &[Io<'_>], index: usize, rank: usize) -> Result<()> {
    if inputs[index].0.rank() != rank {
        return Err(mismatch(op, inputs, format!("input {index} must have rank {rank}")));
    }
    Ok(())
}

fn want_vec(op: &Op, inputs: &[Io<'_>], index: usize, len: usize) -> Result<()> {
    if inputs[index].0.dims() != [len] {
        return Err(mismatch(op, inputs, format!("input {index} must be [{len}]")));
    }
    Ok(())
}

fn want_axis(op: &Op, axis: usize, rank: usize) -> Result<()> {
    if axis >= rank {
        return Err(invalid(op, format!("axis {axis} out of range for rank {rank}")));
    }
    Ok(())
}

fn positive(op: &Op, what: &str, v: &[usize]) -> Result<()> {
    if v.contains(&0) {
        return Err(invalid(op, format!("{what} must be at least 1, got {v:?}")));
    }
    Ok(())
}

/// Output length of a convolution along one axis with total padding `pad`.
pub fn conv_out_len(input: usize, kernel: usize, stride: usize, dilation: usize, pad: usize) -> Option<usize> {
    let span = dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
    input.checked_add(pad)?.checked_sub(span).and_then(|d| d.checked_div(stride)).map(|d| d + 1)
}

/// Output length of pooling along one axis (PyTorch rule, ceil mode drops a last window that
/// would start in the padding).
pub fn pool_out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    ceil: bool,
) -> Option<usize> {
    let padded = input.checked_add(pad_before)?.checked_add(pad_after)?;
    let avail = padded.checked_sub(kernel)?;
    let mut out = if ceil {
        avail.checked_div(stride)? + usize::from(avail % stride != 0) + 1
    } else {
        avail.checked_div(stride)? + 1
    };
    if ceil && (out - 1).checked_mul(stride)? >= input + pad_before {
        out -= 1;
    }
    Some(out)
}

/// Explicit `[top, left, bottom, right]` padding of a convolution over an `in_hw` input.
pub fn resolve_conv_padding(p: &Conv2d, in_hw: [usize; 2], kernel: [usize; 2]) -> [usize; 4] {
    match p.padding {
        Padding::Explicit(v) => v,
        Padding::Same => {
            let mut pads = [0; 4];
            for a in 0..2 {
                let out = in_hw[a].div_ceil(p.stride[a].max(1));
                let span = p.dilation[a].saturating_mul(kernel[a].saturating_sub(1)).saturating_add(1);
                let total =
                    (out.saturating_sub(1).saturating_mul(p.stride[a]).saturating_add(span)).saturating_sub(in_hw[a]);
                pads[a] = total / 2;
                pads[a + 2] = total - total / 2;
            }
            pads
        }
    }
}

/// Output shapes and dtypes of `op` applied to `inputs`.
pub(crate) fn infer(op: &Op, inputs: &[Io<'_>]) -> Result<Vec<(Shape, DType)>> {
    let ft = float_type(inputs);
    let f32_out = |s: Shape| Ok(vec![(s, ft)]);
    match op {
        Op::MatMul { trans_a, trans_b } => {
            arity(op, inputs, 2, 3)?;
            all_float(op, inputs)?;
            let (a, b) = (inputs[0].0, inputs[1].0);
            if a.rank() < 2 || b.rank() < 2 {
                return Err(mismatch(op, inputs, "operands need rank >= 2"));
            }
            let (ar, br) = (a.rank(), b.rank());
            let (m, ka) = if *trans_a { (a.0[ar - 1], a.0[ar - 2]) } else { (a.0[ar - 2], a.0[ar - 1]) };
            let (kb, n) = if *trans_b { (b.0[br - 1], b.0[br - 2]) } else { (b.0[br - 2], b.0[br - 1]) };
            if ka != kb {
                return Err(mismatch(op, inputs, format!("inner dimensions differ ({ka} vs {kb})")));
            }
            let (ba, bb) = (&a.0[..ar - 2], &b.0[..br - 2]);
            let pa: usize = ba.iter().product();
            let pb: usize = bb.iter().product();
            let batch = if ba == bb || pb == 1 {
                ba.to_vec()
            } else if pa == 1 {
                bb.to_vec()
            } else {
                return Err(mismatch(op, inputs, "batch dimensions must match or one side must have none"));
            };
            if inputs.len() == 3 {
                want_vec(op, inputs, 2, n)?;
            }
            let mut out = batch;
            out.extend([m, n]);
            f32_out(Shape(out))
        }
        Op::L1Distance => {
            arity(op, inputs, 2, 2)?;
            all_float(op, inputs)?;
            let (a, b) = (inputs[0].0.dims(), inputs[1].0.dims());
            if a.len() != 2 || b.len() != 2 || a[1] != b[1] {
                return Err(mismatch(op, inputs, "need [M, D] and [N, D]"));
            }
            f32_out(Shape(vec![a[0], b[0]]))
        }
        Op::Conv2d(p) => {
            arity(op, inputs, 2, 3)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            want_rank(op, inputs, 1, 4)?;
            positive(op, "stride", &p.stride)?;
            positive(op, "dilation", &p.dilation)?;
            positive(op, "groups", &[p.groups])?;
            let (x, w) = (inputs[0].0.dims(), inputs[1].0.dims());
            if !x[1].is_multiple_of(p.groups) || !w[0].is_multiple_of(p.groups) {
                return Err(invalid(op, format!("groups {} must divide C={} and O={}", p.groups, x[1], w[0])));
            }
            if w[1].checked_mul(p.groups) != Some(x[1]) {
                return Err(mismatch(
                    op,
                    inputs,
                    format!(
                        "weight expects {} input channels per group, input has {} in {} groups",
                        w[1], x[1], p.groups
                    ),
                ));
            }
            if inputs.len() == 3 {
                want_vec(op, inputs, 2, w[0])?;
            }
            let pads = resolve_conv_padding(p, [x[2], x[3]], [w[2], w[3]]);
            let out = |a: usize| {
                let pad = pads[a].checked_add(pads[a + 2])?;
                conv_out_len(x[2 + a], w[2 + a], p.stride[a], p.dilation[a], pad)
            };
            let (oh, ow) = (out(0), out(1));
            match (oh, ow) {
                (Some(oh), Some(ow)) => f32_out(Shape(vec![x[0], w[0], oh, ow])),
                _ => Err(mismatch(op, inputs, "kernel larger than the padded input")),
            }
        }
        Op::ConvTranspose2d(p) => {
            arity(op, inputs, 2, 3)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            want_rank(op, inputs, 1, 4)?;
            positive(op, "stride", &p.stride)?;
            positive(op, "dilation", &p.dilation)?;
            positive(op, "groups", &[p.groups])?;
            let (x, w) = (inputs[0].0.dims(), inputs[1].0.dims());
            if w[0] != x[1] || !x[1].is_multiple_of(p.groups) {
                return Err(mismatch(
                    op,
                    inputs,
                    format!("weight's first dim must equal C={} and groups {} must divide it", x[1], p.groups),
                ));
            }
            for a in 0..2 {
                if p.output_padding[a] >= p.stride[a].max(p.dilation[a]) {
                    return Err(invalid(op, "output_padding must be smaller than stride or dilation"));
                }
            }
            let o = w[1]
                .checked_mul(p.groups)
                .ok_or_else(|| invalid(op, format!("{} groups of {} output channels overflow", p.groups, w[1])))?;
            if inputs.len() == 3 {
                want_vec(op, inputs, 2, o)?;
            }
            let len = |a: usize, i: usize, k: usize| {
                let full = (i - 1)
                    .checked_mul(p.stride[a])?
                    .checked_add(p.dilation[a].checked_mul(k - 1)?)?
                    .checked_add(p.output_padding[a] + 1)?;
                full.checked_sub(p.padding[a].checked_mul(2)?)
            };
            match (len(0, x[2], w[2]), len(1, x[3], w[3])) {
                (Some(oh), Some(ow)) if oh > 0 && ow > 0 => f32_out(Shape(vec![x[0], o, oh, ow])),
                _ => Err(mismatch(op, inputs, "padding removes the whole output")),
            }
        }
        Op::Pool2d(p) | Op::MaxPool2dWithIndices(p) => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            positive(op, "kernel", &p.kernel)?;
            positive(op, "stride", &p.stride)?;
            if matches!(op, Op::MaxPool2dWithIndices(_)) && p.kind != PoolKind::Max {
                return Err(invalid(op, "indices are defined for max pooling only"));
            }
            let out = pool_shape(op, inputs, p)?;
            if matches!(op, Op::MaxPool2dWithIndices(_)) {
                Ok(vec![(out.clone(), ft), (out, DType::I32)])
            } else {
                f32_out(out)
            }
        }
        Op::MaxUnpool2d { out_h, out_w } => {
            arity(op, inputs, 2, 2)?;
            want_dtype(op, inputs, 0, &[DType::F32, DType::F16])?;
            want_dtype(op, inputs, 1, &[DType::I32])?;
            want_rank(op, inputs, 0, 4)?;
            if inputs[0].0 != inputs[1].0 {
                return Err(mismatch(op, inputs, "indices must have the shape of x"));
            }
            positive(op, "output size", &[*out_h, *out_w])?;
            let x = inputs[0].0.dims();
            f32_out(Shape(vec![x[0], x[1], *out_h, *out_w]))
        }
        Op::GlobalAvgPool => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            let x = inputs[0].0.dims();
            f32_out(Shape(vec![x[0], x[1], 1, 1]))
        }
        Op::Upsample { out_h, out_w, .. } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            positive(op, "output size", &[*out_h, *out_w])?;
            if matches!(op, Op::Upsample { mode: UpsampleMode::BilinearFixedPoint, .. }) {
                return Err(invalid(op, "fixed-point bilinear resizing is for 8-bit pixels (ResizePixels)"));
            }
            let x = inputs[0].0.dims();
            f32_out(Shape(vec![x[0], x[1], *out_h, *out_w]))
        }
        Op::Binary(_) => {
            arity(op, inputs, 2, 2)?;
            all_float(op, inputs)?;
            Shape::broadcast(inputs[0].0, inputs[1].0)
                .map(|s| vec![(s, ft)])
                .ok_or_else(|| mismatch(op, inputs, "shapes do not broadcast"))
        }
        Op::Unary(_) => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            f32_out(inputs[0].0.clone())
        }
        Op::Softmax { axis, .. } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_axis(op, *axis, inputs[0].0.rank())?;
            f32_out(inputs[0].0.clone())
        }
        Op::BatchNorm { .. } => {
            arity(op, inputs, 5, 5)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            if x.rank() < 2 {
                return Err(mismatch(op, inputs, "x needs a channel axis (rank >= 2)"));
            }
            (1..5).try_for_each(|i| want_vec(op, inputs, i, x.0[1]))?;
            f32_out(x.clone())
        }
        Op::GroupNorm { groups, .. } => {
            arity(op, inputs, 3, 3)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            if x.rank() < 2 {
                return Err(mismatch(op, inputs, "x needs a channel axis (rank >= 2)"));
            }
            if *groups == 0 || !x.0[1].is_multiple_of(*groups) {
                return Err(invalid(op, format!("groups {groups} must divide C={}", x.0[1])));
            }
            want_vec(op, inputs, 1, x.0[1])?;
            want_vec(op, inputs, 2, x.0[1])?;
            f32_out(x.clone())
        }
        Op::LayerNorm { axis, .. } => {
            arity(op, inputs, 3, 3)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            want_axis(op, *axis, x.rank())?;
            let tail = &x.0[*axis..];
            if inputs[1].0.dims() != tail || inputs[2].0.dims() != tail {
                return Err(mismatch(op, inputs, format!("gamma and beta must have shape {}", Shape(tail.to_vec()))));
            }
            f32_out(x.clone())
        }
        Op::Reduce { axis, keep_dims, .. } | Op::ArgMax { axis, keep_dims } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            want_axis(op, *axis, x.rank())?;
            let mut d = x.0.clone();
            if *keep_dims {
                d[*axis] = 1;
            } else {
                d.remove(*axis);
            }
            let dt = if matches!(op, Op::ArgMax { .. }) { DType::I32 } else { ft };
            Ok(vec![(Shape(d), dt)])
        }
        Op::TopK { k, .. } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            let last = *x.0.last().ok_or_else(|| mismatch(op, inputs, "needs rank >= 1"))?;
            if *k == 0 || *k > last || *k > Op::MAX_TOP_K {
                return Err(invalid(op, format!("k = {k} must be in 1..={}", last.min(Op::MAX_TOP_K))));
            }
            let mut d = x.0.clone();
            *d.last_mut().expect("rank >= 1") = *k;
            Ok(vec![(Shape(d.clone()), ft), (Shape(d), DType::I32)])
        }
        Op::Concat { axis } => {
            if inputs.is_empty() {
                return Err(GraphError::Arity { op: op.name(), expected: "at least 1".into(), got: 0 });
            }
            let (first, dt) = inputs[0];
            want_axis(op, *axis, first.rank())?;
            (0..inputs.len()).try_for_each(|i| want_dtype(op, inputs, i, &[dt]))?;
            want_dtype(op, inputs, 0, WORD_TYPES)?;
            let mut d = first.0.clone();
            d[*axis] = 0;
            for (s, _) in inputs {
                let same_rest = s.rank() == first.rank() && (0..s.rank()).all(|i| i == *axis || s.0[i] == first.0[i]);
                if !same_rest {
                    return Err(mismatch(op, inputs, format!("all dimensions but {axis} must match")));
                }
                d[*axis] = d[*axis]
                    .checked_add(s.0[*axis])
                    .ok_or_else(|| invalid(op, format!("axis {axis} of the concatenation overflows")))?;
            }
            Ok(vec![(Shape(d), dt)])
        }
        Op::Slice { axis, start, end, step } => {
            arity(op, inputs, 1, 1)?;
            let (x, dt) = inputs[0];
            want_dtype(op, inputs, 0, WORD_TYPES)?;
            want_axis(op, *axis, x.rank())?;
            positive(op, "step", &[*step])?;
            let end = (*end).min(x.0[*axis]);
            if *start >= end {
                return Err(invalid(op, format!("empty slice {start}..{end} of axis {axis} (size {})", x.0[*axis])));
            }
            let mut d = x.0.clone();
            d[*axis] = (end - start).div_ceil(*step);
            Ok(vec![(Shape(d), dt)])
        }
        Op::Gather { axis } => {
            arity(op, inputs, 2, 2)?;
            want_dtype(op, inputs, 0, &[DType::F32, DType::I32, DType::U32])?;
            want_dtype(op, inputs, 1, &[DType::I32])?;
            let (x, dt) = inputs[0];
            want_axis(op, *axis, x.rank())?;
            let mut d = x.0[..*axis].to_vec();
            d.extend(inputs[1].0.dims());
            d.extend(&x.0[axis + 1..]);
            Ok(vec![(Shape(d), dt)])
        }
        Op::Reshape { shape } => {
            arity(op, inputs, 1, 1)?;
            let (x, dt) = inputs[0];
            let s = Shape(shape.clone());
            if s.checked_numel() != Some(x.numel()) {
                return Err(mismatch(op, inputs, format!("cannot reshape to {s}: element counts differ")));
            }
            Ok(vec![(s, dt)])
        }
        Op::Transpose { perm } => {
            arity(op, inputs, 1, 1)?;
            let (x, dt) = inputs[0];
            want_dtype(op, inputs, 0, WORD_TYPES)?;
            let mut seen = vec![false; x.rank()];
            if perm.len() != x.rank() || perm.iter().any(|&p| p >= x.rank() || std::mem::replace(&mut seen[p], true)) {
                return Err(invalid(op, format!("{perm:?} is not a permutation of {} axes", x.rank())));
            }
            Ok(vec![(Shape(perm.iter().map(|&p| x.0[p]).collect()), dt)])
        }
        Op::Pad { pads, mode } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            let x = inputs[0].0;
            if pads.len() != x.rank() {
                return Err(invalid(op, format!("{} pad pairs for rank {}", pads.len(), x.rank())));
            }
            for (i, &(b, a)) in pads.iter().enumerate() {
                let limit = match mode {
                    crate::PadMode::Reflect => x.0[i] - 1,
                    _ => usize::MAX,
                };
                if b > limit || a > limit {
                    return Err(invalid(op, format!("reflect padding of axis {i} must be < its size {}", x.0[i])));
                }
            }
            let padded: Option<Vec<usize>> =
                x.0.iter().zip(pads).map(|(d, (b, a))| d.checked_add(*b)?.checked_add(*a)).collect();
            let padded = padded.ok_or_else(|| invalid(op, format!("padding {pads:?} of {x} overflows")))?;
            f32_out(Shape(padded))
        }
        Op::Fused(f) => {
            let bases = matches!(*f.base, Op::MatMul { .. } | Op::Conv2d(_) | Op::Binary(_) | Op::Unary(_));
            if !(bases || matches!(*f.base, Op::GroupNorm { .. } | Op::LayerNorm { .. })) {
                return Err(invalid(op, format!("cannot fuse a tail onto {}", f.base.name())));
            }
            if f.acts.len() > crate::op::Fused::MAX_ACTS || inputs.len() < usize::from(f.residual) {
                return Err(invalid(op, "too many fused activations"));
            }
            let n = f.base_inputs(inputs.len());
            let out = infer(&f.base, &inputs[..n])?;
            if f.residual {
                if inputs[n].0 != &out[0].0 {
                    return Err(mismatch(op, inputs, "the residual must have the output's shape"));
                }
                want_dtype(op, inputs, n, &[ft])?;
            }
            Ok(out)
        }
        Op::Demosaic(d) => {
            arity(op, inputs, 1, 1)?;
            want_dtype(op, inputs, 0, &[DType::U32])?;
            if d.bits != 8 && d.bits != 16 {
                return Err(invalid(op, format!("{} bits per sample: 8 and 16 are supported", d.bits)));
            }
            if d.height < 4 || d.width < 4 || d.height % 2 != 0 || d.width % 2 != 0 {
                return Err(invalid(
                    op,
                    format!(
                        "a {}x{} frame does not hold whole 2x2 Bayer cells (need even sides >= 4)",
                        d.width, d.height
                    ),
                ));
            }
            // Pixel indices are 32-bit on the device.
            if d.height.checked_mul(d.width).is_none_or(|n| n > u32::MAX as usize) {
                return Err(invalid(op, format!("a {}x{} frame is too large", d.width, d.height)));
            }
            let levels_ok = d.white.is_finite() && d.black.is_finite() && d.white > d.black;
            if !levels_ok || d.wb.iter().any(|g| !(g.is_finite() && *g > 0.0)) {
                return Err(invalid(
                    op,
                    format!("need white {} > black {} and positive gains {:?}", d.white, d.black, d.wb),
                ));
            }
            let words =
                d.words().ok_or_else(|| invalid(op, format!("a {}x{} frame is too large", d.width, d.height)))?;
            if inputs[0].0.dims() != [words] {
                return Err(mismatch(
                    op,
                    inputs,
                    format!("a {}x{} frame at {} bits packs into [{words}] words", d.width, d.height, d.bits),
                ));
            }
            f32_out(Shape(vec![1, 3, d.height, d.width]))
        }
        Op::ResizePixels(r) => {
            if r.bits != 8 && r.bits != 16 {
                return Err(invalid(op, format!("{} bits per sample: 8 and 16 are supported", r.bits)));
            }
            if !(1..=4).contains(&r.channels) {
                return Err(invalid(op, format!("{} channels: 1 to 4 are supported", r.channels)));
            }
            if matches!(r.mode, UpsampleMode::Area) {
                return Err(invalid(op, "area resizing from pixels: resize to the size needed, then use Upsample"));
            }
            positive(op, "image size", &[r.height, r.width])?;
            positive(op, "output size", &[r.out_h, r.out_w])?;
            if r.mode == UpsampleMode::BilinearFixedPoint {
                if r.bits != 8 {
                    return Err(invalid(
                        op,
                        format!("fixed-point bilinear resizing of {}-bit samples: 8 only", r.bits),
                    ));
                }
                // The device computes dst · in · 32 in 32 bits.
                let fits = |o: usize, i: usize| {
                    o.checked_mul(i).and_then(|v| v.checked_mul(32)).is_some_and(|v| v <= u32::MAX as usize)
                };
                if !fits(r.out_h, r.height) || !fits(r.out_w, r.width) {
                    return Err(invalid(
                        op,
                        format!("fixed-point resizing {}x{} to {}x{}: too large", r.width, r.height, r.out_w, r.out_h),
                    ));
                }
            }
            // Sample indices are 32-bit on the device.
            let lens = r
                .segment_lens()
                .filter(|_| r.height * r.width * r.channels <= u32::MAX as usize)
                .ok_or_else(|| invalid(op, format!("a {}x{}x{} image is too large", r.width, r.height, r.channels)))?;
            if lens.is_empty() || lens.len() > ResizePixels::MAX_SEGMENTS {
                return Err(invalid(
                    op,
                    format!(
                        "{} segments of {} words: 1 to {} are supported",
                        lens.len(),
                        r.segment_words,
                        ResizePixels::MAX_SEGMENTS
                    ),
                ));
            }
            arity(op, inputs, lens.len(), lens.len())?;
            for (k, len) in lens.iter().enumerate() {
                want_dtype(op, inputs, k, &[DType::U32])?;
                if inputs[k].0.dims() != [*len] {
                    return Err(mismatch(op, inputs, format!("segment {k} holds [{len}] words")));
                }
            }
            f32_out(Shape(vec![1, r.channels, r.out_h, r.out_w]))
        }
        Op::RoiAlign(RoiAlign { out_h, out_w, .. })
        | Op::RoiPool(RoiPool { out_h, out_w, .. })
        | Op::CropResize { out_h, out_w } => {
            arity(op, inputs, 3, 3)?;
            want_dtype(op, inputs, 0, &[ft])?;
            want_dtype(op, inputs, 1, &[ft])?;
            want_dtype(op, inputs, 2, &[DType::I32])?;
            want_rank(op, inputs, 0, 4)?;
            positive(op, "output size", &[*out_h, *out_w])?;
            let r = inputs[2].0.numel();
            if inputs[1].0.dims() != [r, 4] || inputs[2].0.rank() != 1 {
                return Err(mismatch(op, inputs, "rois must be [R, 4] and batch indices [R]"));
            }
            let x = inputs[0].0.dims();
            f32_out(Shape(vec![r, x[1], *out_h, *out_w]))
        }
        Op::PerspectiveCrops { out_h, out_w, fill } => {
            arity(op, inputs, 3, 3)?;
            want_dtype(op, inputs, 0, &[DType::F32])?;
            want_dtype(op, inputs, 1, &[DType::F32])?;
            want_dtype(op, inputs, 2, &[DType::I32])?;
            want_rank(op, inputs, 0, 4)?;
            positive(op, "output size", &[*out_h, *out_w])?;
            if !fill.is_finite() {
                return Err(invalid(op, format!("the fill value must be finite, got {fill}")));
            }
            let x = inputs[0].0.dims();
            if x[0] != 1 {
                return Err(mismatch(op, inputs, "crops come from one image: x must be [1, C, H, W]"));
            }
            let r = inputs[2].0.numel();
            if inputs[1].0.dims() != [r, 9] || inputs[2].0.rank() != 1 {
                return Err(mismatch(op, inputs, "matrices must be [R, 9] and widths [R]"));
            }
            f32_out(Shape(vec![r, x[1], *out_h, *out_w]))
        }
        Op::NonMaxSuppression(n) => {
            arity(op, inputs, 2, 2)?;
            all_float(op, inputs)?;
            let (b, s) = (inputs[0].0.dims(), inputs[1].0.dims());
            if b.len() != 3 || b[2] != 4 || s.len() != 3 || s[0] != b[0] || s[2] != b[1] {
                return Err(mismatch(op, inputs, "boxes must be [B, N, 4] and scores [B, C, N]"));
            }
            if n.max_per_class == 0 {
                return Err(invalid(op, "max_per_class 0 selects nothing; ask for at least 1"));
            }
            if !n.iou_threshold.is_finite() {
                return Err(invalid(op, "the IoU threshold must be finite"));
            }
            let groups = if n.class_agnostic { b[0] } else { b[0] * s[1] };
            let rows = groups.checked_mul(n.max_per_class).ok_or_else(|| {
                invalid(op, format!("{groups} segments × {} rows per class overflow", n.max_per_class))
            })?;
            match n.soft_sigma {
                None => Ok(vec![(Shape(vec![rows, 3]), DType::I32)]),
                Some(sigma) if sigma > 0.0 && sigma.is_finite() => {
                    Ok(vec![(Shape(vec![rows, 3]), DType::I32), (Shape(vec![rows]), ft)])
                }
                Some(sigma) => Err(invalid(op, format!("soft-NMS sigma must be positive, got {sigma}"))),
            }
        }
        Op::ColorSpace { .. } | Op::Histogram(_) => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 4)?;
            if matches!(op, Op::ColorSpace { .. }) && inputs[0].0.dims()[1] != 3 {
                return Err(mismatch(op, inputs, "colour conversion needs 3 channels"));
            }
            if let Op::Histogram(crate::HistogramOp::Stretch { low, high }) = op {
                if !(0.0 <= *low && low < high && *high <= 100.0) {
                    return Err(invalid(
                        op,
                        format!("percentiles must satisfy 0 <= low < high <= 100, got {low} and {high}"),
                    ));
                }
            }
            f32_out(inputs[0].0.clone())
        }
        Op::ConnectedComponents { rounds } => {
            arity(op, inputs, 1, 1)?;
            all_float(op, inputs)?;
            want_rank(op, inputs, 0, 2)?;
            if inputs[0].0.numel() > i32::MAX as usize {
                return Err(invalid(op, format!("a {} mask: labels are i32 pixel indices", inputs[0].0)));
            }
            if *rounds > 4096 {
                return Err(invalid(op, format!("{rounds} rounds: at most 4096 (each is one dispatch)")));
            }
            Ok(vec![(inputs[0].0.clone(), DType::I32)])
        }
        Op::RandomNormal { shape } => {
            arity(op, inputs, 1, 1)?;
            want_dtype(op, inputs, 0, &[DType::U32])?;
            if inputs[0].0.dims() != [2] {
                return Err(mismatch(op, inputs, "the key is [2] u32 words"));
            }
            positive(op, "output shape", shape)?;
            let out = Shape(shape.clone());
            if out.checked_numel().is_none_or(|n| n.checked_mul(4).is_none()) {
                return Err(invalid(op, format!("output shape {out} is too large")));
            }
            f32_out(out)
        }
        Op::Cast { to } => {
            arity(op, inputs, 1, 1)?;
            want_dtype(op, inputs, 0, &[DType::F32, DType::F16])?;
            if !matches!(to, DType::F32 | DType::F16) {
                return Err(invalid(op, format!("cast supports f32 and f16, not {to}")));
            }
            Ok(vec![(inputs[0].0.clone(), *to)])
        }
    }
}

fn pool_shape(op: &Op, inputs: &[Io<'_>], p: &Pool2d) -> Result<Shape> {
    let x = inputs[0].0.dims();
    for a in 0..2 {
        if p.padding[a] > p.kernel[a] / 2 || p.padding[a + 2] > p.kernel[a] / 2 {
            return Err(invalid(op, format!("padding {:?} must be at most half the window {:?}", p.padding, p.kernel)));
        }
    }
    let oh = pool_out_len(x[2], p.kernel[0], p.stride[0], p.padding[0], p.padding[2], p.ceil_mode);
    let ow = pool_out_len(x[3], p.kernel[1], p.stride[1], p.padding[1], p.padding[3], p.ceil_mode);
    match (oh, ow) {
        (Some(oh), Some(ow)) => Ok(Shape(vec![x[0], x[1], oh, ow])),
        _ => Err(mismatch(op, inputs, "window larger than the padded input")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        let p = Conv2d { stride: [2, 2], padding: Padding::Same, ..Default::default() };
        // 224 input, 3x3 stride 2: out 112, total pad 1 -> 0 before, 1 after.
        assert_eq!(resolve_conv_padding(&p, [224, 224], [3, 3]), [0, 0, 1, 1]);
        // 5x5 stride 1: pad 2 each side.
        let p1 = Conv2d { padding: Padding::Same, ..Default::default() };
        assert_eq!(resolve_conv_padding(&p1, [7, 9], [5, 5]), [2, 2, 2, 2]);
    }

    #[test]
    fn pool_ceil_mode_matches_pytorch() {
        assert_eq!(pool_out_len(5, 2, 2, 0, 0, false), Some(2));
        assert_eq!(pool_out_len(5, 2, 2, 0, 0, true), Some(3));
        // with padding, ceil mode keeps a window that starts inside input + left padding.
        assert_eq!(pool_out_len(4, 2, 2, 1, 1, true), Some(3));
        assert_eq!(pool_out_len(1, 3, 1, 0, 0, false), None);
    }
}
