use crate::{DeviceError, Gpu, PooledBuffer, Result};

impl Gpu {
    /// Uploads `bytes` into a pooled storage buffer (padded to a multiple of 4 bytes).
    pub fn upload(&self, label: &str, bytes: &[u8]) -> Result<PooledBuffer> {
        let buffer = self.acquire(label, bytes.len() as u64)?;
        let pad = (4 - bytes.len() % 4) % 4;
        if pad == 0 {
            self.queue().write_buffer(buffer.buffer(), 0, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len() + pad, 0);
            self.queue().write_buffer(buffer.buffer(), 0, &padded);
        }
        Ok(buffer)
    }

    /// Finishes `encoder` with copies of each `(buffer, bytes)` into staging buffers, submits it
    /// once, waits, and returns the bytes. This is the only place results leave the GPU.
    pub fn submit_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        reads: &[(&wgpu::Buffer, u64)],
    ) -> Result<Vec<Vec<u8>>> {
        let receivers = self.submit_with_reads(encoder, reads);
        self.wait()?;
        receivers.into_iter().map(|(staging, rx, bytes)| pollster::block_on(finish_read(staging, rx, bytes))).collect()
    }

    /// Async form of [`Gpu::submit_and_read`]. On native backends the map callbacks run when the
    /// device is polled, so this polls once (blocking) before awaiting; in a browser the event
    /// loop drives them.
    pub async fn submit_and_read_async(
        &self,
        encoder: wgpu::CommandEncoder,
        reads: &[(&wgpu::Buffer, u64)],
    ) -> Result<Vec<Vec<u8>>> {
        let receivers = self.submit_with_reads(encoder, reads);
        self.wait()?;
        let mut out = Vec::with_capacity(receivers.len());
        for (staging, rx, bytes) in receivers {
            out.push(finish_read(staging, rx, bytes).await?);
        }
        Ok(out)
    }

    /// Submits `encoder` alone, with nothing read back.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.queue().submit(Some(encoder.finish()));
    }

    /// Runs `f` inside a validation error scope; an error recorded meanwhile (a bad binding, a
    /// buffer too small) comes back as [`DeviceError::Execution`] labelled `label`.
    pub fn scoped<T, E: From<DeviceError>>(&self, label: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let scope = self.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let err = pollster::block_on(scope.pop());
        match (out, err) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(e)) => Err(DeviceError::Execution { label: label.to_string(), message: e.to_string() }.into()),
            (Ok(v), None) => Ok(v),
        }
    }

    fn submit_with_reads(&self, mut encoder: wgpu::CommandEncoder, reads: &[(&wgpu::Buffer, u64)]) -> Vec<Pending> {
        let stagings: Vec<(wgpu::Buffer, u64)> = reads
            .iter()
            .map(|&(src, bytes)| {
                let size = bytes.div_ceil(4) * 4;
                let staging = self.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("ocelli readback"),
                    size: size.max(4),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                if size > 0 {
                    encoder.copy_buffer_to_buffer(src, 0, &staging, 0, size);
                }
                (staging, bytes)
            })
            .collect();
        self.queue().submit(Some(encoder.finish()));
        stagings
            .into_iter()
            .map(|(staging, bytes)| {
                let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
                staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send(r);
                });
                (staging, rx, bytes)
            })
            .collect()
    }
}

type Pending =
    (wgpu::Buffer, futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>, u64);

async fn finish_read(
    staging: wgpu::Buffer,
    rx: futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>,
    bytes: u64,
) -> Result<Vec<u8>> {
    match rx.receive().await {
        Some(Ok(())) => {}
        Some(Err(e)) => return Err(DeviceError::Readback(e.to_string())),
        None => return Err(DeviceError::Readback("map callback dropped".into())),
    }
    let data = {
        let view = staging.slice(..).get_mapped_range().map_err(|e| DeviceError::Readback(e.to_string()))?;
        view[..bytes as usize].to_vec()
    };
    staging.unmap();
    Ok(data)
}
