//! Operand textures: kernels that read an input through a texture (`gemm_texels.wgsl`) get the
//! input's buffer copied into an rgba texture. Constants (weights) get a texture of their own,
//! filled once when the plan is compiled (the plan then frees the weights' buffers unless a kernel
//! also reads them as buffers);
//! other values share one texture per (binding, texel format), sized for its largest use and
//! refilled right before each dispatch.

use ocelli_device::Gpu;

use crate::ExecError;

/// Texels per texture row; `gemm_texels.wgsl` indexes with the same constant. Rows of 1024
/// texels are 16 KiB (f32) or 8 KiB (f16): a multiple of the 256-byte copy row alignment.
pub(crate) const TEXELS_PER_ROW: u32 = 1024;

/// Texel format of an operand: four f32 or four f16 elements.
pub(crate) fn texel_format(f16: bool) -> wgpu::TextureFormat {
    if f16 {
        wgpu::TextureFormat::Rgba16Float
    } else {
        wgpu::TextureFormat::Rgba32Float
    }
}

/// Bytes per texel of `format`.
fn texel_bytes(format: wgpu::TextureFormat) -> u64 {
    if format == wgpu::TextureFormat::Rgba16Float {
        8
    } else {
        16
    }
}

/// Bytes `texture` occupies.
pub(crate) fn texture_bytes(texture: &wgpu::Texture) -> u64 {
    let size = texture.size();
    u64::from(size.width) * u64::from(size.height) * texel_bytes(texture.format())
}

/// Texels that hold `bytes` of an operand.
pub(crate) fn texels_for(bytes: u64, format: wgpu::TextureFormat) -> u64 {
    bytes.div_ceil(texel_bytes(format))
}

/// Rows of a texture that holds `texels`: never a power of two, since llvmpipe keys its compiled
/// shaders on whether each bound texture's sides are powers of two, so one operand texture of
/// 4 rows and one of 6 would have the same pipeline compiled twice (about 0.5 s for a GEMM).
/// Costs at most two rows.
fn texture_rows(texels: u64) -> u64 {
    match texels.div_ceil(u64::from(TEXELS_PER_ROW)) {
        0..=2 => 3,
        r if r.is_power_of_two() => r + 1,
        r => r,
    }
}

/// A texture of `texels` texels of `format` (rows of [`TEXELS_PER_ROW`]).
pub(crate) fn operand_texture(gpu: &Gpu, format: wgpu::TextureFormat, texels: u64) -> Result<wgpu::Texture, ExecError> {
    let rows = texture_rows(texels);
    let max = u64::from(gpu.limits().max_texture_dimension_2d);
    if rows > max {
        return Err(ExecError::Unsupported {
            op: "operand texture",
            why: format!("{rows} rows of {TEXELS_PER_ROW} texels exceed max_texture_dimension_2d {max}"),
        });
    }
    Ok(gpu.device().create_texture(&wgpu::TextureDescriptor {
        label: Some("ocelli operand texels"),
        size: wgpu::Extent3d { width: TEXELS_PER_ROW, height: rows as u32, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    }))
}

/// Records the copy of the first `texels` texels of `buffer` into `texture`: whole rows, then
/// the part of the last row.
pub(crate) fn record_copy(
    encoder: &mut wgpu::CommandEncoder,
    buffer: &wgpu::Buffer,
    texture: &wgpu::Texture,
    texels: u64,
) {
    let per_row = u64::from(TEXELS_PER_ROW);
    let row_bytes = per_row * texel_bytes(texture.format());
    let (full, rest) = (texels / per_row, texels % per_row);
    let mut copy = |offset: u64, y: u64, width: u64, height: u64| {
        encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset,
                    bytes_per_row: Some(row_bytes as u32),
                    rows_per_image: None,
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: 0, y: y as u32, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
        );
    };
    if full > 0 {
        copy(0, 0, per_row, full);
    }
    if rest > 0 {
        copy(full * row_bytes, full, rest, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::{texture_rows, TEXELS_PER_ROW};

    #[test]
    fn texture_rows_hold_the_texels_and_are_never_a_power_of_two() {
        let per_row = u64::from(TEXELS_PER_ROW);
        for texels in [0, 1, per_row, per_row + 1, 2 * per_row, 4 * per_row, 5 * per_row, 5 * per_row + 1, 1 << 20] {
            let rows = texture_rows(texels);
            assert!(rows * per_row >= texels, "{texels} texels in {rows} rows");
            assert!(!rows.is_power_of_two(), "{texels} texels: {rows} rows");
            assert!(rows <= texels.div_ceil(per_row).max(1) + 2);
        }
    }
}
