//! The pixels `cv2.fillPoly` fills for a convex polygon with integer corners.

/// The `(y, x)` pixels of an `h`×`w` grid inside the convex quadrilateral `poly` (integer corners,
/// any order around it).
pub(crate) fn fill_quad(poly: &[[i64; 2]; 4], h: usize, w: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for y in 0..h as i64 {
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for i in 0..4 {
            let ([x0, y0], [x1, y1]) = (poly[i], poly[(i + 1) % 4]);
            if y < y0.min(y1) || y > y0.max(y1) {
                continue;
            }
            let xs = if y0 == y1 {
                [x0 as f64, x1 as f64]
            } else {
                let x = x0 as f64 + (y - y0) as f64 * (x1 - x0) as f64 / (y1 - y0) as f64;
                [x, x]
            };
            lo = lo.min(xs[0].min(xs[1]));
            hi = hi.max(xs[0].max(xs[1]));
        }
        if lo > hi {
            continue;
        }
        let (a, b) = ((lo - 0.5).ceil().max(0.0) as i64, (hi + 0.5).floor().min(w as f64 - 1.0) as i64);
        out.extend((a..=b).map(|x| (y as usize, x as usize)));
    }
    out
}
