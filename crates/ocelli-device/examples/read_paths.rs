//! What a lane-dependent read or write costs on the default adapter, by path: storage buffer,
//! texture, uniform buffer. On lavapipe this is why Ocelli copies GEMM and convolution operands
//! into textures (see the README's figures).
//!
//! `cargo run --release -p ocelli-device --example read_paths`

use std::time::Instant;

use ocelli_device::Gpu;

/// Texels per side of the source texture; the buffers hold as many vec4s.
const SIDE: u32 = 256;
/// Accesses per invocation.
const ITERS: u32 = 4096;
/// Workgroups of 8 invocations.
const GROUPS: u32 = 256;

/// What a case binds at 0: the resource it reads or writes.
enum Source {
    Storage,
    Uniform,
    Texture,
    StorageTexture,
}

fn main() -> anyhow::Result<()> {
    let gpu = Gpu::new()?;
    let (d, q) = (gpu.device(), gpu.queue());
    let data: Vec<f32> = (0..SIDE * SIDE * 4).map(|i| (i % 7) as f32).collect();
    let bytes: &[u8] = bytemuck::cast_slice(&data);
    let buffer = |size: u64, usage: wgpu::BufferUsages| {
        d.create_buffer(&wgpu::BufferDescriptor { label: None, size, usage, mapped_at_creation: false })
    };
    let storage = buffer(bytes.len() as u64, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST);
    q.write_buffer(&storage, 0, bytes);
    let uniform = buffer(65_536, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST);
    q.write_buffer(&uniform, 0, &bytes[..65_536]);
    let out = buffer(u64::from(GROUPS * 8 * 16), wgpu::BufferUsages::STORAGE);
    let texture = |usage: wgpu::TextureUsages| {
        d.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d { width: SIDE, height: SIDE, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage,
            view_formats: &[],
        })
    };
    let sampled = texture(wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST);
    q.write_texture(
        sampled.as_image_copy(),
        bytes,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(SIDE * 16), rows_per_image: None },
        sampled.size(),
    );
    let written = texture(wgpu::TextureUsages::STORAGE_BINDING);
    let (sampled_view, written_view) =
        (sampled.create_view(&Default::default()), written.create_view(&Default::default()));
    // (name, binding 0, body; `e` is a lane-dependent vec4 index, `acc` is stored at the end)
    let cases = [
        ("storage read", Source::Storage, "var<storage, read> src: array<vec4<f32>>", "acc += src[e];"),
        ("uniform read", Source::Uniform, "var<uniform> src: array<vec4<f32>, 4096>", "acc += src[e & 4095u];"),
        (
            "texture read",
            Source::Texture,
            "var src: texture_2d<f32>",
            "acc += textureLoad(src, vec2<u32>(e & 255u, e >> 8u), 0);",
        ),
        (
            "storage write (vec4)",
            Source::Storage,
            "var<storage, read_write> src: array<vec4<f32>>",
            "src[e] = vec4<f32>(f32(i));",
        ),
        (
            "storage texture write",
            Source::StorageTexture,
            "var src: texture_storage_2d<rgba32float, write>",
            "textureStore(src, vec2<u32>(e & 255u, e >> 8u), vec4<f32>(f32(i)));",
        ),
    ];
    println!("{} ({:?})", gpu.adapter_info().name, gpu.adapter_info().backend);
    for (name, source, binding, body) in cases {
        let wgsl = format!(
            "@group(0) @binding(0) {binding};\n@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;\n\
             @compute @workgroup_size(8)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
             var acc = vec4<f32>(f32(gid.x));\n    for (var i = 0u; i < {ITERS}u; i++) {{\n\
             let e = (i * 67u + gid.x) & {}u;\n        {body}\n    }}\n    out[gid.x] = acc;\n}}",
            SIDE * SIDE - 1
        );
        let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(wgsl.into()),
        });
        let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let resource = match source {
            Source::Storage => storage.as_entire_binding(),
            Source::Uniform => uniform.as_entire_binding(),
            Source::Texture => wgpu::BindingResource::TextureView(&sampled_view),
            Source::StorageTexture => wgpu::BindingResource::TextureView(&written_view),
        };
        let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource },
                wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
            ],
        });
        // The first run compiles; the best of the next three is reported.
        let mut best = f64::INFINITY;
        for _ in 0..4 {
            let start = Instant::now();
            let mut encoder = d.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(GROUPS, 1, 1);
            }
            q.submit([encoder.finish()]);
            gpu.wait()?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        let accesses = f64::from(GROUPS * 8 * ITERS);
        println!("{name:24} {:6.2} ns per lane and vec4", best / accesses * 1e9);
    }
    Ok(())
}
