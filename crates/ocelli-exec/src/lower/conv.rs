//! `Op::Conv2d` -> `shaders/conv2d.wgsl`, `Op::ConvTranspose2d` -> `shaders/conv_transpose.wgsl`.

use ocelli_graph::{resolve_conv_padding, Conv2d, ConvTranspose2d, UnaryOp};

use crate::dispatch::{linear_groups, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;
/// Output channels and output columns per invocation in conv2d.wgsl.
const BLOCK: usize = 4;

fn dims4(d: &[usize]) -> [usize; 4] {
    [d[0], d[1], d[2], d[3]]
}

/// `acts(conv(x, w) + bias + residual)`; `n_base` inputs belong to the convolution itself.
pub(crate) fn conv2d(io: &Io<'_>, p: &Conv2d, n_base: usize, acts: &[UnaryOp]) -> Vec<Step> {
    let [n, c, h, w] = dims4(io.in_shape(0).dims());
    let [o, cg, kh, kw] = dims4(io.in_shape(1).dims());
    let [_, _, oh, ow] = dims4(io.out_shape(0).dims());
    let pads = resolve_conv_padding(p, [h, w], [kh, kw]);
    let og = o / p.groups;
    let oc_tiles = og.div_ceil(BLOCK);
    let ox_tiles = ow.div_ceil(BLOCK);
    let items = n * p.groups * oc_tiles * oh * ox_tiles;
    let has_bias = n_base == 3;
    let residual = io.node.inputs.len() > n_base;
    let params = Params::default()
        .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], pads[0], pads[1]])
        .us(&[p.dilation[0], p.dilation[1], cg, og, oc_tiles, ox_tiles, items]);
    let flag = |b: bool| f64::from(u8::from(b));
    let mut constants = vec![("WG", f64::from(WG)), ("HAS_BIAS", flag(has_bias)), ("RESIDUAL", flag(residual))];
    constants.extend(act_constants(acts));
    let or_x = |present: bool, i: usize| if present { io.input(i) } else { io.input(0) };
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Conv2d,
        entry: "conv2d",
        constants,
        bindings: vec![io.input(0), io.input(1), or_x(has_bias, 2), or_x(residual, n_base), io.output(0)],
        params: params.0,
        groups: linear_groups(items, WG),
    })]
}

pub(crate) fn conv_transpose2d(io: &Io<'_>, p: &ConvTranspose2d) -> Vec<Step> {
    let [n, c, h, w] = dims4(io.in_shape(0).dims());
    let [_, og, kh, kw] = dims4(io.in_shape(1).dims());
    let [_, o, oh, ow] = dims4(io.out_shape(0).dims());
    let numel = n * o * oh * ow;
    let has_bias = io.node.inputs.len() == 3;
    let params = Params::default()
        .us(&[n, c, h, w, o, oh, ow, kh, kw, p.stride[0], p.stride[1], p.padding[0], p.padding[1]])
        .us(&[p.dilation[0], p.dilation[1], c / p.groups, og, numel]);
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::ConvTranspose,
        entry: "conv_transpose2d",
        constants: vec![("WG", f64::from(WG)), ("HAS_BIAS", f64::from(u8::from(has_bias)))],
        bindings: vec![io.input(0), io.input(1), if has_bias { io.input(2) } else { io.input(0) }, io.output(0)],
        params: params.0,
        groups: linear_groups(numel, WG),
    })]
}
