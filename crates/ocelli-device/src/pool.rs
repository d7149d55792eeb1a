use std::collections::HashMap;

use crate::{Gpu, Result};

/// A storage buffer on loan from the [`BufferPool`]. Give it back with [`Gpu::release`].
#[derive(Debug, Clone)]
pub struct PooledBuffer {
    buffer: wgpu::Buffer,
}

impl PooledBuffer {
    /// The wgpu buffer (its size is the size class, at least what was asked for).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

/// Storage buffers kept for reuse, bucketed by size class: creating a buffer is the expensive part
/// of a WebGPU dispatch, so buffers go back to the pool instead of being dropped.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    created: usize,
    reused: usize,
    bytes_created: u64,
}

/// Usage of every pooled buffer: bound as storage, copied to and from.
const POOL_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::INDIRECT);

/// Rounds `bytes` up to its size class: 256 bytes minimum, then steps of a quarter of a power of
/// two (so at most 25% is wasted), always a multiple of 4.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let top = 63 - (b - 1).leading_zeros() as u64; // 2^top < b <= 2^(top+1)
    let quarter = 1u64 << (top - 2);
    b.div_ceil(quarter) * quarter
}

impl BufferPool {
    /// Buffers created so far.
    pub fn created(&self) -> usize {
        self.created
    }

    /// Requests served from the pool without creating a buffer.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Bytes of all buffers this pool ever created.
    pub fn bytes_created(&self) -> u64 {
        self.bytes_created
    }
}

impl Gpu {
    /// A storage buffer of at least `bytes` bytes (contents undefined), from the pool when one
    /// of the right size class is free. Fails with a typed error past the device's binding limit.
    pub fn acquire(&self, label: &str, bytes: u64) -> Result<PooledBuffer> {
        self.check_binding_size(label, bytes)?;
        let class = size_class(bytes);
        let mut pool = self.pool.lock().expect("buffer pool poisoned");
        if let Some(buffer) = pool.free.get_mut(&class).and_then(Vec::pop) {
            pool.reused += 1;
            return Ok(PooledBuffer { buffer });
        }
        pool.created += 1;
        pool.bytes_created += class;
        drop(pool);
        let buffer = self.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: class,
            usage: POOL_USAGE,
            mapped_at_creation: false,
        });
        Ok(PooledBuffer { buffer })
    }

    /// Returns a buffer to the pool. Work already submitted that uses it stays valid: wgpu keeps
    /// the buffer alive and orders later writes after earlier reads.
    pub fn release(&self, buffer: PooledBuffer) {
        let mut pool = self.pool.lock().expect("buffer pool poisoned");
        pool.free.entry(buffer.buffer.size()).or_default().push(buffer.buffer);
    }

    /// Statistics of the buffer pool: (created, reused, bytes created).
    pub fn pool_stats(&self) -> (usize, usize, u64) {
        let pool = self.pool.lock().expect("buffer pool poisoned");
        (pool.created, pool.reused, pool.bytes_created)
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_the_request_and_waste_at_most_a_quarter() {
        for bytes in [1u64, 4, 255, 256, 257, 1000, 4096, 4097, 1 << 20, (1 << 20) + 3, 123_456_789] {
            let c = size_class(bytes);
            assert!(c >= bytes, "{bytes} -> {c}");
            assert_eq!(c % 4, 0, "{bytes} -> {c}");
            if bytes > 256 {
                assert!(c * 4 <= bytes * 5 + 4 * 4, "{bytes} -> {c} wastes too much");
            }
        }
        assert_eq!(size_class(1), 256);
        assert_eq!(size_class(1024), 1024);
        assert_eq!(size_class(1025), 1280);
    }
}
