//! `Op::PerspectiveCrops` -> `shaders/warp.wgsl`.

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

pub(crate) fn perspective_crops(io: &Io<'_>, fill: f32) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let o = io.out_shape(0).dims();
    let params = Params::default().us(&[d[1], d[2], d[3], o[0], o[2], o[3]]).f(fill);
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Warp,
        entry: "perspective_crops",
        constants: vec![("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.input(1), io.input(2), io.output(0)],
        params: params.0,
        groups: linear_groups(io.out_shape(0).numel(), WG),
    })]
}
