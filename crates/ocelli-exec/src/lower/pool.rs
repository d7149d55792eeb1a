//! Pooling, unpooling and resizing -> `shaders/pool.wgsl`, `shaders/upsample.wgsl`.

use ocelli_graph::{Pool2d, PoolKind, ResizePixels, UpsampleMode};

use crate::dispatch::{bindings, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::reduce::{fold, fold_records, FoldOp};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;

fn hw(d: &[usize]) -> (usize, usize) {
    (d[2], d[3])
}

/// Pooling: one invocation per output, or, for windows that need more than 4·loop_chunk loop
/// iterations, `pool_parts` over parts of the window and reduce.wgsl's fold over the parts.
pub(crate) fn pool2d(
    io: &Io<'_>,
    p: &Pool2d,
    with_indices: bool,
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let numel = io.out_shape(0).numel();
    let [kh, kw] = p.kernel;
    let budget = 4 * io.tuning.loop_chunk;
    let (part_rows, part_cols) = if kw < budget { ((budget / (kw + 1)).max(1), kw) } else { (1, budget - 1) };
    let (row_parts, col_parts) = (kh.div_ceil(part_rows), kw.div_ceil(part_cols));
    let parts = if kh * (kw + 1) <= budget { 1 } else { row_parts * col_parts };
    let params = Params::default()
        .us(&[h, w, oh, ow, kh, kw, p.stride[0], p.stride[1]])
        .us(&p.padding)
        .us(&[numel, usize::from(p.count_include_pad), part_rows, part_cols, col_parts, parts])
        .0;
    let kind = match p.kind {
        PoolKind::Max => 0.0,
        PoolKind::Avg => 1.0,
    };
    let constants = vec![("KIND", kind), ("WG", f64::from(WG))];
    if parts == 1 {
        let (entry, bindings) = if with_indices {
            ("max_pool_indices", bindings![io.input(0), io.output(0), io.output(1)])
        } else {
            ("pool", bindings![io.input(0), io.output(0)])
        };
        return Ok(vec![Step::Dispatch(Dispatch {
            family: KernelFamily::Pool,
            entry,
            constants,
            bindings,
            params,
            groups: linear_groups(numel, WG),
        })]);
    }
    if io.elem_bytes() != 4 {
        return Err(ExecError::Unsupported {
            op: "pool2d",
            why: format!("a {kh}x{kw} window over f16 values (convert to f32 first)"),
        });
    }
    scratch.push((numel * parts * 16) as u64);
    let records = Binding::Scratch(scratch.len() - 1);
    let mut steps = vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Pool,
        entry: "pool_parts",
        constants,
        bindings: vec![io.input(0).into(), records],
        params,
        groups: linear_groups(numel * parts, WG),
    })];
    let view = (numel, parts, 1);
    let (values, tuning) = (Some(io.output(0).into()), io.tuning);
    let op = if p.kind == PoolKind::Max { FoldOp::Max } else { FoldOp::Sum };
    steps.extend(fold_records(records, view, op, values, tuning, scratch));
    if with_indices {
        steps.extend(fold_records(records, view, FoldOp::ArgMax, Some(io.output(1).into()), tuning, scratch));
    }
    Ok(steps)
}

pub(crate) fn max_unpool2d(io: &Io<'_>) -> Vec<Step> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let numel = io.in_shape(0).numel();
    let params = Params::default().us(&[h, w, oh, ow]).us(&[0; 8]).us(&[numel, 0]).us(&[0; 4]);
    vec![
        Step::Clear(io.output(0).into()),
        Step::Dispatch(Dispatch {
            family: KernelFamily::Pool,
            entry: "max_unpool",
            constants: vec![("WG", f64::from(WG))],
            bindings: bindings![io.input(0), io.input(1), io.output(0)],
            params: params.0,
            groups: linear_groups(numel, WG),
        }),
    ]
}

/// upsample.wgsl's MODE and `coords` for a nearest or bilinear mode (area has its own kernel).
fn bilinear_coords(mode: UpsampleMode) -> (f64, usize) {
    match mode {
        UpsampleMode::Bilinear { align_corners } => (1.0, usize::from(align_corners)),
        UpsampleMode::BilinearAsymmetric => (1.0, 2),
        UpsampleMode::BilinearFixedPoint => (2.0, 0),
        UpsampleMode::Nearest | UpsampleMode::Area => (0.0, 0),
    }
}

pub(crate) fn upsample(io: &Io<'_>, mode: UpsampleMode, scratch: &mut Vec<u64>) -> Vec<Step> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let (code, coords) = match mode {
        UpsampleMode::Area => return area(io, scratch),
        m => bilinear_coords(m),
    };
    // 4 outputs of a row per invocation where rows hold whole groups of 4.
    let by_four = ow.is_multiple_of(4);
    let numel = io.out_shape(0).numel() / if by_four { 4 } else { 1 };
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Upsample,
        entry: if by_four { "upsample4" } else { "upsample" },
        constants: vec![("MODE", code), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().us(&[h, w, oh, ow, numel, coords]).0,
        groups: linear_groups(numel, WG),
    })]
}

/// `Op::ResizePixels`: its segments at bindings 0..4 (placeholders past the last).
pub(crate) fn resize_pixels(io: &Io<'_>, r: &ResizePixels) -> Vec<Step> {
    let (code, coords) = bilinear_coords(r.mode);
    let mut bindings: Vec<Binding> = io.node.inputs.iter().map(|&v| v.into()).collect();
    bindings.resize(ResizePixels::MAX_SEGMENTS, Binding::Placeholder);
    bindings.push(io.output(0).into());
    let numel = io.out_shape(0).numel();
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Upsample,
        entry: "resize_pixels",
        constants: vec![("MODE", code), ("BITS", f64::from(r.bits)), ("WG", f64::from(WG))],
        bindings,
        params: Params::default().us(&[r.height, r.width, r.channels, r.out_h, r.out_w, r.segment_words, coords]).0,
        groups: linear_groups(numel, WG),
    })]
}

/// Area resizing as passes along W, then H (each only where that side changes, at least one).
fn area(io: &Io<'_>, scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let (planes, h, w) = (d[0] * d[1], d[2], d[3]);
    let (oh, ow) = hw(io.out_shape(0).dims());
    let y = Binding::from(io.output(0));
    if h == oh {
        return area_axis(io.input(0).into(), (planes * h, w, 1), ow, y, io, scratch);
    }
    let mut steps = Vec::new();
    let mut x = Binding::from(io.input(0));
    if w != ow {
        scratch.push((planes * h * ow * 4) as u64);
        let rows = Binding::Scratch(scratch.len() - 1);
        steps = area_axis(x, (planes * h, w, 1), ow, rows, io, scratch);
        x = rows;
    }
    steps.extend(area_axis(x, (planes, h, ow), oh, y, io, scratch));
    steps
}

/// `area_axis` of upsample.wgsl from `x` viewed as (outer, len, inner) to `olen` along the
/// middle axis, into `y`: windows longer than [`crate::tuning::Tuning::loop_chunk`] are summed
/// in parts, which reduce.wgsl then adds up.
fn area_axis(
    x: Binding,
    (outer, len, inner): (usize, usize, usize),
    olen: usize,
    y: Binding,
    io: &Io<'_>,
    scratch: &mut Vec<u64>,
) -> Vec<Step> {
    let part = io.tuning.loop_chunk;
    let window = len.div_ceil(olen) + 1;
    let parts = window.div_ceil(part);
    let dst = if parts == 1 {
        y
    } else {
        scratch.push((outer * olen * parts * inner * 4) as u64);
        Binding::Scratch(scratch.len() - 1)
    };
    let mut steps = vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Upsample,
        entry: "area_axis",
        constants: vec![("WG", f64::from(WG))],
        bindings: vec![x, dst],
        params: Params::default().us(&[outer, len, inner, olen, parts, part]).0,
        groups: linear_groups(outer * olen * parts * inner, WG),
    })];
    if parts > 1 {
        steps.extend(fold(dst, (outer * olen, parts, inner), FoldOp::Sum, Some(y), io.tuning, scratch).0);
    }
    steps
}
