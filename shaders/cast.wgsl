// f32 <-> f16 conversion.
//
// f16 tensors are stored two to a 32-bit word (element 2i in the low half), so they need no
// `shader-f16` support: pack2x16float / unpack2x16float run on every adapter, GL included.
// `f32_to_f16`: one invocation per output word. Bindings: x f32 (read), y u32 (write), CastParams.
// `f16_to_f32`: one invocation per element. Bindings: x u32 (read), y f32 (write), CastParams.
// Grid: linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG.

override WG: u32 = 256u;

struct CastParams {
    numel: u32,
}

@group(0) @binding(0) var<storage, read> x32: array<f32>;
@group(0) @binding(1) var<storage, read_write> y16: array<u32>;
@group(0) @binding(2) var<uniform> p: CastParams;

@group(0) @binding(0) var<storage, read> x16: array<u32>;
@group(0) @binding(1) var<storage, read_write> y32: array<f32>;
@group(0) @binding(2) var<uniform> q: CastParams;

@compute @workgroup_size(WG)
fn f32_to_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (2u * i >= p.numel) {
        return;
    }
    var hi = 0.0;
    if (2u * i + 1u < p.numel) {
        hi = x32[2u * i + 1u];
    }
    y16[i] = pack2x16float(vec2<f32>(x32[2u * i], hi));
}

@compute @workgroup_size(WG)
fn f16_to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= q.numel) {
        return;
    }
    y32[i] = unpack2x16float(x16[i / 2u])[i % 2u];
}
