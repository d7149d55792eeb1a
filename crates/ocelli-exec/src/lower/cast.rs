//! `Op::Cast` between f32 and f16 -> `shaders/cast.wgsl`.

use ocelli_graph::DType;

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 256;

pub(crate) fn cast(io: &Io<'_>, to: DType) -> Vec<Step> {
    let numel = io.out_shape(0).numel();
    let (entry, items) = match to {
        DType::F16 => ("f32_to_f16", numel.div_ceil(2)),
        _ => ("f16_to_f32", numel),
    };
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Cast,
        entry,
        constants: vec![("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().u(numel).0,
        groups: linear_groups(items, WG),
    })]
}
