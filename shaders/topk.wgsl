// Top-k along the last axis, f32: the k largest (LARGEST) or smallest entries of every row,
// best first, ties by lower index, with their indices.
//
// Bindings: x [rows, len] (read), values [rows, k] (write), indices [rows, k] (write, i32),
// TopKParams. Grid: one invocation per row, linearised over gid.x + gid.y · nwg.x · WG; the
// invocation keeps a sorted list of at most 32 in registers and insertion-sorts each element
// that beats its last entry (strictly, so earlier indices win ties).
// Variants: LARGEST, WG.

override LARGEST: bool = true;
override WG: u32 = 64u;

struct TopKParams {
    rows: u32,
    len: u32,
    k: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> indices: array<i32>;
@group(0) @binding(3) var<uniform> p: TopKParams;

fn better(a: f32, b: f32) -> bool {
    return select((a < b), (a > b), LARGEST);
}

@compute @workgroup_size(WG)
fn top_k(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * WG;
    if (row >= p.rows) {
        return;
    }
    var best_v: array<f32, 32>;
    var best_i: array<u32, 32>;
    var count = 0u;
    let base = row * p.len;
    for (var i = 0u; i < p.len; i++) {
        let v = x[base + i];
        if (count == p.k && !better(v, best_v[p.k - 1u])) {
            continue;
        }
        // Shift worse entries down and insert.
        var j = min(count, p.k - 1u);
        while (j > 0u && better(v, best_v[j - 1u])) {
            best_v[j] = best_v[j - 1u];
            best_i[j] = best_i[j - 1u];
            j--;
        }
        best_v[j] = v;
        best_i[j] = i;
        count = min(count + 1u, p.k);
    }
    for (var j = 0u; j < p.k; j++) {
        values[row * p.k + j] = best_v[j];
        indices[row * p.k + j] = i32(best_i[j]);
    }
}
