//! `Op::RoiAlign`, `Op::RoiPool` -> `shaders/roi_align.wgsl`; `Op::NonMaxSuppression` ->
//! `shaders/nms.wgsl`.

use ocelli_graph::{Nms, PoolKind, RoiAlign, RoiPool};

use crate::dispatch::{bindings, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

fn region_pool(
    io: &Io<'_>,
    entry: &'static str,
    mode: f64,
    out: (usize, usize),
    sampling: usize,
    half_pixel: bool,
    scale: f32,
) -> Vec<Step> {
    let x = io.in_shape(0).dims();
    let rois = io.in_shape(2).numel();
    let numel = io.out_shape(0).numel();
    let params =
        Params::default().us(&[x[0], x[1], x[2], x[3], rois, out.0, out.1, sampling, usize::from(half_pixel)]).f(scale);
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Roi,
        entry,
        constants: vec![("MODE", mode), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.input(1), io.input(2), io.output(0)],
        params: params.0,
        groups: linear_groups(numel, WG),
    })]
}

pub(crate) fn roi_align(io: &Io<'_>, p: &RoiAlign) -> Vec<Step> {
    let mode = if p.mode == PoolKind::Max { 1.0 } else { 0.0 };
    region_pool(io, "roi_align", mode, (p.out_h, p.out_w), p.sampling_ratio, p.half_pixel, p.spatial_scale)
}

pub(crate) fn roi_pool(io: &Io<'_>, p: &RoiPool) -> Vec<Step> {
    region_pool(io, "roi_pool", 0.0, (p.out_h, p.out_w), 0, false, p.spatial_scale)
}

/// Keys, a bitonic sort of every segment (one dispatch per step), then the greedy selection.
pub(crate) fn nms(io: &Io<'_>, p: &Nms, scratch: &mut Vec<u64>) -> Vec<Step> {
    let (b, n) = (io.in_shape(0).dims()[0], io.in_shape(0).dims()[1]);
    let classes = io.in_shape(1).dims()[1];
    let segments = if p.class_agnostic { b } else { b * classes };
    let padded = n.next_power_of_two();
    scratch.push((segments * padded * 8) as u64);
    let keys = Binding::Scratch(scratch.len() - 1);
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
    if p.soft_sigma.is_some() {
        // Soft-NMS decays scores instead of sorting once: the scratch holds working scores.
        scratch.pop();
        scratch.push((segments * n * 4) as u64);
        let bindings = vec![io.input(0).into(), io.input(1).into(), keys, io.output(0).into(), io.output(1).into()];
        return vec![step("soft_select", bindings, params(0, 0), linear_groups(segments, 1))];
    }
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
    let select = vec![io.input(0).into(), io.input(1).into(), keys, io.output(0).into()];
    steps.push(step("nms_select", select, params(0, 0), linear_groups(segments, 1)));
    steps
}
