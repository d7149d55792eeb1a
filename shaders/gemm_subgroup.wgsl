// Entry `gemm_subgroup`: the product of gemm.wgsl (same bindings, parameters, grid and epilogue)
// for adapters whose subgroups have 8 or more lanes. The rows of a workgroup are shared by all of
// its invocations, so instead of every lane loading the same `a` values, per block of 32 along K
// lane t of each subgroup loads the strip a[row, kk + 4t .. kk + 4t + 4] and the strips are
// shuffled to the whole subgroup: 8× fewer loads of `a`, which on CPU drivers (lavapipe: one
// lane per SIMD slot, every storage load a per-lane loop) is where a GEMM's time goes
// (1024³ on lavapipe: 1.9 GFLOP/s for `gemm` with 8×8 blocks, 4.9 for this entry).
// Appended to gemm.wgsl (and activation.wgsl) by the kernel table.

@compute @workgroup_size(WG_X, 1, 1)
fn gemm_subgroup(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wg.y * p.rows;
    let col0 = (wg.x * WG_X + lid.x) * 8u;
    let ab = wg.z * vec2<u32>(p.a_batch_stride, p.b_batch_stride);
    let cols = strip_cols(col0);
    var lo: array<vec4<f32>, MAX_MR>;
    var hi: array<vec4<f32>, MAX_MR>;
    let rows = block_rows(row0);
    let t = lane & 7u;
    var kk = 0u;
    for (; kk + 32u <= p.k; kk += 32u) {
        var av: array<vec4<f32>, MAX_MR>;
        for (var i = 0u; i < rows; i++) {
            av[i] = a_strip(ab.x, row0 + i, kk + 4u * t);
        }
        for (var s = 0u; s < p.sub_blocks; s++) {
            let bl = b_block(ab.y, kk + 4u * s, cols.x);
            let bh = b_block(ab.y, kk + 4u * s, cols.y);
            for (var i = 0u; i < rows; i++) {
                let a4 = subgroupShuffle(av[i], s);
                lo[i] += term(a4.x, bl[0]) + term(a4.y, bl[1]) + term(a4.z, bl[2]) + term(a4.w, bl[3]);
                hi[i] += term(a4.x, bh[0]) + term(a4.y, bh[1]) + term(a4.z, bh[2]) + term(a4.w, bh[3]);
            }
        }
    }
    accumulate(ab, row0, cols, kk, &lo, &hi);
    store_block(wg.z, row0, col0, &lo, &hi);
}
