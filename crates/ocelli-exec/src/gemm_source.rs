//! The GEMM entry points of `shaders/gemm.wgsl`, generated with every loop over the register
//! block unrolled. A WGSL loop over an array of accumulators leaves the unrolling to the
//! driver; lavapipe does not unroll a 32-row block, keeps the array in memory and spends half
//! of a GEMM's time in masked per-lane stores to it (1024³ from storage buffers: 4.6 GFLOP/s
//! with the loops, 8.5 unrolled). Here each accumulator is its own `mat2x4<f32>` value (two
//! vec4 column strips). Loops that do not touch the block one row at a time stay loops, since
//! every unrolled copy costs the driver compile time: K, the sub-blocks of `gemm_subgroup`
//! (unrolled, a pipeline took lavapipe 4.5 s to build instead of 1.2 s, for about 10% more
//! speed) and the epilogue.

use std::fmt::Write;

/// Rows of y per workgroup: the register block of every invocation.
pub(crate) const ROWS: usize = 32;

/// Lanes that share one `a` strip per block of K in `gemm_subgroup`.
const LANES: usize = 8;

/// K parts of a split GEMM start at multiples of this (one block of `gemm_subgroup`).
pub(crate) const K_ALIGN: usize = 4 * LANES;

/// The WGSL of entry `gemm` (each invocation loads its `a` strips) or, with `subgroup`,
/// `gemm_subgroup` (lane t of each subgroup loads the strip at K offset 4t of every block of 32
/// and shuffles it to the others: 8× fewer `a` loads; needs subgroups of at least 8 lanes).
pub(crate) fn gemm_entry(subgroup: bool) -> String {
    let rows = 0..ROWS;
    let mut s = String::new();
    let name = if subgroup { "gemm_subgroup" } else { "gemm" };
    let lane = if subgroup { ",\n    @builtin(subgroup_invocation_id) lane: u32" } else { "" };
    let _ = writeln!(
        s,
        "@compute @workgroup_size(WG_X, 1, 1)\nfn {name}(\n    @builtin(workgroup_id) wg: vec3<u32>,\n    \
         @builtin(local_invocation_id) lid: vec3<u32>{lane},\n) {{"
    );
    let _ = writeln!(s, "    let row0 = wg.y * {ROWS}u;");
    s.push_str("    let col0 = (wg.x * WG_X + lid.x) * 8u;\n");
    s.push_str("    let ab = wg.z * vec2<u32>(p.a_batch_stride, p.b_batch_stride);\n");
    s.push_str("    let cols = strip_cols(col0);\n");
    for i in rows.clone() {
        let _ = writeln!(s, "    let r{i} = block_row(row0, {i}u);\n    var acc{i} = mat2x4<f32>();");
    }
    s.push_str("    var kk = p.k_begin;\n");
    if subgroup {
        // Blocks of up to 8 sub-blocks of 4 along K; the last one may be shorter.
        let _ = writeln!(s, "    let t = lane & {}u;", LANES - 1);
        let _ = writeln!(s, "    for (; kk < p.k_end; kk += {}u) {{", 4 * LANES);
        let _ = writeln!(s, "        let subs = min({LANES}u, (p.k_end - kk + 3u) / 4u);");
        s.push_str("        let ka = kk + 4u * min(t, subs - 1u);\n");
        for i in rows.clone() {
            let _ = writeln!(s, "        let a{i} = a_strip(ab.x, r{i}, ka);");
        }
        s.push_str("        for (var sb = 0u; sb < subs; sb++) {\n");
        s.push_str("            let bl = b_block(ab.y, kk + 4u * sb, cols.x);\n");
        s.push_str("            let bh = b_block(ab.y, kk + 4u * sb, cols.y);\n");
        for i in rows.clone() {
            let _ = writeln!(s, "            acc{i} = step4(acc{i}, subgroupShuffle(a{i}, sb), bl, bh);");
        }
        s.push_str("        }\n    }\n");
    } else {
        s.push_str("    for (; kk < p.k_end; kk += 4u) {\n");
        s.push_str("        let bl = b_block(ab.y, kk, cols.x);\n        let bh = b_block(ab.y, kk, cols.y);\n");
        for i in rows.clone() {
            let _ = writeln!(s, "        acc{i} = step4(acc{i}, a_strip(ab.x, r{i}, kk), bl, bh);");
        }
        s.push_str("    }\n");
    }
    // The epilogue runs once, in a loop that picks its row's accumulator: unrolled per row it
    // would multiply the driver's compile time.
    s.push_str("    let cb = column_bias(col0);\n");
    let _ = writeln!(s, "    for (var i = 0u; i < min({ROWS}u, p.m - min(row0, p.m)); i++) {{");
    s.push_str("        var acc: mat2x4<f32>;\n        switch i {\n");
    for i in rows {
        let _ = writeln!(s, "            case {i}u: {{ acc = acc{i}; }}");
    }
    s.push_str("            default: {}\n        }\n        store_row(wg.z, row0 + i, col0, acc, cb);\n    }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::{gemm_entry, ROWS};

    /// Every row of the block is loaded, accumulated and stored; the subgroup entry shuffles
    /// each row's strip in its sub-block loop.
    #[test]
    fn entries_cover_the_whole_register_block() {
        for subgroup in [false, true] {
            let s = gemm_entry(subgroup);
            assert_eq!(s.matches("case ").count(), ROWS);
            let shuffled = if subgroup { ROWS } else { 0 };
            assert_eq!(s.matches("subgroupShuffle(").count(), shuffled);
            assert_eq!(s.matches("step4(").count(), ROWS);
            assert!(s.contains(&format!("acc{}", ROWS - 1)) && !s.contains(&format!("acc{ROWS}")));
        }
    }
}
