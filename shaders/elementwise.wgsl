// Elementwise ops.
//
// `binary`: y[i] = op(a[ia], b[ib]) with NumPy broadcasting. The output index is split into
//   coordinates of `out_shape` (the output's dimensions, merged where both operands allow);
//   `a_strides` / `b_strides` are 0 on broadcast dimensions.
//   Bindings: a, b (read), y (write), BinaryParams. Rank <= 8.
// `unary`: y[i] = activate(x[i]): the activation chain of activation.wgsl (prepended), which
//   holds the unary ops. Bindings: x (read), y (write), UnaryParams.
// `binary4`: the same, 4 output elements per invocation, where the innermost dimension's
//   length is a multiple of 4 and each operand either steps through it contiguously or
//   broadcasts along it (innermost strides given ×4: 4 or 0, other strides multiples of 4; the
//   innermost length counts groups of 4): one vector load per contiguous operand, one store,
//   and a quarter of the index divisions (a scalar loop per lane on CPU drivers). Same
//   bindings, read as vectors.
// All entries end with `activate`, so a chain of unary ops after any fuses into one kernel.
// Grid: one invocation per output element (`binary4`: per 4); the linear index is gid.x + gid.y * nwg.x * WG so
// dispatches past 65535 workgroups wrap into y.
// Variants: OP selects the binary operation (codes match ocelli-exec's elementwise.rs); ACT0..3
// the unary chain; WG the workgroup size.

alias elem = f32; // storage type of float bindings: f16 in the f16 kernels (kernels.rs)

override OP: u32 = 0u;
override WG: u32 = 256u;

struct BinaryParams {
    out_shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
    rank: u32,
    numel: u32,
}

struct UnaryParams {
    numel: u32,
}

@group(0) @binding(0) var<storage, read> bin_a: array<elem>;
@group(0) @binding(1) var<storage, read> bin_b: array<elem>;
@group(0) @binding(2) var<storage, read_write> bin_y: array<elem>;
@group(0) @binding(3) var<uniform> bp: BinaryParams;
@group(0) @binding(0) var<storage, read> bin_a4: array<vec4<elem>>;
@group(0) @binding(1) var<storage, read> bin_b4: array<vec4<elem>>;
@group(0) @binding(2) var<storage, read_write> bin_y4: array<vec4<elem>>;

@group(0) @binding(0) var<storage, read> un_x: array<elem>;
@group(0) @binding(1) var<storage, read_write> un_y: array<elem>;
@group(0) @binding(2) var<uniform> up: UnaryParams;


// Special values from bit patterns; the runtime operand keeps them out of constant folding,
// where WGSL rejects non-finite results.
fn special(bits: u32, x: f32) -> f32 {
    return bitcast<f32>(bits | (bitcast<u32>(x) & 0u));
}

// Real power: negative bases with integral exponents keep their sign, as in C's pow.
fn pow_real(a: f32, b: f32) -> f32 {
    if (b == 0.0) {
        return 1.0;
    }
    if (a == 0.0) {
        return select(special(0x7f800000u, a), 0.0, b > 0.0);
    }
    let m = pow(abs(a), b);
    if (a > 0.0) {
        return m;
    }
    if (fract(b) != 0.0) {
        return special(0x7fc00000u, a);
    }
    return select(m, -m, abs(b) % 2.0 == 1.0);
}

fn binary_op(a: f32, b: f32) -> f32 {
    switch OP {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return max(a, b); }
        case 5u: { return min(a, b); }
        case 6u: { return pow_real(a, b); }
        case 7u: { return select(a * b, a, a > 0.0); }
        default: { return select(0.0, 1.0, a > b); }
    }
}

// Offsets into a and b of output element (or, in `binary4`, group of 4) i.
fn binary_offsets(i: u32) -> vec2<u32> {
    var rem = i;
    var at = vec2<u32>(0u);
    // The plan merges dimensions both operands step through as one (elementwise.rs), so
    // that few divisions (a scalar loop per lane on CPU drivers) remain; the outermost
    // coordinate is what is left.
    for (var d = i32(bp.rank) - 1; d >= 0; d--) {
        let q = u32(d) / 4u;
        let r = u32(d) % 4u;
        var c = rem;
        if (d > 0) {
            let n = bp.out_shape[q][r];
            c = rem % n;
            rem = rem / n;
        }
        at += c * vec2<u32>(bp.a_strides[q][r], bp.b_strides[q][r]);
    }
    return at;
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= bp.numel) {
        return;
    }
    let at = binary_offsets(i);
    bin_y[i] = elem(activate(binary_op(f32(bin_a[at.x]), f32(bin_b[at.y]))));
}

@compute @workgroup_size(WG)
fn binary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= bp.numel) {
        return;
    }
    let at = binary_offsets(i);
    let inner = bp.rank - 1u;
    let a_steps = bp.a_strides[inner / 4u][inner % 4u] != 0u;
    let b_steps = bp.b_strides[inner / 4u][inner % 4u] != 0u;
    let a = select(vec4<f32>(f32(bin_a4[at.x / 4u][at.x % 4u])), vec4<f32>(bin_a4[at.x / 4u]), a_steps);
    let b = select(vec4<f32>(f32(bin_b4[at.y / 4u][at.y % 4u])), vec4<f32>(bin_b4[at.y / 4u]), b_steps);
    var y: vec4<f32>;
    for (var k = 0u; k < 4u; k++) {
        y[k] = activate(binary_op(a[k], b[k]));
    }
    bin_y4[i] = vec4<elem>(y);
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= up.numel) {
        return;
    }
    un_y[i] = elem(activate(f32(un_x[i])));
}
