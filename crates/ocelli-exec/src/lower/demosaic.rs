//! `Op::Demosaic` -> `shaders/demosaic.wgsl`.

use ocelli_graph::{Demosaic, DemosaicMethod};

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

pub(crate) fn demosaic(io: &Io<'_>, d: &Demosaic) -> Vec<Step> {
    let pattern = (0..4).fold(0u32, |acc, site| acc | (d.pattern.color_at(site / 2, site % 2) as u32) << (2 * site));
    let method = match d.method {
        DemosaicMethod::Bilinear => 0.0,
        DemosaicMethod::Mhc => 1.0,
    };
    let scale = (1.0 / (f64::from(d.white) - f64::from(d.black))) as f32;
    let params = Params::default()
        .us(&[d.height, d.width, pattern as usize, usize::from(d.srgb)])
        .f(d.black)
        .f(scale)
        .f(d.wb[0])
        .f(d.wb[1])
        .f(d.wb[2]);
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Demosaic,
        entry: "demosaic",
        constants: vec![("METHOD", method), ("BITS", f64::from(d.bits)), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: params.0,
        groups: linear_groups(d.height * d.width, WG),
    })]
}
