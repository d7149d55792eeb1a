//! `Op::RoiAlign`, `Op::RoiPool`, `Op::CropResize` -> `shaders/roi_align.wgsl`; `Op::NonMaxSuppression` ->
//! `shaders/nms.wgsl`.

use ocelli_graph::{Nms, Overlap, PoolKind, RoiAlign, RoiPool};

use crate::dispatch::{chained_parts, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::tuning::MAX_WINDOW;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;

/// RoiAlign, RoiPool or CropResize in `parts` dispatches: dispatch k visits its bins' rows
/// (flattened windows, for crop_resize) k, k + parts, ... and adds its share to the previous
/// one's result (alternating with a scratch buffer, the last writing y).
fn region_pool(
    io: &Io<'_>,
    entry: &'static str,
    max: bool,
    out: (usize, usize),
    (sampling, half_pixel, scale): (usize, bool, f32),
    parts: usize,
    scratch: &mut Vec<u64>,
) -> Vec<Step> {
    let x = io.in_shape(0).dims();
    let rois = io.in_shape(2).numel();
    let numel = io.out_shape(0).numel();
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
    steps
}

/// Dispatches for bins that loop over at most `rows` × `cols` samples, rows split among them:
/// bins whose bound passes 4·loop_chunk iterations take several.
fn row_parts(io: &Io<'_>, entry: &'static str, (rows, cols): (usize, usize)) -> Result<usize, ExecError> {
    if 1 + cols > MAX_WINDOW {
        return Err(ExecError::Unsupported {
            op: entry,
            why: format!("a map {cols} samples wide needs more loop iterations per invocation than drivers allow"),
        });
    }
    Ok((rows * (1 + cols)).div_ceil(4 * io.tuning.loop_chunk).clamp(1, rows.max(1)))
}

pub(crate) fn roi_align(io: &Io<'_>, p: &RoiAlign, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (h, w) = (io.in_shape(0).dims()[2], io.in_shape(0).dims()[3]);
    // Adaptive grids step at least half a pixel: at most 2·side + 6 samples in the map.
    let span = |side: usize| if p.sampling_ratio > 0 { p.sampling_ratio } else { 2 * side + 6 };
    let parts = row_parts(io, "roi_align", (span(h), span(w)))?;
    let sampling = (p.sampling_ratio, p.half_pixel, p.spatial_scale);
    let max = p.mode == PoolKind::Max;
    Ok(region_pool(io, "roi_align", max, (p.out_h, p.out_w), sampling, parts, scratch))
}

pub(crate) fn roi_pool(io: &Io<'_>, p: &RoiPool, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (h, w) = (io.in_shape(0).dims()[2], io.in_shape(0).dims()[3]);
    let parts = row_parts(io, "roi_pool", (h, w))?;
    Ok(region_pool(io, "roi_pool", true, (p.out_h, p.out_w), (0, false, p.spatial_scale), parts, scratch))
}

/// CropResize: a bin's window (at most ⌈H/out_h⌉ + 1 rows by ⌈W/out_w⌉ + 1 columns) is one
/// flattened loop, split among as many dispatches as keep each under 4·loop_chunk iterations.
pub(crate) fn crop_resize(io: &Io<'_>, out: (usize, usize), scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (h, w) = (io.in_shape(0).dims()[2], io.in_shape(0).dims()[3]);
    // The kernel's u32 window arithmetic: (i + 1)·crop side stays below 2^32.
    if out.0.saturating_mul(h) > u32::MAX as usize / 2 || out.1.saturating_mul(w) > u32::MAX as usize / 2 {
        return Err(ExecError::Unsupported {
            op: "crop_resize",
            why: format!("{}x{} bins of a {h}x{w} map overflow the kernel's 32-bit window arithmetic", out.0, out.1),
        });
    }
    let window = (h.div_ceil(out.0) + 1) * (w.div_ceil(out.1) + 1);
    let parts = window.div_ceil(4 * io.tuning.loop_chunk).max(1);
    Ok(region_pool(io, "crop_resize", false, out, (0, false, 1.0), parts, scratch))
}

/// Histogram bins per level of the fast path's top-candidate search and state words per
/// segment (shaders/nms.wgsl).
const NMS_BINS: usize = 2048;
const NMS_STATE: usize = 8;
/// The fast path's histograms stay within this many bytes (4096 segments).
const NMS_HIST_BUDGET: usize = 64 << 20;

pub(crate) fn nms(io: &Io<'_>, p: &Nms, scratch: &mut Vec<u64>) -> Result<Vec<Step>, ExecError> {
    let (b, n) = (io.in_shape(0).dims()[0], io.in_shape(0).dims()[1]);
    let classes = io.in_shape(1).dims()[1];
    let segments = if p.class_agnostic { b } else { b * classes };
    // Runs sorted in workgroup memory: 2048 keys (16 KiB), fewer when tests shrink the loop
    // chunk so that small inputs take several merge rounds and the fast path's list is short.
    let run = (io.tuning.loop_chunk / 2).clamp(2, 2048).next_power_of_two().min(2048);
    let sort_wg = (run / 8).clamp(1, 256);
    let max_out = p.max_per_class.min(n);
    // The fast path sorts the top candidates of each segment (twice the boxes it may keep, as
    // a power of two); segments its walk does not finish take the full path.
    let hist_words = segments * 2 * NMS_BINS;
    let small = if hist_words * 4 <= NMS_HIST_BUDGET { (2 * max_out).next_power_of_two().max(64).min(run) } else { 0 };
    let flag = |v: bool| f64::from(u8::from(v));
    let constants = vec![
        ("CENTER", flag(p.center_point_box)),
        ("AGNOSTIC", flag(p.class_agnostic)),
        ("WG", f64::from(WG)),
        ("RUN", run as f64),
        ("SORT_WG", sort_wg as f64),
        ("MIN_AREA", flag(p.overlap == Overlap::Min)),
    ];
    let params = |k: usize, j: usize, mode: usize, fresh: bool| {
        Params::default()
            .us(&[b, classes, n, p.max_per_class, usize::from(p.score_threshold.is_some())])
            .f(p.score_threshold.unwrap_or(0.0))
            .f(p.iou_threshold)
            .us(&[k, j])
            .f(p.soft_sigma.unwrap_or(1.0))
            .us(&[small, mode, usize::from(fresh)])
            .0
    };
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
    // nms_select's block: every lane's tests against the boxes kept so far (at most max_out)
    // and against the block's earlier candidates, then the first lane's settling of the block
    // (two mask words per candidate, and the class of each box it keeps).
    let per_unit = if p.soft_sigma.is_some() {
        2 * n.div_ceil(wg) + 16 + agnostic
    } else {
        max_out + wg + wg * (3 + agnostic) + 16
    };
    let setup = max_out.div_ceil(wg) + n.div_ceil(wg) * (1 + agnostic);
    if per_unit.max(setup) > MAX_WINDOW {
        return Err(ExecError::Unsupported {
            op: "non_max_suppression",
            why: format!("{n} boxes, {classes} classes and {max_out} per class need more loop iterations per invocation than drivers allow"),
        });
    }
    let per_dispatch = (4 * io.tuning.loop_chunk / per_unit).max(1);
    let groups = linear_groups(segments, 1);
    if p.soft_sigma.is_some() {
        // Soft-NMS decays scores instead of sorting once: the scratch holds working scores.
        scratch.push((segments * 4) as u64);
        let state = Binding::Scratch(scratch.len() - 1);
        scratch.push((segments * n * 4) as u64);
        let work = Binding::Scratch(scratch.len() - 1);
        let bindings =
            vec![io.input(0).into(), io.input(1).into(), work, io.output(0).into(), io.output(1).into(), state];
        return Ok((0..max_out.max(1))
            .step_by(per_dispatch)
            .map(|k| step("soft_select", bindings.clone(), params(k, k + per_dispatch, 0, false), groups))
            .collect());
    }
    let scratch_of = |scratch: &mut Vec<u64>, bytes: usize| {
        scratch.push(bytes as u64);
        Binding::Scratch(scratch.len() - 1)
    };
    let state_words = segments * NMS_STATE;
    let state = scratch_of(scratch, state_words * 4);
    let mut keys = scratch_of(scratch, segments * n * 8);
    let entries = linear_groups(segments * n, WG);
    let mut steps = vec![Step::Clear(state)];
    let select = |keys: Binding| vec![io.input(0).into(), io.input(1).into(), keys, io.output(0).into(), state];
    let mut fresh = true;
    if small > 0 {
        let hist = scratch_of(scratch, hist_words * 4);
        let list = scratch_of(scratch, segments * small * 8);
        steps.extend([
            Step::Clear(hist),
            step("nms_keys", vec![io.input(1).into(), keys, hist], params(0, 0, 1, false), entries),
            step("nms_bins", vec![hist, state], params(1, 0, 0, false), groups),
            step("nms_hist2", vec![keys, hist, state], params(0, 0, 0, false), entries),
            step("nms_bins", vec![hist, state], params(2, 0, 0, false), groups),
            step("nms_gather", vec![keys, state, list], params(0, 0, 0, false), entries),
            step("sort_small", vec![list, state], params(0, 0, 0, false), groups),
        ]);
        for blk in (0..small.div_ceil(wg)).step_by(per_dispatch) {
            steps.push(step("nms_select", select(list), params(blk, blk + per_dispatch, 0, fresh), groups));
            fresh = false;
        }
        if n <= small {
            // The list held every candidate.
            return Ok(steps);
        }
    } else {
        steps.push(step(
            "nms_keys",
            vec![io.input(1).into(), keys, Binding::Placeholder],
            params(0, 0, 0, false),
            entries,
        ));
    }
    // The full path: sorted runs, then merge rounds alternating between two buffers, then the
    // walk. After a fast path they are dispatched indirectly, with no work unless some
    // segment's walk goes on.
    let mode = usize::from(small > 0);
    let mut spare = scratch_of(scratch, segments * n * 8);
    let sort_groups = linear_groups(segments * n.div_ceil(run), 1);
    let mut full = vec![step("sort_runs", vec![keys, state], params(0, 0, mode, false), sort_groups)];
    let mut len = run;
    while len < n {
        // Runs merged per round: each entry binary-searches every other run of its group.
        let search = len.ilog2() as usize + 2;
        let fan_in = (4 * io.tuning.loop_chunk / search).clamp(2, n.div_ceil(len));
        full.push(step("merge_runs", vec![keys, spare, state], params(len, fan_in, mode, false), entries));
        std::mem::swap(&mut keys, &mut spare);
        len = len.saturating_mul(fan_in);
    }
    for blk in (0..n.div_ceil(wg).max(1)).step_by(per_dispatch) {
        full.push(step("nms_select", select(keys), params(blk, blk + per_dispatch, 1, fresh), groups));
        fresh = false;
    }
    if small == 0 {
        steps.extend(full);
        return Ok(steps);
    }
    // Three count triples: sort_runs, merge_runs (every round alike) and nms_select.
    let args = scratch_of(scratch, 3 * 3 * 4);
    let mut counts = Params::default().us(&[segments, p.max_per_class, 0, 0]);
    for [x, y, z] in [sort_groups, entries, groups] {
        counts = counts.us(&[x as usize, y as usize, z as usize, 0]);
    }
    steps.push(Step::Dispatch(Dispatch {
        family: KernelFamily::Nms,
        entry: "nms_fallback_args",
        constants: constants.clone(),
        bindings: vec![state, args],
        params: counts.0,
        groups: [1, 1, 1],
    }));
    for s in full {
        let Step::Dispatch(d) = s else { unreachable!("the full path is dispatches") };
        let offset = match d.entry {
            "sort_runs" => 0,
            "merge_runs" => 12,
            _ => 24,
        };
        steps.push(Step::Indirect { dispatch: d, args, offset });
    }
    Ok(steps)
}
