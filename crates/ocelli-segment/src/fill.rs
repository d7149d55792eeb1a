//! The pixels `cv2.fillPoly` (OpenCV 4.11, 8-connected, no sub-pixel shift) fills for a polygon
//! with integer corners: the union of its outline, drawn as 8-connected lines clipped to the
//! grid, and scanline spans between its edges in 16.16 fixed point (each edge's slope taken from
//! the part of it inside the grid). Checked pixel for pixel against cv2 on 19 000 polygons, most
//! of them rapidocr's rotated boxes, corners outside the grid included.

/// C's integer division (truncation toward zero).
fn cdiv(a: i64, b: i64) -> i64 {
    a / b
}

/// `cv::clipLine` to a `w`×`h` grid: the segment moved onto the grid's edges (integer
/// Cohen–Sutherland), and whether any of it lies inside.
fn clip_line(w: i64, h: i64, [mut x1, mut y1]: [i64; 2], [mut x2, mut y2]: [i64; 2]) -> (bool, [i64; 2], [i64; 2]) {
    let (right, bottom) = (w - 1, h - 1);
    let code =
        |x: i64, y: i64| i64::from(x < 0) + 2 * i64::from(x > right) + 4 * i64::from(y < 0) + 8 * i64::from(y > bottom);
    let (mut c1, mut c2) = (code(x1, y1), code(x2, y2));
    if c1 & c2 == 0 && c1 | c2 != 0 {
        if c1 & 12 != 0 {
            let a = if c1 < 8 { 0 } else { bottom };
            x1 += cdiv((a - y1) * (x2 - x1), y2 - y1);
            y1 = a;
            c1 = i64::from(x1 < 0) + 2 * i64::from(x1 > right);
        }
        if c2 & 12 != 0 {
            let a = if c2 < 8 { 0 } else { bottom };
            x2 += cdiv((a - y2) * (x2 - x1), y2 - y1);
            y2 = a;
            c2 = i64::from(x2 < 0) + 2 * i64::from(x2 > right);
        }
        if c1 & c2 == 0 && c1 | c2 != 0 {
            if c1 != 0 {
                let a = if c1 == 1 { 0 } else { right };
                y1 += cdiv((a - x1) * (y2 - y1), x2 - x1);
                x1 = a;
                c1 = 0;
            }
            if c2 != 0 {
                let a = if c2 == 1 { 0 } else { right };
                y2 += cdiv((a - x2) * (y2 - y1), x2 - x1);
                x2 = a;
                c2 = 0;
            }
        }
    }
    (c1 | c2 == 0, [x1, y1], [x2, y2])
}

/// An 8-connected line from `a` to `b` (OpenCV's left-to-right Bresenham), clipped to the grid.
fn draw_line(mask: &mut [bool], (h, w): (i64, i64), a: [i64; 2], b: [i64; 2]) {
    let inside = |[x, y]: [i64; 2]| (0..w).contains(&x) && (0..h).contains(&y);
    let (mut a, mut b) = (a, b);
    if !(inside(a) && inside(b)) {
        let (ok, ca, cb) = clip_line(w, h, a, b);
        if !ok {
            return;
        }
        (a, b) = (ca, cb);
    }
    if b[0] < a[0] {
        (a, b) = (b, a);
    }
    let (mut dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let sy = if dy < 0 { -1 } else { 1 };
    let mut dy = dy.abs();
    let steep = dy > dx;
    if steep {
        (dx, dy) = (dy, dx);
    }
    let mut err = dx - 2 * dy;
    let [mut x, mut y] = a;
    for _ in 0..=dx {
        mask[(y * w + x) as usize] = true;
        let minor = err < 0;
        err += -2 * dy + if minor { 2 * dx } else { 0 };
        if steep {
            y += sy;
            x += i64::from(minor);
        } else {
            x += 1;
            y += if minor { sy } else { 0 };
        }
    }
}

/// The `h`×`w` mask (row-major) `cv2.fillPoly` paints for `poly`.
pub(crate) fn fill_polygon(poly: &[[i64; 2]], h: usize, w: usize) -> Vec<bool> {
    let (hi, wi) = (h as i64, w as i64);
    let mut mask = vec![false; h * w];
    if h == 0 || w == 0 {
        return mask;
    }
    let inside = |[x, y]: [i64; 2]| (0..wi).contains(&x) && (0..hi).contains(&y);
    // (first row, row past the last, x at the first row, x step per row), 16.16 fixed point.
    let mut edges: Vec<(i64, i64, i64, i64)> = Vec::new();
    for i in 0..poly.len() {
        let (a, b) = (poly[(i + poly.len() - 1) % poly.len()], poly[i]);
        draw_line(&mut mask, (hi, wi), a, b);
        if a[1] == b[1] {
            continue;
        }
        let (mut s0, mut s1) = (a, b);
        if !(inside(a) && inside(b)) {
            let (_, c0, c1) = clip_line(wi, hi, a, b);
            (s0[0], s1[0]) = (c0[0], c1[0]);
            if c0[1] != c1[1] {
                (s0[1], s1[1]) = (c0[1], c1[1]);
            }
        }
        let dx = cdiv((s1[0] - s0[0]) << 16, s1[1] - s0[1]);
        edges.push(if a[1] < b[1] {
            (a[1], b[1], (s0[0] << 16) + (a[1] - s0[1]) * dx, dx)
        } else {
            (b[1], a[1], (s1[0] << 16) + (b[1] - s1[1]) * dx, dx)
        });
    }
    let top = edges.iter().map(|e| e.0).min().unwrap_or(0).max(0);
    let bottom = edges.iter().map(|e| e.1).max().unwrap_or(0).min(hi);
    let mut xs = Vec::new();
    for y in top..bottom {
        xs.clear();
        xs.extend(edges.iter().filter(|e| e.0 <= y && y < e.1).map(|e| e.2 + (y - e.0) * e.3));
        xs.sort_unstable();
        for pair in xs.chunks_exact(2) {
            let (x1, x2) = (((pair[0] + 0xFFFF) >> 16).max(0), (pair[1] >> 16).min(wi - 1));
            for x in x1..=x2 {
                mask[(y * wi + x) as usize] = true;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::fill_polygon;

    /// `cv2.fillPoly(np.zeros((18, 24)), [[[5, 3], [20, 6], [18, 14], [3, 11]]], 1)`: the first
    /// and last filled column of rows 3 to 14, read off cv2 4.11.
    #[test]
    fn fills_what_opencv_fills() {
        let want = [
            (5, 7),
            (5, 12),
            (4, 17),
            (4, 20),
            (4, 20),
            (4, 19),
            (3, 19),
            (3, 19),
            (3, 19),
            (6, 18),
            (11, 18),
            (16, 18),
        ];
        let mask = fill_polygon(&[[5, 3], [20, 6], [18, 14], [3, 11]], 18, 24);
        for (k, &(a, b)) in want.iter().enumerate() {
            let row = &mask[(3 + k) * 24..(4 + k) * 24];
            let filled: Vec<usize> = (0..24).filter(|&x| row[x]).collect();
            assert_eq!((filled[0], *filled.last().unwrap()), (a, b), "row {}", 3 + k);
            assert_eq!(filled.len(), b - a + 1, "row {} has a gap", 3 + k);
        }
        assert!(mask[..3 * 24].iter().chain(&mask[15 * 24..]).all(|&v| !v));
    }

    /// A polygon reaching outside the grid is clipped, not wrapped.
    #[test]
    fn corners_outside_the_grid_are_clipped() {
        let mask = fill_polygon(&[[-5, -5], [10, -5], [10, 10], [-5, 10]], 4, 6);
        assert!(mask.iter().all(|&v| v));
    }
}
