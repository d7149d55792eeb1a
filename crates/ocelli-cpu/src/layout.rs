use half::f16;
use ocelli_graph::{DType, PadMode, Shape, Tensor, TensorData};

/// Gathers elements of `t` for each output coordinate through `src_index`.
fn gather(t: &Tensor, out: &Shape, src_index: impl Fn(&[usize]) -> usize) -> Tensor {
    let dims = out.dims();
    let mut coord = vec![0usize; dims.len()];
    let idx: Vec<usize> = (0..out.numel())
        .map(|_| {
            let i = src_index(&coord);
            for d in (0..dims.len()).rev() {
                coord[d] += 1;
                if coord[d] < dims[d] {
                    break;
                }
                coord[d] = 0;
            }
            i
        })
        .collect();
    let data = match t.data() {
        TensorData::F32(v) => TensorData::F32(idx.iter().map(|&i| v[i]).collect()),
        TensorData::F16(v) => TensorData::F16(idx.iter().map(|&i| v[i]).collect()),
        TensorData::I32(v) => TensorData::I32(idx.iter().map(|&i| v[i]).collect()),
        TensorData::U32(v) => TensorData::U32(idx.iter().map(|&i| v[i]).collect()),
    };
    Tensor::new(out.clone(), data).expect("gather produces numel elements")
}

fn offset(coord: &[usize], strides: &[usize]) -> usize {
    coord.iter().zip(strides).map(|(c, s)| c * s).sum()
}

/// Elements `start, start + step, ...` along `axis`.
pub(crate) fn slice(t: &Tensor, axis: usize, start: usize, step: usize, out: &Shape) -> Tensor {
    let st = t.shape().strides();
    gather(t, out, |c| offset(c, &st) + (start + c[axis] * (step - 1)) * st[axis])
}

/// [`ocelli_graph::Op::Gather`]: entries of `t` along `axis` at `idx`, zeros where an index is
/// outside the axis.
pub(crate) fn take(t: &Tensor, axis: usize, idx: &[i32], out: &Shape) -> Tensor {
    let (outer, len, inner) = t.shape().split_at_axis(axis);
    fn pick<T: Copy + Default>(v: &[T], outer: usize, len: usize, inner: usize, idx: &[i32]) -> Vec<T> {
        let mut y = Vec::with_capacity(outer * idx.len() * inner);
        for o in 0..outer {
            for &k in idx {
                match usize::try_from(k).ok().filter(|&k| k < len) {
                    Some(k) => y.extend_from_slice(&v[(o * len + k) * inner..(o * len + k + 1) * inner]),
                    None => y.extend(std::iter::repeat_n(T::default(), inner)),
                }
            }
        }
        y
    }
    let data = match t.data() {
        TensorData::F32(v) => TensorData::F32(pick(v, outer, len, inner, idx)),
        TensorData::I32(v) => TensorData::I32(pick(v, outer, len, inner, idx)),
        TensorData::U32(v) => TensorData::U32(pick(v, outer, len, inner, idx)),
        TensorData::F16(_) => unreachable!("inference refuses f16"),
    };
    Tensor::new(out.clone(), data).expect("gather produces numel elements")
}

/// Output dim `i` is input dim `perm[i]`.
pub(crate) fn transpose(t: &Tensor, perm: &[usize], out: &Shape) -> Tensor {
    let st = t.shape().strides();
    let pst: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    gather(t, out, |c| offset(c, &pst))
}

/// Concatenation along `axis`: for each outer index, each part's block in turn.
pub(crate) fn concat(parts: &[&Tensor], axis: usize, out: &Shape) -> Tensor {
    let (outer, _, inner) = out.split_at_axis(axis);
    let blocks: Vec<usize> = parts.iter().map(|t| t.shape().dims()[axis] * inner).collect();
    fn join<T: Clone>(parts: &[&[T]], blocks: &[usize], outer: usize) -> Vec<T> {
        let mut y = Vec::new();
        for o in 0..outer {
            for (p, &b) in parts.iter().zip(blocks) {
                y.extend_from_slice(&p[o * b..(o + 1) * b]);
            }
        }
        y
    }
    macro_rules! join_as {
        ($variant:ident) => {{
            let v: Vec<&[_]> = parts
                .iter()
                .map(|t| match t.data() {
                    TensorData::$variant(v) => v.as_slice(),
                    _ => unreachable!("inference checks equal dtypes"),
                })
                .collect();
            TensorData::$variant(join(&v, &blocks, outer))
        }};
    }
    let data = match parts[0].data() {
        TensorData::F32(_) => join_as!(F32),
        TensorData::F16(_) => join_as!(F16),
        TensorData::I32(_) => join_as!(I32),
        TensorData::U32(_) => join_as!(U32),
    };
    Tensor::new(out.clone(), data).expect("sizes add up")
}

/// Constant, reflect or edge padding.
pub(crate) fn pad(x: &[f32], sx: &Shape, pads: &[(usize, usize)], mode: PadMode, out: &Shape) -> Vec<f32> {
    let dims = out.dims();
    let st = sx.strides();
    let mut coord = vec![0usize; dims.len()];
    (0..out.numel())
        .map(|_| {
            let mut src = Some(0usize);
            for (d, &c) in coord.iter().enumerate() {
                let n = sx.dims()[d] as isize;
                let i = c as isize - pads[d].0 as isize;
                let j = match mode {
                    _ if (0..n).contains(&i) => Some(i),
                    PadMode::Constant(_) => None,
                    PadMode::Edge => Some(i.clamp(0, n - 1)),
                    PadMode::Reflect => Some(if i < 0 { -i } else { 2 * (n - 1) - i }),
                };
                src = match (src, j) {
                    (Some(s), Some(j)) => Some(s + j as usize * st[d]),
                    _ => None,
                };
            }
            for d in (0..dims.len()).rev() {
                coord[d] += 1;
                if coord[d] < dims[d] {
                    break;
                }
                coord[d] = 0;
            }
            match (src, mode) {
                (Some(s), _) => x[s],
                (None, PadMode::Constant(v)) => v,
                (None, _) => unreachable!("only constant padding leaves the input"),
            }
        })
        .collect()
}

/// f32 <-> f16 conversion (round to nearest even).
pub(crate) fn cast(t: &Tensor, to: DType) -> Tensor {
    let data = match (t.data(), to) {
        (TensorData::F32(v), DType::F16) => TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
        (TensorData::F16(v), DType::F32) => TensorData::F32(v.iter().map(|x| x.to_f32()).collect()),
        (d, _) => d.clone(),
    };
    Tensor::new(t.shape().clone(), data).expect("same numel")
}
