use ocelli_graph::{resolve_conv_padding, Conv2d, ConvTranspose2d, Shape};

/// NCHW convolution with stride, padding, dilation and groups; f64 accumulation.
pub(crate) fn conv2d(
    x: &[f32],
    sx: &Shape,
    w: &[f32],
    sw: &Shape,
    bias: Option<&[f32]>,
    p: &Conv2d,
    out: &Shape,
) -> Vec<f32> {
    let [n, c, h, wd] = dims4(sx);
    let [o, cg, kh, kw] = dims4(sw);
    let [_, _, oh, ow] = dims4(out);
    let pads = resolve_conv_padding(p, [h, wd], [kh, kw]);
    let og = o / p.groups;
    let mut y = vec![0f32; n * o * oh * ow];
    let mut acc = vec![0f64; oh * ow];
    for b in 0..n {
        for oc in 0..o {
            let g = oc / og;
            acc.fill(bias.map_or(0.0, |bb| f64::from(bb[oc])));
            // Each output sums its terms in (ic, ky, kx) order, as a plain loop nest would;
            // the loops run row by row so that the innermost walks one output row.
            for ic in 0..cg {
                let plane = &x[(b * c + g * cg + ic) * h * wd..][..h * wd];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let wv = f64::from(w[((oc * cg + ic) * kh + ky) * kw + kx]);
                        // Output columns whose input column lies inside the row.
                        let off = (kx * p.dilation[1]) as isize - pads[1] as isize;
                        let s = p.stride[1] as isize;
                        let first = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
                        let last = ((wd as isize - 1 - off).div_euclid(s) + 1).clamp(0, ow as isize);
                        if first >= last {
                            continue;
                        }
                        for oy in 0..oh {
                            let iy = (oy * p.stride[0] + ky * p.dilation[0]) as isize - pads[0] as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            let row = &plane[iy as usize * wd..][..wd];
                            let out = &mut acc[oy * ow..][..ow];
                            let (first, last) = (first as usize, last as usize);
                            if s == 1 {
                                let src = &row[(first as isize + off) as usize..][..last - first];
                                for (o, &xv) in out[first..last].iter_mut().zip(src) {
                                    *o += f64::from(xv) * wv;
                                }
                            } else {
                                for ox in first..last {
                                    out[ox] += f64::from(row[(ox as isize * s + off) as usize]) * wv;
                                }
                            }
                        }
                    }
                }
            }
            for (dst, &v) in y[(b * o + oc) * oh * ow..][..oh * ow].iter_mut().zip(&acc) {
                *dst = v as f32;
            }
        }
    }
    y
}

/// NCHW transposed convolution (PyTorch semantics) as a scatter; f64 accumulation.
pub(crate) fn conv_transpose2d(
    x: &[f32],
    sx: &Shape,
    w: &[f32],
    sw: &Shape,
    bias: Option<&[f32]>,
    p: &ConvTranspose2d,
    out: &Shape,
) -> Vec<f32> {
    let [n, c, h, wd] = dims4(sx);
    let [_, og, kh, kw] = dims4(sw);
    let [_, o, oh, ow] = dims4(out);
    let cg = c / p.groups;
    let mut acc = vec![0f64; n * o * oh * ow];
    for b in 0..n {
        for ci in 0..c {
            let g = ci / cg;
            for iy in 0..h {
                for ix in 0..wd {
                    let xv = f64::from(x[((b * c + ci) * h + iy) * wd + ix]);
                    for oj in 0..og {
                        let oc = g * og + oj;
                        for ky in 0..kh {
                            let oy = (iy * p.stride[0] + ky * p.dilation[0]) as isize - p.padding[0] as isize;
                            if oy < 0 || oy >= oh as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ox = (ix * p.stride[1] + kx * p.dilation[1]) as isize - p.padding[1] as isize;
                                if ox < 0 || ox >= ow as isize {
                                    continue;
                                }
                                let wv = f64::from(w[((ci * og + oj) * kh + ky) * kw + kx]);
                                acc[((b * o + oc) * oh + oy as usize) * ow + ox as usize] += xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    acc.iter()
        .enumerate()
        .map(|(i, &v)| (v + bias.map_or(0.0, |bb| f64::from(bb[(i / (oh * ow)) % o]))) as f32)
        .collect()
}

pub(crate) fn dims4(s: &Shape) -> [usize; 4] {
    let d = s.dims();
    [d[0], d[1], d[2], d[3]]
}
