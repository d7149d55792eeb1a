//! What lowering produces: dispatches of a kernel entry over values, and buffer clears.

use ocelli_graph::{Shape, ValueId};

use crate::{ExecError, KernelFamily};

/// What a storage binding refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A graph value.
    Value(ValueId),
    /// The node's k-th scratch buffer (see [`crate::lower::Lowering`]).
    Scratch(usize),
    /// The node's k-th derived constant (see [`crate::lower::Lowering`]).
    Derived(usize),
    /// A small buffer of the plan that fills a binding the kernel ignores (an absent bias or
    /// residual), so that no operand is bound as a buffer only for show.
    Placeholder,
}

impl From<ValueId> for Binding {
    fn from(v: ValueId) -> Self {
        Binding::Value(v)
    }
}

/// `vec![Binding::from(x), ...]`.
macro_rules! bindings {
    ($($v:expr),* $(,)?) => {
        vec![$($crate::dispatch::Binding::from($v)),*]
    };
}
pub(crate) use bindings;

/// One compute dispatch. Storage bindings are `bindings` at 0, 1, ...; the uniform parameters
/// follow at binding `bindings.len()` (inputs, then outputs, then parameters).
#[derive(Debug, Clone)]
pub(crate) struct Dispatch {
    pub family: KernelFamily,
    pub entry: &'static str,
    pub constants: Vec<(&'static str, f64)>,
    pub bindings: Vec<Binding>,
    pub params: Vec<u32>,
    pub groups: [u32; 3],
}

/// One recorded command.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Run a kernel.
    Dispatch(Dispatch),
    /// Run a kernel over the workgroup counts (three u32) that an earlier kernel wrote to
    /// `args` at byte `offset`: a count of 0 skips the work on the device (the dispatch's own
    /// `groups` are what that kernel is told to write when the work is needed).
    Indirect {
        /// The kernel, bindings and parameters.
        dispatch: Dispatch,
        /// The buffer holding the counts.
        args: Binding,
        /// Where in it, in bytes.
        offset: u64,
    },
    /// Zero a buffer.
    Clear(Binding),
}

impl Step {
    /// The kernel a step runs, if it runs one.
    pub(crate) fn dispatch(&self) -> Option<&Dispatch> {
        match self {
            Step::Dispatch(d) | Step::Indirect { dispatch: d, .. } => Some(d),
            Step::Clear(_) => None,
        }
    }
}

/// Where each of `parts` dispatches that add to the previous one's result writes, and that
/// previous result: they alternate between `y` and one scratch buffer of `bytes` (pushed onto
/// `scratch` only when there is more than one part) so that the last writes `y`.
pub(crate) fn chained_parts(
    parts: usize,
    y: Binding,
    bytes: u64,
    scratch: &mut Vec<u64>,
) -> Vec<(Binding, Option<Binding>)> {
    chained_parts_through(parts, y, bytes, scratch, &mut None)
}

/// [`chained_parts`] whose scratch buffer is `shared` (an index into `scratch`) when set, grown
/// to `bytes` if smaller, and recorded there when pushed: chains that run one after another
/// (bands of one node) then share one buffer.
pub(crate) fn chained_parts_through(
    parts: usize,
    y: Binding,
    bytes: u64,
    scratch: &mut Vec<u64>,
    shared: &mut Option<usize>,
) -> Vec<(Binding, Option<Binding>)> {
    let other = (parts > 1).then(|| {
        let slot = *shared.get_or_insert_with(|| {
            scratch.push(0);
            scratch.len() - 1
        });
        scratch[slot] = scratch[slot].max(bytes);
        Binding::Scratch(slot)
    });
    let mut prev = None;
    (0..parts)
        .map(|j| {
            let dst = if (parts - 1 - j).is_multiple_of(2) { y } else { other.expect("a scratch buffer for parts") };
            (dst, prev.replace(dst))
        })
        .collect()
}

/// Largest workgroup count WebGPU guarantees per dimension.
const MAX_GROUPS: usize = 65_535;

/// Workgroups for `items` invocations of `wg` threads each, wrapped into y past 65 535, as the
/// kernels' `gid.x + gid.y · nwg.x · WG` indexing expects.
pub(crate) fn linear_groups(items: usize, wg: u32) -> [u32; 3] {
    let groups = items.div_ceil(wg as usize).max(1);
    let x = groups.min(MAX_GROUPS);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// Uniform parameter words, in the order of the kernel's parameter struct.
#[derive(Debug, Default)]
pub(crate) struct Params(pub Vec<u32>);

/// Dimensions a rank-generic kernel (elementwise, layout) accepts.
pub(crate) const MAX_RANK: usize = 8;

std::thread_local! {
    /// The first parameter that did not fit a u32 since [`take_overflow`] last looked: lowering
    /// builds parameters with infallible calls and checks this once per node, so a stride or
    /// step too large for the kernels' 32-bit arithmetic is a typed error, never a panic or a
    /// truncated value.
    static OVERFLOW: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// The first parameter too large for a u32 since the last call, if any (and forgets it).
pub(crate) fn take_overflow() -> Option<usize> {
    OVERFLOW.with(std::cell::Cell::take)
}

impl Params {
    pub fn u(mut self, v: usize) -> Self {
        let word = u32::try_from(v).unwrap_or_else(|_| {
            OVERFLOW.with(|o| o.set(o.get().or(Some(v))));
            u32::MAX
        });
        self.0.push(word);
        self
    }

    pub fn us(mut self, vs: &[usize]) -> Self {
        for &v in vs {
            self = self.u(v);
        }
        self
    }

    pub fn f(mut self, v: f32) -> Self {
        self.0.push(v.to_bits());
        self
    }

    /// An `array<vec4<u32>, 2>` of up to 8 values, zero-filled.
    pub fn dims8(mut self, vs: &[usize]) -> Self {
        let mut words = [0usize; MAX_RANK];
        words[..vs.len()].copy_from_slice(vs);
        self = self.us(&words);
        self
    }
}

/// Dimensions `dims` and two operands' strides through them with size-1 dimensions dropped
/// and neighbours merged where both operands step through them as through one (an image plus
/// a per-channel [N, C, 1, 1] term becomes [N·C, H·W]; a concat part's copy [N, C·H·W]):
/// kernels that split an index into coordinates pay two integer divisions per dimension and
/// element, a scalar loop per lane on CPU drivers.
pub(crate) fn merge_dims(dims: &[usize], a: &[usize], b: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut sa, mut sb): (Vec<usize>, Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..dims.len()).filter(|&i| dims[i] != 1) {
        let n = dims[i];
        match (d.last_mut(), sa.last_mut(), sb.last_mut()) {
            // The outer dimension steps over exactly this one in both operands: one dimension,
            // stepping by this one's strides.
            (Some(outer), Some(x), Some(y)) if *x == a[i] * n && *y == b[i] * n => {
                (*outer, *x, *y) = (*outer * n, a[i], b[i]);
            }
            _ => {
                d.push(n);
                sa.push(a[i]);
                sb.push(b[i]);
            }
        }
    }
    (d, sa, sb)
}

/// Fails for tensors of rank above [`MAX_RANK`].
pub(crate) fn check_rank(op: &'static str, s: &Shape) -> Result<(), ExecError> {
    if s.rank() > MAX_RANK {
        return Err(ExecError::Unsupported { op, why: format!("rank {} exceeds {MAX_RANK}", s.rank()) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{linear_groups, merge_dims};

    #[test]
    fn grid_wraps_past_the_dimension_limit() {
        assert_eq!(linear_groups(1, 64), [1, 1, 1]);
        assert_eq!(linear_groups(65, 64), [2, 1, 1]);
        let g = linear_groups(64 * 70_000, 64);
        assert!(g[0] <= 65_535);
        assert!(g[0] as usize * g[1] as usize >= 70_000);
    }

    #[test]
    fn broadcast_dimensions_merge_where_both_operands_step_through_them_as_one() {
        // An image plus a per-channel term: [N·C, H·W].
        assert_eq!(
            merge_dims(&[128, 32, 28, 28], &[25088, 784, 28, 1], &[32, 1, 0, 0]),
            (vec![4096, 784], vec![784, 1], vec![1, 0])
        );
        // Same shapes: one run; size-1 dimensions go.
        assert_eq!(merge_dims(&[2, 1, 3, 5], &[15, 15, 5, 1], &[15, 15, 5, 1]), (vec![30], vec![1], vec![1]));
        // A row vector against a column: nothing merges.
        assert_eq!(merge_dims(&[4, 7], &[1, 0], &[0, 1]), (vec![4, 7], vec![1, 0], vec![0, 1]));
        // Broadcast in the middle: [A, B, C] + [A, 1, C] keeps three dimensions.
        assert_eq!(merge_dims(&[2, 3, 5], &[15, 5, 1], &[5, 0, 1]), (vec![2, 3, 5], vec![15, 5, 1], vec![5, 0, 1]));
        // All ones: a scalar.
        assert_eq!(merge_dims(&[1, 1], &[1, 1], &[1, 1]), (vec![], vec![], vec![]));
    }
}
