//! The device layer on its own: pooled buffers, uploads and the async readback path.

use std::sync::Arc;

use ocelli::Gpu;

fn gpu() -> Arc<Gpu> {
    Arc::new(Gpu::new().unwrap_or_else(|e| panic!("these tests need a GPU adapter: {e}")))
}

#[test]
fn upload_then_async_readback_round_trips_bytes() {
    let gpu = gpu();
    let data: Vec<u8> = (0..1001u32).map(|i| (i * 7 % 251) as u8).collect();
    let buf = gpu.upload("bytes", &data).unwrap();
    let encoder = gpu.device().create_command_encoder(&Default::default());
    let back = pollster::block_on(gpu.submit_and_read_async(encoder, &[(buf.buffer(), data.len() as u64)])).unwrap();
    assert_eq!(back[0], data);
    gpu.release(buf);
}

#[test]
fn released_buffers_are_reused_by_size_class() {
    let gpu = gpu();
    let a = gpu.acquire("a", 5000).unwrap();
    gpu.release(a);
    let (created, reused, _) = gpu.pool_stats();
    let b = gpu.acquire("b", 4800).unwrap(); // same size class as 5000
    let (created2, reused2, _) = gpu.pool_stats();
    assert_eq!(created2, created, "no new buffer");
    assert_eq!(reused2, reused + 1);
    assert!(b.buffer().size() >= 4800);
}

#[test]
fn pipelines_are_cached_by_kernel_entry_and_constants() {
    let gpu = gpu();
    let k = ocelli::KernelFamily::Cast.kernel();
    let before = gpu.pipeline_count();
    let p1 = gpu.pipeline(k, "f16_to_f32", &[("WG", 64.0)]).unwrap();
    let p2 = gpu.pipeline(k, "f16_to_f32", &[("WG", 64.0)]).unwrap();
    let _p3 = gpu.pipeline(k, "f16_to_f32", &[("WG", 128.0)]).unwrap();
    assert!(Arc::ptr_eq(&p1, &p2));
    assert_eq!(gpu.pipeline_count(), before + 2);
}

#[test]
fn a_caller_owned_device_can_be_wrapped() {
    let own = gpu();
    let wrapped = Gpu::from_wgpu(own.device().clone(), own.queue().clone());
    assert_eq!(wrapped.adapter_info().name, own.adapter_info().name);
    assert_eq!(wrapped.capabilities(), own.capabilities());
    let buf = wrapped.upload("x", &[1, 2, 3, 4]).unwrap();
    let enc = wrapped.device().create_command_encoder(&Default::default());
    assert_eq!(wrapped.submit_and_read(enc, &[(buf.buffer(), 4)]).unwrap()[0], vec![1, 2, 3, 4]);
}
