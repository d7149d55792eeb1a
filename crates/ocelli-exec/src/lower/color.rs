//! `Op::ColorSpace`, `Op::Histogram` -> `shaders/color.wgsl`.

use ocelli_graph::HistogramOp;

use crate::dispatch::{bindings, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

fn params(io: &Io<'_>, low: f32, high: f32) -> Vec<u32> {
    let d = io.in_shape(0).dims();
    Params::default().us(&[d[0], d[1], d[2] * d[3]]).f(low).f(high).0
}

pub(crate) fn color_space(io: &Io<'_>, to_hsv: bool) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Color,
        entry: "color_space",
        constants: vec![("TO_HSV", f64::from(u8::from(to_hsv))), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: params(io, 0.0, 0.0),
        groups: linear_groups(d[0] * d[2] * d[3], WG),
    })]
}

/// Clear, count, table, apply — with the counts and the table in scratch buffers.
pub(crate) fn histogram(io: &Io<'_>, op: HistogramOp, scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let planes = d[0] * d[1];
    let numel = io.in_shape(0).numel();
    let (stretch, low, high) = match op {
        HistogramOp::Equalize => (false, 0.0, 0.0),
        // Fractions computed here once, so both backends multiply the same f32 values.
        HistogramOp::Stretch { low, high } => (true, low * 0.01, high * 0.01),
    };
    scratch.extend([(planes * 256 * 4) as u64, (planes * 256 * 4) as u64]);
    let (counts, lut) = (Binding::Scratch(scratch.len() - 2), Binding::Scratch(scratch.len() - 1));
    let constants = vec![("STRETCH", f64::from(u8::from(stretch))), ("WG", f64::from(WG))];
    let p = params(io, low, high);
    let step = |entry, bindings, items| {
        Step::Dispatch(Dispatch {
            family: KernelFamily::Color,
            entry,
            constants: constants.clone(),
            bindings,
            params: p.clone(),
            groups: linear_groups(items, WG),
        })
    };
    vec![
        step("hist_clear", vec![counts], planes * 256),
        step("hist_count", vec![io.input(0).into(), counts], numel),
        step("hist_lut", vec![counts, lut], planes),
        step("hist_apply", vec![io.input(0).into(), lut, io.output(0).into()], numel),
    ]
}
