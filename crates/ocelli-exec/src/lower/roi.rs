//! `Op::RoiAlign`, `Op::RoiPool` -> `shaders/roi_align.wgsl`; `Op::NonMaxSuppression` ->
//! `shaders/nms.wgsl`.

use ocelli_graph::{Nms, PoolKind, RoiAlign, RoiPool};

use crate::dispatch::{chained_parts, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::tuning::MAX_WINDOW;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;

/// RoiAlign or RoiPool. A bin's loops are bounded by the map's size (`rows` × `cols` samples at
/// most); bins whose bound passes 4·loop_chunk iterations split their rows among dispatches,
/// each adding its share to the previous one's result (alternating with a scratch buffer, the
/// last writing y).
fn region_pool(
    io: &Io<'_>,
    entry: &'static str,
    max: bool,
    out: (usize, usize),
    (sampling, half_pixel, scale): (usize, bool, f32),
    (rows, cols): (usize, usize),
    scratch: &mut Vec<u64>,
) -> Result<Vec<Step>, ExecError> {
    let x = io.in_shape(0).dims();
    let rois = io.in_shape(2).numel();
    let numel = io.out_shape(0).numel();
    if 1 + cols > MAX_WINDOW {
        return Err(ExecError::Unsupported {
            op: entry,
            why: format!("a map {cols} samples wide needs more loop iterations per invocation than drivers allow"),
        });
    }
    let parts = (rows * (1 + cols)).div_ceil(4 * io.tuning.loop_chunk).clamp(1, rows.max(1));
    let mut steps = Vec::with_capacity(parts);
    for (part, (dst, prev)) in
        chained_parts(parts, io.output(0).into(), (numel * 4) as u64, scratch).into_iter().enumerate()
    {
        let params = Params::default()
            .us(&[x[0], x[1], x[2], x[3], rois, out.0, out.1, sampling, usize::from(half_pixel)])
            .f(scale)
            .us(&[parts, part]);
        steps.push(Step::Dispatch(Dispatch {
            family: KernelFamily::Roi,
            entry,
            constants: vec![
                ("MODE", if max { 1.0 } else { 0.0 }),
                ("ACCUMULATE", f64::from(u8::from(part > 0))),
                ("WG", f64::from(WG)),
            ],
            bindings: vec![
                io.input(0).into(),
                io.input(1).into(),
                io.input(2).into(),
                prev.unwrap_or(Binding::Placeholder),
                dst,
            ],
            params: params.0,
            groups: linear_groups(numel, WG),
        }));
    }
    Ok(steps)
}

pub(crate) fn roi_align(io: &Io<'_>, p: &RoiAlign, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (h, w) = (io.in_shape(0).dims()[2], io.in_shape(0).dims()[3]);
    // Adaptive grids step at least half a pixel: at most 2·side + 6 samples in the map.
    let span = |side: usize| if p.sampling_ratio > 0 { p.sampling_ratio } else { 2 * side + 6 };
    let sampling = (p.sampling_ratio, p.half_pixel, p.spatial_scale);
    let max = p.mode == PoolKind::Max;
    region_pool(io, "roi_align", max, (p.out_h, p.out_w), sampling, (span(h), span(w)), scratch)
}

pub(crate) fn roi_pool(io: &Io<'_>, p: &RoiPool, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (h, w) = (io.in_shape(0).dims()[2], io.in_shape(0).dims()[3]);
    region_pool(io, "roi_pool", true, (p.out_h, p.out_w), (0, false, p.spatial_scale), (h, w), scratch)
}

pub(crate) fn nms(io: &Io<'_>, p: &Nms, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (b, n) = (io.in_shape(0).dims()[0], io.in_shape(0).dims()[1]);
    let classes = io.in_shape(1).dims()[1];
    let segments = if p.class_agnostic { b } else { b * classes };
    let padded = n.next_power_of_two();
    let flag = |v: bool| f64::from(u8::from(v));
    let constants =
        vec![("CENTER", flag(p.center_point_box)), ("AGNOSTIC", flag(p.class_agnostic)), ("WG", f64::from(WG))];
    let params = |k: usize, j: usize| {
        Params::default()
            .us(&[b, classes, n, padded, p.max_per_class, usize::from(p.score_threshold.is_some())])
            .f(p.score_threshold.unwrap_or(0.0))
            .f(p.iou_threshold)
            .us(&[k, j])
            .f(p.soft_sigma.unwrap_or(1.0))
            .0
    };
    let slots = linear_groups(segments * padded, WG);
    let step = |entry, bindings, params, groups| {
        Step::Dispatch(Dispatch {
            family: KernelFamily::Nms,
            entry,
            constants: constants.clone(),
            bindings,
            params,
            groups,
        })
    };
    // What one invocation loops over per block of WG candidates (nms_select) or per selection
    // (soft_select); dispatches take as many as fit 4·loop_chunk iterations.
    let wg = WG as usize;
    let agnostic = if p.class_agnostic { classes } else { 0 };
    let max_out = p.max_per_class.min(n);
    // nms_select's block: every lane's test against the boxes kept so far (at most max_out),
    // then the first lane's settling of the block (candidate t against at most t boxes kept
    // within it, and its class).
    let per_unit = if p.soft_sigma.is_some() {
        2 * n.div_ceil(wg) + 16 + agnostic
    } else {
        max_out + wg * (wg + 1) / 2 + wg * (1 + agnostic) + 16
    };
    let setup = max_out.div_ceil(wg) + n.div_ceil(wg) * (1 + agnostic);
    if per_unit.max(setup) > MAX_WINDOW {
        return Err(ExecError::Unsupported {
            op: "non_max_suppression",
            why: format!("{n} boxes, {classes} classes and {max_out} per class need more loop iterations per invocation than drivers allow"),
        });
    }
    let per_dispatch = (4 * io.tuning.loop_chunk / per_unit).max(1);
    scratch.push((segments * 4) as u64);
    let state = Binding::Scratch(scratch.len() - 1);
    let groups = linear_groups(segments, 1);
    if p.soft_sigma.is_some() {
        // Soft-NMS decays scores instead of sorting once: the scratch holds working scores.
        scratch.push((segments * n * 4) as u64);
        let work = Binding::Scratch(scratch.len() - 1);
        let bindings =
            vec![io.input(0).into(), io.input(1).into(), work, io.output(0).into(), io.output(1).into(), state];
        return Ok((0..max_out.max(1))
            .step_by(per_dispatch)
            .map(|k| step("soft_select", bindings.clone(), params(k, k + per_dispatch), groups))
            .collect());
    }
    scratch.push((segments * padded * 8) as u64);
    let keys = Binding::Scratch(scratch.len() - 1);
    let mut steps = vec![step("nms_keys", vec![io.input(1).into(), keys], params(0, 0), slots)];
    let mut k = 2;
    while k <= padded {
        let mut j = k / 2;
        while j >= 1 {
            steps.push(step("bitonic", vec![keys], params(k, j), slots));
            j /= 2;
        }
        k *= 2;
    }
    let select = vec![io.input(0).into(), io.input(1).into(), keys, io.output(0).into(), state];
    for blk in (0..n.div_ceil(wg).max(1)).step_by(per_dispatch) {
        steps.push(step("nms_select", select.clone(), params(blk, blk + per_dispatch), groups));
    }
    Ok(steps)
}
