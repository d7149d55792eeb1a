use ocelli::{DType, GraphBuilder, Op, PadMode, Tensor};

use crate::harness::{check, rng, uniform, EXACT, F16};

#[test]
fn concat_on_every_axis_with_uneven_parts() {
    let mut r = rng(71);
    for axis in 0..3 {
        let mut shapes = [vec![2, 3, 5], vec![2, 3, 5], vec![2, 3, 5]];
        for (i, s) in shapes.iter_mut().enumerate() {
            s[axis] = i + 1;
        }
        let mut g = GraphBuilder::new();
        let ins: Vec<_> =
            shapes.iter().enumerate().map(|(i, s)| g.input(&format!("x{i}"), s.clone(), DType::F32).unwrap()).collect();
        let y = g.op(Op::Concat { axis }, &ins).unwrap();
        let graph = g.build(&[y]).unwrap();
        let data: Vec<_> = shapes.iter().map(|s| uniform(&mut r, s, -1.0, 1.0)).collect();
        check(&format!("concat axis {axis}"), &graph, &data, EXACT);
    }
    // Parts whose rows are whole groups of 4 words at aligned offsets (`strided_copy4`), the
    // second over 600 000 words; output rows of 11 words keep the word kernel.
    let cases: [&[[usize; 4]]; 3] = [
        &[[2, 3, 4, 8], [2, 5, 4, 8]],
        &[[1, 3, 300, 400], [1, 2, 300, 400]],
        &[[2, 1, 1, 4], [2, 1, 1, 3], [2, 1, 1, 4]],
    ];
    for shapes in cases {
        let axis = if shapes[0][1] == 1 { 3 } else { 1 };
        let mut g = GraphBuilder::new();
        let ins: Vec<_> =
            shapes.iter().enumerate().map(|(i, s)| g.input(&format!("x{i}"), *s, DType::F32).unwrap()).collect();
        let y = g.op(Op::Concat { axis }, &ins).unwrap();
        let graph = g.build(&[y]).unwrap();
        let data: Vec<_> = shapes.iter().map(|s| uniform(&mut r, s, -1.0, 1.0)).collect();
        check(&format!("concat {shapes:?} axis {axis}"), &graph, &data, EXACT);
    }
}

#[test]
fn slice_with_steps_and_clamped_ends() {
    let mut r = rng(72);
    for (axis, start, end, step) in [(0, 0, 1, 1), (1, 1, 6, 2), (2, 3, 100, 3), (2, 0, 7, 1), (1, 5, 6, 4)] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [2, 6, 7], DType::F32).unwrap();
        let y = g.op(Op::Slice { axis, start, end, step }, &[x]).unwrap();
        let graph = g.build(&[y]).unwrap();
        check(
            &format!("slice axis {axis} {start}..{end} step {step}"),
            &graph,
            &[uniform(&mut r, &[2, 6, 7], -1.0, 1.0)],
            EXACT,
        );
    }
    // Rows of 8: slices of whole aligned groups of 4 words run `strided_copy4`, others not.
    for (axis, start, end, step) in [(2, 4, 8, 1), (1, 2, 5, 1), (2, 2, 8, 1), (1, 0, 6, 2)] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [2, 6, 8], DType::F32).unwrap();
        let y = g.op(Op::Slice { axis, start, end, step }, &[x]).unwrap();
        let what = format!("slice [2, 6, 8] axis {axis} {start}..{end} step {step}");
        check(&what, &g.build(&[y]).unwrap(), &[uniform(&mut r, &[2, 6, 8], -1.0, 1.0)], EXACT);
    }
}

#[test]
fn transpose_and_reshape() {
    let mut r = rng(73);
    for (shape, perm) in [
        (&[5][..], &[0][..]),
        (&[3, 4][..], &[1, 0][..]),
        (&[2, 3, 4, 5][..], &[0, 2, 3, 1][..]),
        (&[2, 1, 3, 1, 2][..], &[4, 3, 2, 1, 0][..]),
        // Keeping rows of 8 in place: copied in 4-word units.
        (&[2, 3, 8][..], &[1, 0, 2][..]),
    ] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", shape, DType::F32).unwrap();
        let t = g.op(Op::Transpose { perm: perm.to_vec() }, &[x]).unwrap();
        let numel: usize = shape.iter().product();
        let flat = g.op(Op::Reshape { shape: vec![numel] }, &[t]).unwrap();
        let graph = g.build(&[t, flat]).unwrap();
        check(&format!("transpose {shape:?} {perm:?}"), &graph, &[uniform(&mut r, shape, -1.0, 1.0)], EXACT);
    }
}

#[test]
fn pad_constant_reflect_and_edge() {
    let mut r = rng(74);
    for mode in [PadMode::Constant(0.0), PadMode::Constant(-3.5), PadMode::Reflect, PadMode::Edge] {
        for (shape, pads) in [
            (&[1][..], vec![(0, 0)]),
            (&[5][..], vec![(2, 3)]),
            (&[2, 3, 4, 5][..], vec![(0, 0), (0, 1), (2, 1), (1, 3)]),
            (&[1, 1, 6, 6][..], vec![(0, 0), (0, 0), (3, 3), (5, 0)]),
        ] {
            let mut g = GraphBuilder::new();
            let x = g.input("x", shape, DType::F32).unwrap();
            let y = g.op(Op::Pad { pads: pads.clone(), mode }, &[x]).unwrap();
            let graph = g.build(&[y]).unwrap();
            check(&format!("pad {shape:?} {pads:?} {mode:?}"), &graph, &[uniform(&mut r, shape, -1.0, 1.0)], EXACT);
        }
    }
}

#[test]
fn cast_f32_to_f16_and_back_odd_and_even_lengths() {
    let mut r = rng(75);
    for n in [1usize, 2, 7, 256, 1001] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [n], DType::F32).unwrap();
        let h = g.op(Op::Cast { to: DType::F16 }, &[x]).unwrap();
        let back = g.op(Op::Cast { to: DType::F32 }, &[h]).unwrap();
        let graph = g.build(&[h, back]).unwrap();
        check(&format!("cast f32->f16->f32 n{n}"), &graph, &[uniform(&mut r, &[n], -100.0, 100.0)], F16);
    }
    // An f16 graph input goes up packed and comes back through the GPU unchanged.
    let mut g = GraphBuilder::new();
    let x = g.input("x", [3], DType::F16).unwrap();
    let y = g.op(Op::Cast { to: DType::F32 }, &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let halves: Vec<half::f16> = [0.5f32, -1.25, 65504.0].iter().map(|&v| half::f16::from_f32(v)).collect();
    check("cast f16 input", &graph, &[Tensor::from_f16([3], halves).unwrap()], EXACT);
}

#[test]
fn f16_casts_need_no_shader_f16_and_say_which_path_runs() {
    for gpu in crate::harness::gpus() {
        let caps = gpu.gpu().capabilities();
        let backend = gpu.gpu().adapter_info().backend;
        if backend == ocelli::wgpu::Backend::Gl {
            assert!(!caps.shader_f16, "llvmpipe GL has no shader-f16; this test documents the fallback");
        }
        eprintln!(
            "{}: shader-f16 {}; f16 tensors are stored packed two per u32 and converted with pack2x16float, \
             so casts run the same way with or without it",
            ocelli::Backend::name(gpu),
            if caps.shader_f16 { "present" } else { "absent" }
        );
    }
    let mut g = GraphBuilder::new();
    let x = g.input("x", [5], DType::F32).unwrap();
    let h = g.op(Op::Cast { to: DType::F16 }, &[x]).unwrap();
    let graph = g.build(&[h]).unwrap();
    let t = Tensor::from_f32([5], vec![1.0, -0.333_333, 65504.0, 6.0e-8, 1.0e-3]).unwrap();
    check("cast f32->f16 special values", &graph, &[t], F16);
}

/// Gather along every axis of f32 and i32 data, indices of several shapes with repeats, −1 and
/// past-the-end entries (zeros), and a long axis of 300 000 picked from 250 007 indices. The
/// first case is checked against values written out by hand, so the reference is checked too.
#[test]
fn gather_along_every_axis_with_out_of_range_indices() {
    use rand::Rng;
    let mut r = rng(77);
    let graph = |shape: &[usize], dtype: DType, idx: &[usize], axis: usize| {
        let mut g = GraphBuilder::new();
        let x = g.input("x", shape.to_vec(), dtype).unwrap();
        let i = g.input("i", idx.to_vec(), DType::I32).unwrap();
        let y = g.op(Op::Gather { axis }, &[x, i]).unwrap();
        g.build(&[y]).unwrap()
    };
    let x = Tensor::from_f32([2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let idx = Tensor::from_i32([4], vec![2, -1, 0, 3]).unwrap();
    let want = [3.0, 0.0, 1.0, 0.0, 6.0, 0.0, 4.0, 0.0];
    let got =
        ocelli::Backend::run(&ocelli::CpuBackend, &graph(&[2, 3], DType::F32, &[4], 1), &[x.clone(), idx.clone()])
            .unwrap();
    assert_eq!(got[0].shape().dims(), [2, 4]);
    assert_eq!(got[0].as_f32().unwrap(), want);
    check("gather by hand", &graph(&[2, 3], DType::F32, &[4], 1), &[x, idx], EXACT);
    for (shape, axis, idx_shape) in [
        (vec![5], 0, vec![3]),
        (vec![4, 7, 3], 0, vec![2, 5]),
        (vec![4, 7, 3], 1, vec![9]),
        (vec![4, 7, 3], 2, vec![1, 1, 4]),
        (vec![300_000], 0, vec![250_007]),
    ] {
        let len = shape[axis] as i32;
        let n: usize = idx_shape.iter().product();
        let idx: Vec<i32> = (0..n).map(|_| r.random_range(-2..len + 2)).collect();
        let idx = Tensor::from_i32(idx_shape.clone(), idx).unwrap();
        let data = uniform(&mut r, &shape, -1.0, 1.0);
        check(
            &format!("gather f32 {shape:?} axis {axis} by {idx_shape:?}"),
            &graph(&shape, DType::F32, &idx_shape, axis),
            &[data, idx.clone()],
            EXACT,
        );
        let n_data: usize = shape.iter().product();
        let ints = Tensor::from_i32(shape.clone(), (0..n_data as i32).map(|v| v * 7 - 3).collect()).unwrap();
        check(
            &format!("gather i32 {shape:?} axis {axis}"),
            &graph(&shape, DType::I32, &idx_shape, axis),
            &[ints, idx],
            EXACT,
        );
    }
}
