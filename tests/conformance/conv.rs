use ocelli::{BinaryOp, CompileOptions, Conv2d, ConvTranspose2d, DType, GraphBuilder, Op, Padding, UnaryOp};

use crate::harness::{check_with, operand_paths, rng, uniform, ACCUM};

/// Runs `op` on random x `[..]`, weight `w_shape` and (optionally) a bias of `o` channels, with
/// the weights as a graph input and as a constant (as models hold them: the plan may then pad
/// or transform them at compile time).
fn run(seed: u64, x: [usize; 4], w_shape: [usize; 4], o: usize, op: Op, bias: bool) {
    run_within(seed, x, w_shape, o, op, bias, CompileOptions::SCRATCH_LIMIT);
}

/// [`run`] with plans whose scratch buffers stay within `scratch_limit` bytes.
fn run_within(seed: u64, x: [usize; 4], w_shape: [usize; 4], o: usize, op: Op, bias: bool, scratch_limit: u64) {
    let mut r = rng(seed);
    let (xd, wd) = (uniform(&mut r, &x, -1.0, 1.0), uniform(&mut r, &w_shape, -1.0, 1.0));
    let bd = bias.then(|| uniform(&mut r, &[o], -1.0, 1.0));
    for constant_weights in [false, true] {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let mut data = vec![xd.clone()];
        let wi = if constant_weights {
            g.constant(wd.clone()).unwrap()
        } else {
            data.push(wd.clone());
            g.input("w", w_shape, DType::F32).unwrap()
        };
        let mut ins = vec![xi, wi];
        if let Some(b) = &bd {
            ins.push(g.input("b", [o], DType::F32).unwrap());
            data.push(b.clone());
        }
        let what = format!("{op:?} x{x:?} w{w_shape:?} bias{bias} constant weights {constant_weights}");
        let y = g.op(op.clone(), &ins).unwrap();
        // loop_chunk 3: direct and transposed convolutions take one input channel per
        // dispatch, GEMMs parts of 32 along K, all chained through their residual.
        let split = CompileOptions { loop_chunk: 3, ..Default::default() };
        let options: Vec<CompileOptions> =
            operand_paths().into_iter().chain([split]).map(|o| CompileOptions { scratch_limit, ..o }).collect();
        check_with(&what, &g.build(&[y]).unwrap(), &data, ACCUM, &options);
    }
}

fn run_conv(seed: u64, x: [usize; 4], o: usize, k: [usize; 2], p: Conv2d, bias: bool) {
    run(seed, x, [o, x[1] / p.groups, k[0], k[1]], o, Op::Conv2d(p), bias);
}

#[test]
fn conv2d_plain_strided_padded_and_dilated() {
    let c = |stride, pad, dil| Conv2d { stride, padding: Padding::Explicit(pad), dilation: dil, groups: 1 };
    run_conv(1, [1, 1, 1, 1], 1, [1, 1], Conv2d::default(), false);
    run_conv(2, [1, 3, 7, 9], 5, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(3, [2, 4, 10, 13], 6, [3, 3], c([2, 2], [1, 1, 1, 1], [1, 1]), true);
    run_conv(4, [1, 5, 11, 11], 7, [5, 3], c([1, 2], [2, 1, 2, 1], [1, 1]), false);
    run_conv(5, [1, 3, 12, 12], 4, [3, 3], c([1, 1], [2, 2, 2, 2], [2, 2]), true);
    run_conv(6, [1, 8, 6, 6], 9, [1, 1], Conv2d::default(), true);
    // 1×1 over 7×7 planes: x copied into rows padded to 52 for the aligned GEMM.
    run_conv(26, [2, 12, 7, 7], 10, [1, 1], Conv2d::default(), true);
    run_conv(7, [2, 2, 9, 8], 3, [3, 3], c([2, 2], [0, 0, 1, 1], [1, 1]), false);
    // 40 output columns: im2col rows in segments when loop_chunk is forced down.
    run_conv(27, [1, 3, 5, 40], 5, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    // 3×3 stride 1 with 8 or more input channels: Winograd F(4×4, 3×3), odd sizes (partial tiles).
    run_conv(8, [1, 8, 9, 11], 12, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(9, [2, 16, 7, 6], 8, [3, 3], c([1, 1], [0, 2, 1, 0], [1, 1]), false);
    run_conv(10, [1, 9, 5, 5], 10, [3, 3], c([1, 1], [2, 2, 2, 2], [1, 1]), true);
    // Winograd down to one output channel (a U-Net's output conv) and 3.
    run_conv(45, [3, 16, 9, 7], 1, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(46, [2, 8, 6, 11], 3, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), false);
    // Output planes 2 wide: F(2×2, 3×3), with a partial tile row.
    run_conv(48, [2, 8, 2, 2], 5, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(49, [1, 10, 7, 2], 4, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), false);
    // A long plane: 120 300 outputs per channel, 7 575 tiles; and rows of whole tiles (the
    // output transform's vector rows), 120 000 outputs per channel.
    run_conv(50, [1, 8, 300, 401], 8, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(51, [2, 8, 10, 12], 6, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), true);
    run_conv(52, [1, 8, 300, 400], 4, [3, 3], c([1, 1], [1, 1, 1, 1], [1, 1]), false);
}

/// Winograd convolutions with their fused epilogue (bias, residual, ReLU6) in the output
/// transform.
#[test]
fn winograd_conv_with_fused_epilogue() {
    let mut r = rng(20);
    let o = 12;
    let same = Conv2d { padding: Padding::Same, ..Default::default() };
    let winograd = |x_shape: [usize; 4]| {
        let mut g = GraphBuilder::new();
        let x = g.input("x", x_shape, DType::F32).unwrap();
        let w = g.input("w", [o, 12, 3, 3], DType::F32).unwrap();
        let b = g.input("b", [o], DType::F32).unwrap();
        let y = g.op(Op::Conv2d(same), &[x, w, b]).unwrap();
        let y = g.op(Op::Binary(BinaryOp::Add), &[y, x]).unwrap();
        let y = g.op(Op::Unary(UnaryOp::Relu6), &[y]).unwrap();
        g.build(&[y]).unwrap()
    };
    // Rows of 7 and of 8 (whole tiles: the residual read and y written as vectors).
    for x_shape in [[2, 12, 9, 8], [2, 12, 10, 7]] {
        let data = vec![
            uniform(&mut r, &x_shape, -2.0, 2.0),
            uniform(&mut r, &[o, 12, 3, 3], -0.5, 0.5),
            uniform(&mut r, &[o], -1.0, 1.0),
        ];
        let what = format!("winograd conv + bias + residual + relu6 over {x_shape:?}");
        check_with(&what, &winograd(x_shape), &data, ACCUM, &operand_paths());
    }
    let x_shape = [2, 12, 10, 7];
    // The same epilogue on a grouped (direct) convolution, also split into one dispatch per
    // input channel: bias and residual in the first, ReLU6 in the last.
    let mut g = GraphBuilder::new();
    let x = g.input("x", x_shape, DType::F32).unwrap();
    let w = g.input("w", [o, 4, 3, 3], DType::F32).unwrap();
    let b = g.input("b", [o], DType::F32).unwrap();
    let grouped = Conv2d { padding: Padding::Same, groups: 3, ..Default::default() };
    let y = g.op(Op::Conv2d(grouped), &[x, w, b]).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Add), &[y, x]).unwrap();
    let y = g.op(Op::Unary(UnaryOp::Relu6), &[y]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let data = vec![
        uniform(&mut r, &x_shape, -2.0, 2.0),
        uniform(&mut r, &[o, 4, 3, 3], -0.5, 0.5),
        uniform(&mut r, &[o], -1.0, 1.0),
    ];
    let split = CompileOptions { loop_chunk: 3, ..Default::default() };
    check_with("grouped conv + bias + residual + relu6", &graph, &data, ACCUM, &[CompileOptions::default(), split]);
}

#[test]
fn conv2d_same_padding_grouped_and_depthwise() {
    let same = |stride, groups| Conv2d { stride: [stride, stride], padding: Padding::Same, dilation: [1, 1], groups };
    run_conv(11, [1, 3, 9, 9], 4, [3, 3], same(2, 1), true);
    run_conv(12, [1, 4, 10, 10], 6, [5, 5], same(2, 1), false);
    run_conv(13, [2, 6, 7, 5], 9, [3, 3], same(1, 3), true);
    run_conv(14, [1, 8, 9, 9], 8, [3, 3], same(1, 8), true);
    run_conv(15, [1, 5, 13, 7], 10, [3, 3], same(2, 5), false);
    // Depthwise (one channel per group) with stride 2, a 5x5 window and dilation.
    run_conv(16, [2, 16, 11, 7], 16, [3, 3], same(2, 16), true);
    run_conv(17, [1, 6, 10, 13], 6, [5, 5], same(1, 6), false);
    let dilated = Conv2d { stride: [1, 1], padding: Padding::Explicit([2, 2, 2, 2]), dilation: [2, 2], groups: 4 };
    run_conv(18, [1, 4, 9, 9], 4, [3, 3], dilated, true);
    // Taps too far apart for one 16-input window (3 + 3·2 + 4·2 >= 16): the per-tap path.
    let wide = Conv2d { stride: [2, 2], padding: Padding::Explicit([4, 4, 3, 5]), dilation: [2, 2], groups: 3 };
    run_conv(19, [1, 3, 17, 19], 3, [5, 5], wide, true);
}

/// Convolutions whose scratch exceeds the limit run in bands: Winograd over bands of whole
/// images, im2col + GEMM pairs over bands of whole images or of output rows, with the bias,
/// residual and ReLU6 fused into each band's output transform or GEMM, also with K in parts; a
/// limit below one output row runs the direct kernel.
#[test]
fn conv2d_in_bands_of_images_and_output_rows() {
    let mut r = rng(28);
    // [3, 8, 13, 21] → 8 channels, 3×3 same: Winograd needs 27.6 kB per image (4·6 tiles of
    // 4×4), im2col 72 patch rows of 276 columns, 79 kB. 60 kB: Winograd in bands of 2 and 1
    // images; 20 kB: im2col in bands of 3 output rows (3, 3, 3, 3, 1); 64 B: direct.
    let (x_shape, o) = ([3, 8, 13, 21], 8);
    let limits = [60_000, 20_480, 64];
    for constant_weights in [false, true] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", x_shape, DType::F32).unwrap();
        let wd = uniform(&mut r, &[o, 8, 3, 3], -0.5, 0.5);
        let mut data = vec![uniform(&mut r, &x_shape, -2.0, 2.0)];
        let w = if constant_weights {
            g.constant(wd).unwrap()
        } else {
            data.push(wd);
            g.input("w", [o, 8, 3, 3], DType::F32).unwrap()
        };
        let b = g.input("b", [o], DType::F32).unwrap();
        data.push(uniform(&mut r, &[o], -1.0, 1.0));
        let same = Conv2d { padding: Padding::Same, ..Default::default() };
        let y = g.op(Op::Conv2d(same), &[x, w, b]).unwrap();
        let y = g.op(Op::Binary(BinaryOp::Add), &[y, x]).unwrap();
        let y = g.op(Op::Unary(UnaryOp::Relu6), &[y]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let options: Vec<CompileOptions> = limits
            .iter()
            .flat_map(|&scratch_limit| {
                let banded = CompileOptions { scratch_limit, ..Default::default() };
                [banded, CompileOptions { texel_operands: false, ..banded }, CompileOptions { loop_chunk: 3, ..banded }]
            })
            .collect();
        let what = format!("banded conv + bias + residual + relu6, constant weights {constant_weights}");
        check_with(&what, &graph, &data, ACCUM, &options);
    }
    // Strided, dilated and unpadded shapes, 5 images: 2 per band at 25 kB, 2 rows per band at 1 kB.
    let c = |stride, pad, dil| Conv2d { stride, padding: Padding::Explicit(pad), dilation: dil, groups: 1 };
    let cases = [
        ([5, 3, 9, 11], 6, c([1, 1], [1, 1, 1, 1], [1, 1])),
        ([2, 4, 23, 37], 5, c([2, 2], [1, 0, 1, 2], [1, 1])),
        ([1, 3, 17, 15], 4, c([1, 1], [2, 2, 2, 2], [2, 2])),
    ];
    for (seed, (x, o, p)) in (29..).zip(cases) {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let wi = g.input("w", [o, x[1], 3, 3], DType::F32).unwrap();
        let y = g.op(Op::Conv2d(p), &[xi, wi]).unwrap();
        let mut r = rng(seed);
        let data = [uniform(&mut r, &x, -1.0, 1.0), uniform(&mut r, &[o, x[1], 3, 3], -1.0, 1.0)];
        let options = [25_000, 1024].map(|scratch_limit| CompileOptions { scratch_limit, ..Default::default() });
        check_with(&format!("banded conv x{x:?} {p:?}"), &g.build(&[y]).unwrap(), &data, ACCUM, &options);
    }
}

/// Winograd in bands of images with K in parts: 40 → 10 channels over [3, 40, 9, 7] need 69.1 kB
/// of transformed inputs for 2 images (12 tiles of 4×4); at 80 kB bands of 2 and 1 images, and at
/// loop_chunk 3 each band's GEMM chains two parts of K through a buffer all bands share.
#[test]
fn winograd_in_bands_with_k_in_parts() {
    let same = Conv2d { padding: Padding::Same, ..Default::default() };
    run_within(47, [3, 40, 9, 7], [10, 40, 3, 3], 10, Op::Conv2d(same), true, 80_000);
    // Rows of 8: the second band's output rows written as vectors from image 2 on.
    run_within(53, [3, 40, 9, 8], [10, 40, 3, 3], 10, Op::Conv2d(same), true, 80_000);
}

/// At the default 64 MiB limit: 16 → 8 channels, 3×3 dilated by 2 over 345×345 (119 025
/// outputs per channel, a 68.6 MB patch matrix) runs as two bands of output rows.
#[test]
fn conv2d_over_a_long_plane_in_two_bands_at_the_default_limit() {
    let mut r = rng(32);
    let (x_shape, w_shape) = ([1, 16, 345, 345], [8, 16, 3, 3]);
    let mut g = GraphBuilder::new();
    let x = g.input("x", x_shape, DType::F32).unwrap();
    let w = g.constant(uniform(&mut r, &w_shape, -0.5, 0.5)).unwrap();
    let b = g.constant(uniform(&mut r, &[8], -0.5, 0.5)).unwrap();
    let p = Conv2d { padding: Padding::Explicit([2; 4]), dilation: [2, 2], ..Default::default() };
    let y = g.op(Op::Conv2d(p), &[x, w, b]).unwrap();
    let data = [uniform(&mut r, &x_shape, -1.0, 1.0)];
    check_with("conv over 345×345 in two bands", &g.build(&[y]).unwrap(), &data, ACCUM, &operand_paths());
}

fn run_conv_t(seed: u64, x: [usize; 4], o: usize, k: [usize; 2], p: ConvTranspose2d, bias: bool) {
    run(seed, x, [x[1], o / p.groups, k[0], k[1]], o, Op::ConvTranspose2d(p), bias);
}

#[test]
fn conv_transpose2d_over_strides_padding_output_padding_and_groups() {
    let p = |stride, padding, output_padding, dilation, groups| ConvTranspose2d {
        stride,
        padding,
        output_padding,
        dilation,
        groups,
    };
    run_conv_t(21, [1, 1, 1, 1], 1, [1, 1], ConvTranspose2d::default(), false);
    run_conv_t(22, [1, 3, 5, 5], 4, [3, 3], p([2, 2], [1, 1], [1, 1], [1, 1], 1), true);
    run_conv_t(23, [2, 4, 4, 7], 6, [4, 4], p([2, 2], [1, 1], [0, 0], [1, 1], 2), true);
    run_conv_t(24, [1, 2, 6, 5], 3, [3, 2], p([3, 2], [0, 1], [2, 1], [1, 1], 1), false);
    run_conv_t(25, [1, 4, 5, 5], 4, [3, 3], p([1, 1], [2, 2], [0, 0], [2, 2], 4), true);
    // Kernel = stride (the DB head's 2×2 upsampling), 40 channels: K in two parts of 32 with
    // loop_chunk 3; odd planes, two images.
    run_conv_t(33, [2, 40, 5, 7], 6, [2, 2], p([2, 2], [0, 0], [0, 0], [1, 1], 1), true);
    run_conv_t(34, [1, 9, 7, 3], 5, [4, 4], p([2, 2], [1, 1], [1, 1], [1, 1], 1), false);
    run_conv_t(35, [3, 5, 4, 5], 7, [3, 3], p([3, 2], [1, 0], [0, 1], [2, 1], 1), true);
}

/// The GEMM + col2im path over a long plane (the DB head's 24 → 24 channels, 2×2 stride 2, to
/// 368×736: 270 848 outputs per channel), and the direct kernel when the column matrix is over
/// the scratch limit.
#[test]
fn conv_transpose2d_over_a_long_plane_and_past_the_scratch_limit() {
    let mut r = rng(36);
    let p = ConvTranspose2d { stride: [2, 2], ..Default::default() };
    let (x_shape, w_shape) = ([1, 24, 184, 368], [24, 24, 2, 2]);
    let mut g = GraphBuilder::new();
    let x = g.input("x", x_shape, DType::F32).unwrap();
    let w = g.constant(uniform(&mut r, &w_shape, -0.5, 0.5)).unwrap();
    let b = g.constant(uniform(&mut r, &[24], -0.5, 0.5)).unwrap();
    let y = g.op(Op::ConvTranspose2d(p), &[x, w, b]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let data = [uniform(&mut r, &x_shape, -1.0, 1.0)];
    let direct = CompileOptions { scratch_limit: 1 << 20, ..Default::default() };
    let options: Vec<CompileOptions> = operand_paths().into_iter().chain([direct]).collect();
    check_with("conv_transpose 24→24 2×2/2 to 368×736", &graph, &data, ACCUM, &options);
}
