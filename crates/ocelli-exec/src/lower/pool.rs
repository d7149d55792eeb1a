//! Pooling, unpooling and resizing -> `shaders/pool.wgsl`, `shaders/upsample.wgsl`.

use ocelli_graph::{Pool2d, PoolKind, UpsampleMode};

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

fn hw(d: &[usize]) -> (usize, usize) {
    (d[2], d[3])
}

pub(crate) fn pool2d(io: &Io<'_>, p: &Pool2d, with_indices: bool) -> Vec<Step> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let numel = io.out_shape(0).numel();
    let params = Params::default()
        .us(&[h, w, oh, ow, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1]])
        .us(&p.padding)
        .us(&[numel, usize::from(p.count_include_pad)]);
    let (entry, bindings) = if with_indices {
        ("max_pool_indices", bindings![io.input(0), io.output(0), io.output(1)])
    } else {
        ("pool", bindings![io.input(0), io.output(0)])
    };
    let kind = match p.kind {
        PoolKind::Max => 0.0,
        PoolKind::Avg => 1.0,
    };
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Pool,
        entry,
        constants: vec![("KIND", kind), ("WG", f64::from(WG))],
        bindings,
        params: params.0,
        groups: linear_groups(numel, WG),
    })]
}

pub(crate) fn max_unpool2d(io: &Io<'_>) -> Vec<Step> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let numel = io.in_shape(0).numel();
    let params = Params::default().us(&[h, w, oh, ow]).us(&[0; 8]).us(&[numel, 0]);
    vec![
        Step::Clear(io.output(0)),
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

pub(crate) fn upsample(io: &Io<'_>, mode: UpsampleMode) -> Vec<Step> {
    let (h, w) = hw(io.in_shape(0).dims());
    let (oh, ow) = hw(io.out_shape(0).dims());
    let numel = io.out_shape(0).numel();
    let (code, align) = match mode {
        UpsampleMode::Nearest => (0.0, false),
        UpsampleMode::Bilinear { align_corners } => (1.0, align_corners),
        UpsampleMode::Area => (2.0, false),
    };
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Upsample,
        entry: "upsample",
        constants: vec![("MODE", code), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().us(&[h, w, oh, ow, numel, usize::from(align)]).0,
        groups: linear_groups(numel, WG),
    })]
}
