//! `Op::ConnectedComponents` -> `shaders/components.wgsl`: an initial labelling, then the rounds,
//! alternating between the output and one scratch buffer so that the last round writes the output.

use crate::dispatch::{bindings, linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

pub(crate) fn connected_components(io: &Io<'_>, rounds: usize, scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let (h, w) = (d[0], d[1]);
    scratch.push((h * w * 4) as u64);
    let (out, spare) = (Binding::from(io.output(0)), Binding::Scratch(scratch.len() - 1));
    let step = |entry, bindings| {
        Step::Dispatch(Dispatch {
            family: KernelFamily::Components,
            entry,
            constants: vec![("WG", f64::from(WG))],
            bindings,
            params: Params::default().us(&[h, w]).0,
            groups: linear_groups(h * w, WG),
        })
    };
    // An even number of rounds starts in the output, an odd one in the spare buffer.
    let (mut src, mut dst) = if rounds.is_multiple_of(2) { (spare, out) } else { (out, spare) };
    let mut steps = vec![step("cc_init", bindings![io.input(0), dst])];
    for _ in 0..rounds {
        (src, dst) = (dst, src);
        steps.push(step("cc_round", vec![src, dst]));
    }
    steps
}
